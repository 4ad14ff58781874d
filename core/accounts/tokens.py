"""Short-lived signed tokens (HMAC-SHA256 over a small JSON payload) that the pages hand out, each of one kind:
a page token (the page's own scripts: its views and annotations), a file link (one stored object) and a subset
link (one export request). None of them is a login.

A token of one kind can never pass for another: its payload names its kind, and it is signed with a key derived
for that kind alone from the app's secret (the login cookie's key), so even a payload that lied about its kind
would not verify. Every token names the account it was made for, when, and that account's ``token_generation``
then: logging out, changing or resetting the password and deactivation add one to it (an SQL increment, so
concurrent bumps all count), which ends every token made before, whatever its expiry.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from enum import StrEnum
from typing import Any

from sqlalchemy.orm import Session

from core.errors import PermissionDenied
from core.store.models import User


class Kind(StrEnum):
    PAGE = "page"  # a page's own scripts, as its user: the view and annotation routes only
    FILE = "file"  # one stored object, by its storage key
    SUBSET = "subset"  # one export request, streamed as a ZIP

    @property
    def noun(self) -> str:
        """What people call it in a refusal."""
        return "page token" if self is Kind.PAGE else "link"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _kind_key(secret: str, kind: Kind) -> bytes:
    """The key for ``kind`` alone, derived from the one secret (a page token is no file link, even if forged)."""
    return hmac.new(secret.encode(), f"earmark signed token: {kind.value}".encode(), hashlib.sha256).digest()


def _signature(secret: str, kind: Kind, body: str) -> str:
    return _b64(hmac.new(_kind_key(secret, kind), body.encode(), hashlib.sha256).digest())


def sign(kind: Kind, user: User, fields: dict[str, Any], secret: str, ttl_seconds: int = 3600) -> str:
    """A token of ``kind`` for ``user``, carrying ``fields`` (its purpose: a storage key, an export request)."""
    now = time.time()
    payload = fields | {"kind": kind.value, "user": user.id, "gen": user.token_generation, "iat": now,
                        "exp": int(now) + ttl_seconds}
    body = _b64(json.dumps(payload, separators=(",", ":")).encode())
    return f"{body}.{_signature(secret, kind, body)}"


def verify(kind: Kind, token: str, secret: str) -> dict[str, Any]:
    """The payload of a valid, unexpired token of ``kind``; PermissionDenied (one sentence) otherwise, whatever
    was sent: another kind, a forgery, a payload without its user, generation or issue time."""
    invalid = PermissionDenied(f"This {kind.noun} is not valid.")
    body, _, signature = token.partition(".")
    if not signature or not hmac.compare_digest(signature, _signature(secret, kind, body)):
        raise invalid
    try:
        payload = json.loads(_unb64(body))
    except ValueError:
        raise invalid from None
    if not _well_formed(kind, payload):
        raise invalid
    if payload["exp"] < time.time():
        raise PermissionDenied(f"This {kind.noun} has expired: open the page again.")
    return payload


def _well_formed(kind: Kind, payload: Any) -> bool:
    """A payload that names this kind, a user, a generation and its issue and expiry times."""
    numbers = (int, float)
    return (isinstance(payload, dict) and payload.get("kind") == kind.value and isinstance(payload.get("user"), str)
            and type(payload.get("gen")) is int and isinstance(payload.get("iat"), numbers)
            and isinstance(payload.get("exp"), numbers))


def holder(session: Session, payload: dict[str, Any]) -> User:
    """The active account a verified token was made for; PermissionDenied if it is gone or deactivated, or has
    logged out, changed its password or been deactivated since the token was made."""
    noun = Kind(payload["kind"]).noun
    user = session.get(User, payload["user"])
    if user is None or not user.is_active:
        raise PermissionDenied(f"The account this {noun} was made for no longer exists or is deactivated.")
    if user.token_generation != payload["gen"]:
        raise PermissionDenied(f"This {noun} has ended: its account logged out or changed its password since it was made.")
    return user
