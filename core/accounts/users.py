"""Users: accounts of the three types (human, dataset, featurebot) plus the admin flag.

Rules: only admins create accounts (except the first administrator, on an install that has none); a user changes only
themselves, admins anyone; the type, admin flag and active flag are the admins' to change; the last active
administrator can be neither demoted nor deactivated, so an install can't lock itself out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from core.accounts import auth
from core.accounts.permissions import Action, require
from core.errors import AuthenticationFailed, Conflict, NotFound, ValidationError
from core.store.db import get_or_not_found, insert_for
from core.store.ids import new_id
from core.store.models import USER_TYPES, Annotation, Sound, StoredFile, User, utcnow
from core.store.paging import Page, PageRequest, paginate

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PROFILE_FIELDS = ("email", "about_me", "info_url")


def _check_name(name: str) -> str:
    name = (name or "").strip()
    if not _NAME.match(name):
        raise ValidationError(
            "user_name",
            "The user_name must be 1 to 64 letters, digits, '.', '_', '-' or '@', starting with a letter or digit.",
        )
    return name


def _check_type(user_type: str) -> str:
    if user_type not in USER_TYPES:
        raise ValidationError("user_type", f"The user_type must be one of {', '.join(USER_TYPES)}, not {user_type!r}.")
    return user_type


def _clean_profile(fields: dict[str, Any]) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in PROFILE_FIELDS:
        if name not in fields:
            continue
        value = (fields[name] or "").strip() or None
        if name == "email" and value and not _EMAIL.match(value):
            raise ValidationError("email", f"The email {value!r} is not an email address.")
        if name == "info_url" and value and not re.match(r"^https?://\S+$", value):
            raise ValidationError("info_url", "The info_url must start with http:// or https://.")
        if value and len(value) > 2000:
            raise ValidationError(name, f"The {name} must be at most 2000 characters.")
        out[name] = value
    return out


@dataclass(frozen=True)
class UserFilter:
    user_type: str | None = None
    user_name: str | None = None


class UserService:
    def __init__(self, session: Session) -> None:
        self.session = session

    # -- reading ---------------------------------------------------------------------------------------
    def count(self) -> int:
        return self.session.scalar(select(func.count()).select_from(User)) or 0

    def admin_count(self) -> int:
        """Active administrators; with none, the install is waiting for its first one."""
        return self.session.scalar(
            select(func.count()).select_from(User).where(User.is_admin.is_(True), User.is_active.is_(True))
        ) or 0

    def get(self, user_id: str) -> User:
        return get_or_not_found(self.session, User, user_id, "user")

    def by_name(self, user_name: str) -> User:
        user = self.session.scalar(select(User).where(User.user_name == user_name))
        if user is None:
            raise NotFound(f"No user named {user_name!r}.")
        return user

    def list(self, request: PageRequest = PageRequest(), filters: UserFilter = UserFilter()) -> Page[User]:
        query = select(User)
        if filters.user_type:
            query = query.where(User.user_type == _check_type(filters.user_type))
        if filters.user_name:
            query = query.where(User.user_name.contains(filters.user_name))
        return paginate(self.session, query, User.id, request, {"user_type": filters.user_type, "user_name": filters.user_name})

    def active_credentials(self, names: Iterable[str] | None = None) -> dict[str, dict[str, Any]]:
        """Active users who can log in (of ``names``, if given), shaped as streamlit-authenticator's
        ``credentials["usernames"]``.

        Accounts without a usable password are left out: the authenticator would take their placeholder for
        a plain-text password.
        """
        query = select(User).where(User.is_active.is_(True), User.password_hash.startswith("$2"))
        if names is not None:
            query = query.where(User.user_name.in_(list(names)))
        users = self.session.scalars(query)
        return {
            u.user_name: {
                "name": u.user_name,
                "email": u.email or "",
                "password": u.password_hash,
                "roles": [u.user_type] + (["admin"] if u.is_admin else []),
            }
            for u in users
        }

    def authenticate(self, user_name: str, password: str) -> User:
        user = self.session.scalar(select(User).where(User.user_name == (user_name or "").strip()))
        if user is None:
            auth.spend_a_check(password or "")
            raise AuthenticationFailed("Wrong user name or password.")
        if not auth.verify_password(password or "", user.password_hash):
            raise AuthenticationFailed("Wrong user name or password.")
        if not user.is_active:
            raise AuthenticationFailed(f"The account {user.user_name!r} is deactivated.")
        return user

    # -- writing ---------------------------------------------------------------------------------------
    def create(
        self,
        actor: User | None,
        user_name: str,
        password: str,
        user_type: str,
        *,
        is_admin: bool = False,
        usable_password: bool = True,
        **profile: Any,
    ) -> User:
        """Create an account. ``actor`` None is allowed only for the first administrator."""
        if actor is None:
            if self.admin_count() > 0:
                raise Conflict("An administrator already exists: log in as an administrator to add users.")
            if not is_admin:
                raise ValidationError("is_admin", "The first account must be an administrator.")
        else:
            require(actor, Action.MANAGE_USERS)
        name = _check_name(user_name)
        if self.session.scalar(select(User.id).where(User.user_name == name)):
            raise Conflict(f"The user name {name!r} is taken.")  # said before paying for a bcrypt hash
        made = self._insert(name, user_type, bool(is_admin),
                            auth.hash_password(password) if usable_password else auth.unusable_password_hash(), profile)
        if made is None:  # created by someone else since the check above
            raise Conflict(f"The user name {name!r} is taken.")
        return self.get(made)

    def ensure_admin(self, user_name: str, password: str) -> User | None:
        """Create the administrator from settings on a start with no administrator; otherwise do nothing."""
        if self.admin_count() > 0:
            return None
        try:
            return self.create(None, user_name, password, "human", is_admin=True)
        except Conflict:  # another replica starting at the same moment made it
            return None

    def system_user(self, user_name: str, user_type: str, **profile: Any) -> User:
        """The machine account ``user_name`` (demo data, featurebots), created if missing.

        Nobody can log into it (no usable password) until an admin sets one. Only trusted code calls this
        (the command line, the demo loader, analyzers): it checks no role.
        """
        name = _check_name(user_name)
        self._insert(name, user_type, False, auth.unusable_password_hash(), profile)  # two workers at once: one row
        return self.by_name(name)

    def _insert(self, name: str, user_type: str, is_admin: bool, password_hash: str, profile: dict[str, Any]) -> str | None:
        """Insert the account unless its name is taken (then None, with nothing written): one statement, so two
        callers racing for one name get one row and no IntegrityError."""
        return self.session.scalar(insert_for(self.session, User).values(
            id=new_id(), user_name=name, user_type=_check_type(user_type), is_admin=is_admin, is_active=True,
            password_hash=password_hash, date_created=utcnow(), **_clean_profile(profile),
        ).on_conflict_do_nothing(index_elements=[User.user_name]).returning(User.id))

    def update_profile(self, actor: User, user_id: str, **fields: Any) -> User:
        """Change email, about_me, info_url and/or password (``password`` key)."""
        user = self.get(user_id)
        require(actor, Action.MANAGE_USER, owner_id=user.id)
        unknown = set(fields) - set(PROFILE_FIELDS) - {"password"}
        if unknown:
            raise ValidationError(sorted(unknown)[0], f"The field {sorted(unknown)[0]!r} cannot be changed here.")
        for name, value in _clean_profile(fields).items():
            setattr(user, name, value)
        if fields.get("password") is not None:
            user.password_hash = auth.hash_password(fields["password"])
            user.password_changed = utcnow()  # browsers logged in before now are logged out (core.ui.shell)
            self.end_signed_tokens(user.id)
        self.session.flush()
        return user

    def set_password(self, actor: User, user_id: str, password: str) -> User:
        return self.update_profile(actor, user_id, password=password)

    def set_role(self, actor: User, user_id: str, *, user_type: str | None = None, is_admin: bool | None = None) -> User:
        require(actor, Action.MANAGE_USERS)
        user = self.get(user_id)
        if user_type is not None:
            user.user_type = _check_type(user_type)
        if is_admin is not None:
            if not is_admin and user.is_admin:
                self._keep_one_admin(user)
            user.is_admin = is_admin
        self.session.flush()
        return user

    def set_active(self, actor: User, user_id: str, active: bool) -> User:
        require(actor, Action.MANAGE_USERS)
        user = self.get(user_id)
        if not active and user.is_admin:
            self._keep_one_admin(user)
        user.is_active = active
        if not active:
            self.end_signed_tokens(user.id)
        self.session.flush()
        return user

    def end_signed_tokens(self, user_id: str) -> None:
        """End every page token, file link and subset link handed out for ``user_id`` (core.accounts.tokens): at
        logout, password change and deactivation. An SQL increment, so bumps racing on any database all count
        and none is lost to a read-then-write; the session's copy of the account is refreshed on next use."""
        self.session.execute(update(User).where(User.id == user_id).values(token_generation=User.token_generation + 1)
                             .execution_options(synchronize_session=False))
        loaded = self.session.identity_map.get(Session.identity_key(User, user_id))
        if loaded is not None:
            self.session.expire(loaded, ["token_generation"])

    def delete(self, actor: User, user_id: str) -> None:
        """Delete an account that owns nothing; an account that owns data is deactivated instead."""
        user = self.get(user_id)
        require(actor, Action.MANAGE_USER, owner_id=user.id)
        if user.is_admin:
            self._keep_one_admin(user)
        for model, what in ((Sound, "sounds"), (Annotation, "annotations"), (StoredFile, "files")):
            if self.session.scalar(select(func.count()).select_from(model).where(model.created_by == user.id)):
                raise Conflict(f"User {user.user_name!r} owns {what}: deactivate the account instead of deleting it.")
        self.session.delete(user)
        self.session.flush()

    def _keep_one_admin(self, leaving: User) -> None:
        others = self.session.scalar(
            select(func.count()).select_from(User).where(User.is_admin.is_(True), User.is_active.is_(True), User.id != leaving.id)
        )
        if not others:
            raise Conflict(f"{leaving.user_name!r} is the last active administrator; make another one first.")


def public_user(user: User, viewer: User | None) -> dict[str, Any]:
    """A user as others see them: the email only for its owner, not even for admins."""
    data: dict[str, Any] = {
        "id": user.id,
        "date_created": user.date_created.isoformat(),
        "user_name": user.user_name,
        "user_type": user.user_type,
        "is_admin": user.is_admin,
        "is_active": user.is_active,
        "about_me": user.about_me,
        "info_url": user.info_url,
    }
    if viewer is not None and viewer.id == user.id:
        data["email"] = user.email
    return data
