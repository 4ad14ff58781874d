"""Signed, expiring links to one stored file (an export, a sound's original audio), handed out by the pages.

The link carries the object's key and the user it was made for, signed with the login cookie's key; it needs
no other credentials, so it must stay short-lived, and it stops working as soon as that user is deactivated.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from core.accounts import auth, tokens
from core.accounts.users import UserService
from core.catalogue.files import FileService
from core.errors import PermissionDenied
from core.store.config import Settings
from core.store.models import StoredFile, User
from core.store.storage import Storage

LINK_PREFIX = "/api/v1/files/"


def file_link(settings: Settings, stored: StoredFile, user_id: str, ttl_seconds: int = 3600, *,
              key: str | None = None) -> str:
    """A path (under /api/v1) that downloads ``stored`` for ``ttl_seconds``; ``key`` is the cookie key if the
    caller has already read it (it may be a file or a setting: read once per page run)."""
    token = tokens.sign({"key": stored.key, "user": user_id}, key or auth.cookie_key(settings), ttl_seconds)
    return LINK_PREFIX + token


def signed_for(session: Session, settings: Settings, token: str) -> tuple[dict[str, Any], User]:
    """A link token's payload and the user it was made for; refused if the token is forged or expired or its
    user deactivated (every kind of signed link checks the same things)."""
    payload = tokens.verify(token, auth.cookie_key(settings))
    user = UserService(session).get(payload["user"])
    if not user.is_active:
        raise PermissionDenied("This account is deactivated.")
    return payload, user


def file_for_link(session: Session, storage: Storage, settings: Settings, token: str) -> StoredFile:
    """The stored file a link's token names."""
    payload, _ = signed_for(session, settings, token)
    return FileService(session, storage).by_key(payload["key"])
