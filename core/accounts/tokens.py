"""Short-lived signed links (HMAC-SHA256 over a small JSON payload), e.g. to download an export from a page
without putting a password or session in the URL. Signed with the app's secret key (the login cookie's key)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

from core.errors import PermissionDenied


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(payload: dict[str, Any], key: str, ttl_seconds: int = 3600) -> str:
    body = _b64(json.dumps(payload | {"exp": int(time.time()) + ttl_seconds}, separators=(",", ":")).encode())
    return f"{body}.{_b64(hmac.new(key.encode(), body.encode(), hashlib.sha256).digest())}"


def verify(token: str, key: str) -> dict[str, Any]:
    """The payload of a valid, unexpired token; PermissionDenied otherwise."""
    body, _, signature = token.partition(".")
    expected = _b64(hmac.new(key.encode(), body.encode(), hashlib.sha256).digest())
    if not signature or not hmac.compare_digest(signature, expected):
        raise PermissionDenied("This link is not valid.")
    try:
        payload = json.loads(_unb64(body))
    except ValueError:
        raise PermissionDenied("This link is not valid.") from None
    if payload.get("exp", 0) < time.time():
        raise PermissionDenied("This link has expired: open the page again.")
    return payload
