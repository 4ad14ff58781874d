"""Signed, expiring links that stream a subset ZIP: the Download page's one click.

The link carries the whole request (filters, count, seed, balance, cap, formats) and the user it was made for,
signed with the login cookie's key, so a plain browser download (no credentials, no stored ZIP) streams exactly
the subset the page showed, and any replica can serve it.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from sqlalchemy.orm import Session

from core.accounts import auth, tokens
from core.catalogue.links import signed_for
from core.catalogue.search import CatalogueQuery
from core.errors import PermissionDenied
from core.export.subset import ExportRequest, check_request
from core.store.config import Settings

LINK_PREFIX = "/api/v1/download/"


def subset_link(settings: Settings, request: ExportRequest, user_id: str, ttl_seconds: int = 3600) -> str:
    """A path that streams the ZIP of ``request`` for ``ttl_seconds``, as ``user_id`` sees the catalogue."""
    token = tokens.sign({"user": user_id, "request": _payload(request)}, auth.cookie_key(settings), ttl_seconds)
    return LINK_PREFIX + token


def request_for_link(session: Session, settings: Settings, token: str) -> ExportRequest:
    """The export request a link's token carries, its "annotated by me" meaning the link's user."""
    payload, user = signed_for(session, settings, token)
    try:
        return check_request(dataclasses.replace(_request(payload["request"]), viewer_id=user.id))
    except (KeyError, TypeError, ValueError):
        raise PermissionDenied("This link is not valid.") from None


def _payload(request: ExportRequest) -> dict[str, Any]:
    fields = dataclasses.asdict(request)
    fields.pop("viewer_id")
    return fields


def _request(fields: dict[str, Any]) -> ExportRequest:
    query = dict(fields.pop("query"))
    query["tags"] = tuple(query.get("tags", ()))
    query["where"] = tuple((str(k), str(v)) for k, v in query.get("where", ()))
    return ExportRequest(query=CatalogueQuery(**query), formats=tuple(fields.pop("formats", ("csv",))), **fields)
