"""Users and roles as in cochlea_api.md, plus the admin flag; the permission table of DESIGN.md."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from core.accounts.permissions import Action, can, require
from core.accounts.users import UserFilter, UserService, public_user
from core.errors import (
    AuthenticationFailed,
    Conflict,
    NotFound,
    PermissionDenied,
    ValidationError,
)
from core.store.models import User
from core.store.paging import PageRequest
from tests.conftest import ADMIN_PASSWORD, USER_PASSWORD, make_user


def test_first_account_needs_no_actor_but_must_be_admin(db):
    with db.write() as session:
        users = UserService(session)
        with pytest.raises(ValidationError) as err:
            users.create(None, "root", ADMIN_PASSWORD, "human")
        assert err.value.field == "is_admin"
        root = users.create(None, "root", ADMIN_PASSWORD, "human", is_admin=True)
        with pytest.raises(Conflict, match="administrator already exists"):
            users.create(None, "other", ADMIN_PASSWORD, "human", is_admin=True)
    assert root.is_admin and root.is_active


def test_passwords_are_stored_only_as_bcrypt_hashes(db):
    make_user(db, "alice")
    with db.read() as session:
        stored = session.execute(text("SELECT password_hash FROM users WHERE user_name='alice'")).scalar()
    assert stored.startswith("$2b$") and USER_PASSWORD not in stored


def test_authenticate_checks_password_and_active_flag(db):
    alice = make_user(db, "alice")
    with db.read() as session:
        assert UserService(session).authenticate("alice", USER_PASSWORD).id == alice.id
        with pytest.raises(AuthenticationFailed):
            UserService(session).authenticate("alice", "wrong-password")
        with pytest.raises(AuthenticationFailed):
            UserService(session).authenticate("nobody", USER_PASSWORD)
    with db.write() as session:
        users = UserService(session)
        users.set_active(users.by_name("admin"), alice.id, False)
    with db.read() as session, pytest.raises(AuthenticationFailed, match="deactivated"):
        UserService(session).authenticate("alice", USER_PASSWORD)


@pytest.mark.parametrize("kwargs, field", [
    ({"user_name": "bad name!"}, "user_name"),
    ({"user_name": ""}, "user_name"),
    ({"user_type": "robot"}, "user_type"),
    ({"password": "short"}, "password"),
    ({"password": "x" * 73}, "password"),
    ({"email": "not-an-email"}, "email"),
    ({"info_url": "ftp://x"}, "info_url"),
])
def test_validation_errors_name_the_field(db, kwargs, field):
    make_user(db, "someone")
    args = {"user_name": "newbie", "password": USER_PASSWORD, "user_type": "human"} | kwargs
    with db.write() as session:
        users = UserService(session)
        with pytest.raises(ValidationError) as err:
            users.create(users.by_name("admin"), args.pop("user_name"), args.pop("password"), args.pop("user_type"), **args)
    assert err.value.field == field


def test_only_admins_create_users_and_names_are_unique(db):
    alice = make_user(db, "alice", "dataset")
    with db.write() as session:
        users = UserService(session)
        with pytest.raises(PermissionDenied, match="Only administrators"):
            users.create(alice, "bob", USER_PASSWORD, "human")
        with pytest.raises(Conflict, match="taken"):
            users.create(users.by_name("admin"), "alice", USER_PASSWORD, "human")


def test_users_change_only_themselves_admins_anyone(db):
    alice, bob = make_user(db, "alice"), make_user(db, "bob")
    with db.write() as session:
        users = UserService(session)
        users.update_profile(alice, alice.id, about_me="Tennis 4 Life", email="alice@example.org")
        with pytest.raises(PermissionDenied, match="only if it is your own"):
            users.update_profile(alice, bob.id, about_me="hacked")
        users.update_profile(users.by_name("admin"), bob.id, about_me="set by admin")
        with pytest.raises(PermissionDenied):
            users.set_role(alice, alice.id, is_admin=True)
    with db.read() as session:
        assert UserService(session).get(alice.id).about_me == "Tennis 4 Life"
        assert UserService(session).get(bob.id).about_me == "set by admin"


def test_password_change_takes_effect(db):
    alice = make_user(db, "alice")
    with db.write() as session:
        UserService(session).update_profile(alice, alice.id, password="a-new-password")
    with db.read() as session:
        UserService(session).authenticate("alice", "a-new-password")
        with pytest.raises(AuthenticationFailed):
            UserService(session).authenticate("alice", USER_PASSWORD)


def test_email_is_visible_only_to_its_owner(db):
    alice = make_user(db, "alice", email="alice@example.org")
    bob = make_user(db, "bob")
    with db.read() as session:
        admin = UserService(session).by_name("admin")
    assert public_user(alice, alice)["email"] == "alice@example.org"
    assert "email" not in public_user(alice, bob)
    assert "email" not in public_user(alice, admin)
    assert "email" not in public_user(alice, None)


def test_the_last_active_admin_cannot_be_removed(db):
    make_user(db, "alice")
    with db.write() as session:
        users = UserService(session)
        admin = users.by_name("admin")
        with pytest.raises(Conflict, match="last active administrator"):
            users.set_active(admin, admin.id, False)
        with pytest.raises(Conflict, match="last active administrator"):
            users.set_role(admin, admin.id, is_admin=False)
        with pytest.raises(Conflict, match="last active administrator"):
            users.delete(admin, admin.id)
        alice = users.by_name("alice")
        users.set_role(admin, alice.id, is_admin=True)
        users.set_active(admin, admin.id, False)  # now allowed: alice is an admin
    with db.read() as session:
        assert not UserService(session).by_name("admin").is_active


def test_listing_pages_and_filters(db):
    for i in range(5):
        make_user(db, f"human{i}")
    make_user(db, "data0", "dataset")
    with db.read() as session:
        users = UserService(session)
        page = users.list(PageRequest(page_size=2), UserFilter(user_type="human"))
        assert page.total_count == 6  # admin + 5 humans
        assert len(page.items) == 2 and page.next is not None
        assert "user_type=human" in page.next_query() and "page_number=2" in page.next_query()
        assert [u.user_name for u in users.list(filters=UserFilter(user_name="data")).items] == ["data0"]
        with pytest.raises(NotFound):
            users.get("nope")


def test_delete_own_account_unless_it_owns_data(db):
    alice = make_user(db, "alice")
    with db.write() as session:
        UserService(session).delete(alice, alice.id)
    with db.read() as session, pytest.raises(NotFound):
        UserService(session).get(alice.id)


def test_system_users_cannot_log_in(db):
    with db.write() as session:
        bot = UserService(session).system_user("demo", "dataset")
        assert UserService(session).system_user("demo", "dataset").id == bot.id
    with db.read() as session:
        assert "demo" not in UserService(session).active_credentials()
        with pytest.raises(AuthenticationFailed):
            UserService(session).authenticate("demo", bot.password_hash)


def _user(user_type: str, admin: bool = False, active: bool = True, uid: str = "u1") -> User:
    return User(id=uid, user_name=uid, user_type=user_type, is_admin=admin, is_active=active, password_hash="!")


@pytest.mark.parametrize("action, human, dataset, featurebot, admin", [
    (Action.UPLOAD, False, True, False, True),
    (Action.ANNOTATE, True, True, True, True),
    (Action.RUN_JOBS, True, True, True, True),
    (Action.MANAGE_USERS, False, False, False, True),
])
def test_role_table(action, human, dataset, featurebot, admin):
    assert can(_user("human"), action) is human
    assert can(_user("dataset"), action) is dataset
    assert can(_user("featurebot"), action) is featurebot
    assert can(_user("human", admin=True), action) is admin


def test_ownership_rules():
    owner, other = _user("dataset", uid="a"), _user("dataset", uid="b")
    assert can(owner, Action.EDIT_ANNOTATION, "a") and not can(other, Action.EDIT_ANNOTATION, "a")
    assert can(owner, Action.DELETE_SOUND, "a") and not can(other, Action.DELETE_SOUND, "a")
    assert not can(_user("human", uid="a"), Action.DELETE_SOUND, "a")
    assert can(_user("human", admin=True, uid="z"), Action.DELETE_SOUND, "a")
    assert not can(_user("human", admin=True, active=False), Action.ANNOTATE)
    assert not can(None, Action.ANNOTATE)
    with pytest.raises(PermissionDenied, match="log in"):
        require(None, Action.ANNOTATE)
    with pytest.raises(PermissionDenied, match="As a human user you may not upload"):
        require(_user("human"), Action.UPLOAD)


def test_cookie_key_is_random_kept_and_private(tmp_path):
    import stat

    from core.accounts.auth import kept_key

    path = tmp_path / "data" / "cookie_key"
    first = kept_key(path)
    assert len(first) >= 32 and kept_key(path) == first
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert kept_key(tmp_path / "other" / "cookie_key") != first


def test_replicas_share_the_cookie_key_from_the_setting(tmp_path):
    from core.accounts.auth import cookie_key
    from core.errors import ConfigError
    from core.store.config import load_settings

    shared = "k" * 40
    one, two = (load_settings({"EARMARK_DATA_DIR": str(tmp_path / name), "EARMARK_COOKIE_KEY": shared}, env_file=None)
                for name in ("replica1", "replica2"))
    assert cookie_key(one) == cookie_key(two) == shared and not (tmp_path / "replica1" / "cookie_key").exists()
    alone = load_settings({"EARMARK_DATA_DIR": str(tmp_path / "laptop")}, env_file=None)
    assert cookie_key(alone) != shared and len(cookie_key(alone)) >= 32
    with pytest.raises(ConfigError, match="EARMARK_COOKIE_KEY must be at least 32 characters long \\(it has 5\\)"):
        load_settings({"EARMARK_COOKIE_KEY": "short"}, env_file=None)


def test_the_page_shell_asks_only_for_the_accounts_it_names(db):
    """Each page run gives the login cookie's checker the session's and the cookie's account, not all of them."""
    with db.write() as session:
        users = UserService(session)
        admin = users.create(None, "boss", "boss-password-1", "human", is_admin=True)
        for name in ("ann", "bob", "cy"):
            users.create(admin, name, f"{name}-password-1", "human")
        users.set_active(admin, users.by_name("cy").id, False)
    with db.read() as session:
        users = UserService(session)
        assert set(users.active_credentials()) == {"boss", "ann", "bob"}
        assert set(users.active_credentials({"ann", "cy", "nobody"})) == {"ann"}  # cy is deactivated
        assert users.active_credentials(set()) == {}
