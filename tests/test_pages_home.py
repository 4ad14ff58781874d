"""Home page: first start, login, what the catalogue holds, the demo button, deactivated accounts."""

from __future__ import annotations

import re

import pytest

from core.accounts.users import UserService
from core.catalogue.stats import catalogue_stats, human_bytes, human_duration
from tests.conftest import ADMIN_PASSWORD, USER_PASSWORD, app_test, login, make_user, shown
from tests.test_core_signed_links import api_with_people, assert_all_refused, assert_all_work, handed_out, stored_sound


def metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_first_start_asks_for_the_administrator(local_earmark):
    at = app_test().run()
    assert not at.exception
    assert at.title[0].value == "Welcome to Earmark"
    at.text_input(key="first_admin_name").input("root")
    at.text_input(key="first_admin_password").input("root-password")
    at.text_input(key="first_admin_repeat").input("root-password")
    at.button(key="first_admin_submit").click().run()
    assert not at.exception and not at.error
    with local_earmark.db.read() as session:
        root = UserService(session).by_name("root")
    assert root.is_admin and root.password_hash.startswith("$2b$")
    assert [t.label for t in at.text_input] == ["Username", "Password"]  # now the login form, saying why
    assert [shown(s.value) for s in at.success] == ["Administrator root created: log in with it below."]
    at.text_input(key="login_user_name").input("root")
    at.text_input(key="login_password").input("root-password")
    at.button(key="login_submit").click().run()
    assert not at.success and at.metric  # logged in: the note is gone


def test_first_start_refuses_mismatched_or_weak_passwords(local_earmark):
    at = app_test().run()
    at.text_input(key="first_admin_name").input("root")
    at.text_input(key="first_admin_password").input("short")
    at.text_input(key="first_admin_repeat").input("short")
    at.button(key="first_admin_submit").click().run()
    assert shown(at.error[0].value) == "The password must be at least 8 characters long."
    with local_earmark.db.read() as session:
        assert UserService(session).count() == 0


def test_logged_out_sees_only_the_login_form(local_earmark):
    make_user(local_earmark.db, "hal")
    at = app_test().run()
    assert not at.exception and not at.metric
    assert [t.label for t in at.text_input] == ["Username", "Password"]


def test_wrong_password_is_said_plainly(local_earmark):
    make_user(local_earmark.db, "hal")
    at = login(app_test(), "hal", "wrong-password")
    assert "Wrong user name or password." in [shown(e.value) for e in at.error]
    assert not at.metric


def test_the_login_form_is_throttled_like_the_api(local_earmark):
    from core.accounts.credentials import check_password
    from core.errors import TooManyAttempts

    make_user(local_earmark.db, "hal")
    at = login(app_test(), "hal", "wrong-password")
    for _ in range(5):  # five free failures, then every try waits
        at.text_input(key="login_password").input("wrong-again")
        at.button(key="login_submit").click().run()
    at.text_input(key="login_password").input(USER_PASSWORD)  # even the right password, while blocked
    at.button(key="login_submit").click().run()
    [error] = [shown(e.value) for e in at.error]
    assert re.fullmatch(r"Too many failed logins: try again in [12] s\.", error) and not at.metric
    with pytest.raises(TooManyAttempts):  # the same count as HTTP Basic's, kept in the database
        check_password(local_earmark.db, "hal", USER_PASSWORD, None)


def test_admin_sees_the_stats_and_loads_the_demo(local_earmark):
    make_user(local_earmark.db, "hal")
    at = login(app_test(), "admin", ADMIN_PASSWORD)
    assert metrics(at)["Sounds"] == "0" and metrics(at)["Users"] == "2" and metrics(at)["Total duration"] == "0.0 s"
    at.button(key="load_demo").click().run()
    assert not at.exception
    with local_earmark.db.read() as session:
        stats = catalogue_stats(session)
    assert stats.sounds == 32
    figures = metrics(at)
    assert figures["Sounds"] == "32" and figures["Total duration"] == human_duration(stats.total_duration_seconds)
    assert figures["Storage used"] == human_bytes(stats.storage_bytes) and figures["Users"] == "3"
    assert not [b for b in at.button if b.key == "load_demo"]  # no longer offered
    assert "Demo dataset: 32 stored, 0 already there, 0 refused." in [shown(s.value) for s in at.success]


def test_humans_are_not_offered_the_demo_upload(local_earmark):
    make_user(local_earmark.db, "hal")
    at = login(app_test(), "hal")
    assert not [b for b in at.button if b.key == "load_demo"]
    assert "annotate but not upload" in at.info[0].value


