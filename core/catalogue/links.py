"""Signed, expiring links to one stored file (an export, a sound's original audio), handed out by the pages.

The link is a file link (core.accounts.tokens): it carries the object's key and the user it was made for, and
verifies as nothing else (not as a page token, not as a subset link). It needs no other credentials, so it is
short-lived and ends as soon as that user logs out, changes their password or is deactivated.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from core.accounts import auth, tokens
from core.catalogue.files import FileService
from core.errors import PermissionDenied
from core.store.config import Settings
from core.store.models import StoredFile, User
from core.store.storage import Storage

LINK_PREFIX = "/api/v1/files/"


def file_link(settings: Settings, stored: StoredFile, user: User, ttl_seconds: int = 3600, *,
              key: str | None = None) -> str:
    """A path (under /api/v1) that downloads ``stored`` for ``ttl_seconds`` as ``user`` (as just read: the link
    ends with the tokens of its generation); ``key`` is the cookie key if the caller has already read it (it
    may be a file or a setting: read once per page run)."""
    token = tokens.sign(tokens.Kind.FILE, user, {"key": stored.key}, key or auth.cookie_key(settings), ttl_seconds)
    return LINK_PREFIX + token


def signed_for(session: Session, settings: Settings, kind: tokens.Kind, token: str) -> tuple[dict[str, Any], User]:
    """A link token's payload and the user it was made for; PermissionDenied if it is of another kind, forged,
    expired or ended (its user logged out, changed their password or was deactivated since)."""
    payload = tokens.verify(kind, token, auth.cookie_key(settings))
    return payload, tokens.holder(session, payload)


def file_for_link(session: Session, storage: Storage, settings: Settings, token: str) -> StoredFile:
    """The stored file a file link names."""
    payload, _ = signed_for(session, settings, tokens.Kind.FILE, token)
    if not isinstance(payload.get("key"), str):
        raise PermissionDenied("This link is not valid.")
    return FileService(session, storage).by_key(payload["key"])
