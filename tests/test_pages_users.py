"""Users page: own profile for everyone; account management for administrators only."""

from __future__ import annotations

from core.accounts.users import UserService
from tests.conftest import ADMIN_PASSWORD, app_test, login, make_user, shown

PAGE = "pages/6_Users.py"


def test_logged_out_renders_the_login_form(local_earmark):
    make_user(local_earmark.db, "hal")
    at = app_test(PAGE).run()
    assert not at.exception and [t.label for t in at.text_input] == ["Username", "Password"]


def test_a_user_edits_their_own_profile_and_password(local_earmark):
    hal = make_user(local_earmark.db, "hal")
    at = login(app_test(PAGE), "hal")
    assert not [f for f in at.get("form") if getattr(f, "form_id", "") == "create_user"]
    assert not [t for t in at.text_input if t.key == "new_user_name"]  # no admin section
    at.text_input(key="profile_email").input("hal@eta.net")
    at.text_area(key="profile_about").input("Tennis 4 Life")
    at.text_input(key="profile_password").input("new-password-1")
    at.text_input(key="profile_repeat").input("new-password-1")
    at.button(key="profile_save").click().run()
    assert [shown(s.value) for s in at.success] == ["Profile saved."]
    with local_earmark.db.read() as session:
        users = UserService(session)
        assert users.get(hal.id).email == "hal@eta.net" and users.get(hal.id).about_me == "Tennis 4 Life"
        users.authenticate("hal", "new-password-1")


def test_profile_errors_name_the_field(local_earmark):
    make_user(local_earmark.db, "hal")
    at = login(app_test(PAGE), "hal")
    at.text_input(key="profile_email").input("not an email")
    at.button(key="profile_save").click().run()
    assert shown(at.error[0].value) == "The email 'not an email' is not an email address."


def test_admin_creates_resets_and_deactivates(local_earmark):
    make_user(local_earmark.db, "hal")
    at = login(app_test(PAGE), "admin", ADMIN_PASSWORD)
    at.text_input(key="new_user_name").input("vox")
    at.selectbox(key="new_user_type").select("dataset")
    at.text_input(key="new_user_password").input("vox-password")
    at.button(key="new_user_submit").click().run()
    assert "Account vox created." in [shown(s.value) for s in at.success]
    rows = at.dataframe[0].value
    assert sorted(rows["user"]) == ["admin", "hal", "vox"]

    at.selectbox(key="manage_user").select("vox").run()
    at.text_input(key="reset_password").input("reset-password")
    at.button(key="reset_password_button").click().run()
    assert "Password of vox reset." in [shown(s.value) for s in at.success]
    at.button(key="toggle_active_button").click().run()
    assert "vox deactivated." in [shown(s.value) for s in at.success]
    with local_earmark.db.read() as session:
        vox = UserService(session).by_name("vox")
        assert vox.user_type == "dataset" and not vox.is_active
        assert UserService(session).get(vox.id).password_hash.startswith("$2b$")


def test_admin_cannot_deactivate_the_last_admin(local_earmark):
    make_user(local_earmark.db, "hal")
    at = login(app_test(PAGE), "admin", ADMIN_PASSWORD)
    at.selectbox(key="manage_user").select("admin").run()
    at.button(key="toggle_active_button").click().run()
    assert "last active administrator" in shown(at.error[0].value)


def test_mismatched_new_passwords_are_refused(local_earmark):
    make_user(local_earmark.db, "hal")
    at = login(app_test(PAGE), "hal")
    at.text_input(key="profile_password").input("new-password-1")
    at.text_input(key="profile_repeat").input("new-password-2")
    at.button(key="profile_save").click().run()
    assert shown(at.error[0].value) == "The two passwords differ."
    with local_earmark.db.read() as session:
        UserService(session).authenticate("hal", "user-password-1")  # unchanged


def test_make_use_and_revoke_an_api_token(local_earmark):
    from starlette.applications import Starlette
    from starlette.testclient import TestClient

    from core.api import deps
    from core.api.app import routes

    deps.earmark.cache_clear()
    make_user(local_earmark.db, "hal")
    at = login(app_test(PAGE), "hal")
    at.text_input(key="token_name").input("my bot")
    at.button(key="token_create").click().run()
    secret = at.code[0].value
    assert secret.startswith("em_") and "Copy this token now" in shown(at.success[0].value)
    client = TestClient(Starlette(routes=routes()))
    assert client.get("/api/v1/", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    at.run()
    at.button(key="token_revoke").click().run()
    assert "Token my bot revoked." in [shown(s.value) for s in at.success]
    assert client.get("/api/v1/", headers={"Authorization": f"Bearer {secret}"}).status_code == 401