def test_storage_used_says_what_it_holds_as_the_files_tab_counts_it(local_earmark):
    """Issue 26: Home said "Storage used 126.1 MB" where Upload > Files said "46.2 MB" for the same data: Home
    counts the files Earmark makes (waveform peaks, analyzer outputs) and expired ones too. Each now says so."""
    from core.catalogue.files import FileService
    from core.ingest.demo import load_demo
    from core.store.models import StoredFile

    load_demo(local_earmark.db, local_earmark.storage, max_bytes=10 * 1024 * 1024)
    make_user(local_earmark.db, "hal")
    with local_earmark.db.write() as session:
        owner = UserService(session).by_name("admin")
        session.add(StoredFile(key="derived/x/spectrogram.npy", category="derived", original_filename="s.npy",
                               size=3 * 1024 * 1024, sha256="0" * 64, created_by=owner.id))
    with local_earmark.db.read() as session:
        stats, files = catalogue_stats(session), FileService(session, local_earmark.storage).stats()
    assert stats.uploaded_bytes == files.total_bytes and stats.derived_bytes == 3 * 1024 * 1024
    assert stats.storage_bytes == files.total_bytes + stats.derived_bytes
    home = login(app_test(), "admin", ADMIN_PASSWORD)
    said = f"{human_bytes(files.total_bytes)} uploaded files (Upload > Files), 3.0 MB made by Earmark"
    assert said in shown(home.caption[0].value)
    upload = login(app_test("pages/1_Upload.py"), "admin", ADMIN_PASSWORD)
    assert (f"32 files; 32 in all, {human_bytes(files.total_bytes)}. Home's Storage used adds 3.0 MB of files Earmark made"
            in " ".join(shown(c.value) for c in upload.caption))


def page_links(elements) -> list[str]:
    """The pages linked in ``elements`` by their names (Home's own list says "Upload: what it is for")."""
    return [link.proto.label.split(":")[0] for link in elements.get("page_link")]


@pytest.mark.parametrize("user_type, admin, upload", [("human", False, False), ("featurebot", False, False),
                                                      ("dataset", False, True), ("human", True, True)])
def test_the_sidebar_and_home_offer_upload_only_to_who_may_upload(local_earmark, user_type, admin, upload):
    """Issue 26: an annotator saw Upload in the sidebar and on Home, and was refused when they opened it. What
    each role is offered comes from core.accounts.permissions, as Upload's own gate does."""
    make_user(local_earmark.db, "pat", user_type, admin=admin)
    at = login(app_test(), "pat")
    everyone = ["Browse", "Annotate", "Download", "Jobs", "Users"]
    team = ["Review", "Team"] if upload else []  # review and assign: dataset users (their own datasets) and admins
    assert page_links(at.sidebar) == ["Home"] + (["Upload"] if upload else []) + everyone + team
    assert page_links(at.main) == (["Upload"] if upload else []) + everyone + team  # Home's own list, below the figures


def test_a_deactivated_account_is_logged_out_on_the_next_page_load(local_earmark):
    hal = make_user(local_earmark.db, "hal")
    at = login(app_test(), "hal")
    assert at.metric
    with local_earmark.db.write() as session:
        users = UserService(session)
        users.set_active(users.by_name("admin"), hal.id, False)
    at.run()
    assert not at.metric
    assert "deactivated" in shown(at.error[0].value)


def test_a_bad_setting_is_shown_as_one_sentence(monkeypatch):
    monkeypatch.setenv("EARMARK_MAX_UPLOAD_MB", "huge")
    at = app_test().run()
    assert not at.exception
    assert shown(at.error[0].value) == "Earmark cannot start: EARMARK_MAX_UPLOAD_MB must be a whole number, not 'huge'."


def test_log_out_returns_to_the_login_form(local_earmark):
    make_user(local_earmark.db, "hal")
    at = login(app_test(), "hal")
    at.button(key="logout_button").click().run()
    assert not at.exception
    at.run()
    assert not at.metric and [t.label for t in at.text_input] == ["Username", "Password"]


def test_log_out_ends_the_page_tokens_and_links_the_pages_handed_out(local_earmark):
    """Issue 24: a page token, a player's file link and a Download link stop at the Log out button, not at
    their expiry an hour later; what the pages hand out after the next login works."""
    api = api_with_people(local_earmark)
    sound = stored_sound(local_earmark)
    links = handed_out(local_earmark, "hal")
    at = login(app_test(), "hal")
    assert_all_work(api, links, sound)  # logging in ends nothing
    at.button(key="logout_button").click().run()
    assert not at.exception
    assert_all_refused(api, links, sound, "has ended")
    assert_all_work(api, handed_out(local_earmark, "hal"), sound)
