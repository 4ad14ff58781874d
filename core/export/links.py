"""Signed, expiring links that stream a subset ZIP: the Download page's one click.

The link is a subset link (core.accounts.tokens): it carries the whole request (filters, count, seed, balance,
cap, formats) and the user it was made for, so a plain browser download (no credentials, no stored ZIP) streams
exactly the subset the page showed, and any replica can serve it. It verifies as nothing else, and ends at its
user's logout, password change or deactivation.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from sqlalchemy.orm import Session

from core.accounts import auth, tokens
from core.catalogue.links import signed_for
from core.catalogue.search import CatalogueQuery
from core.errors import PermissionDenied
from core.export.splits import SplitRule
from core.export.subset import ExportRequest, check_request
from core.store.config import Settings
from core.store.models import User

LINK_PREFIX = "/api/v1/download/"


def subset_link(settings: Settings, request: ExportRequest, user: User, ttl_seconds: int = 3600,
                split: SplitRule | None = None) -> str:
    """A path that streams the ZIP of ``request`` for ``ttl_seconds``, as ``user`` (as just read) sees the catalogue;
    with ``split``, every matching sound placed in its split (core/export/splits.py: a folder per split)."""
    payload: dict[str, Any] = {"request": _payload(request)}
    if split is not None:
        payload["split"] = split.describe()
    token = tokens.sign(tokens.Kind.SUBSET, user, payload, auth.cookie_key(settings), ttl_seconds)
    return LINK_PREFIX + token


def request_for_link(session: Session, settings: Settings, token: str) -> ExportRequest:
    """The export request a link's token carries, its "annotated by me" meaning the link's user."""
    return export_for_link(session, settings, token)[0]


def export_for_link(session: Session, settings: Settings, token: str) -> tuple[ExportRequest, SplitRule | None]:
    """The export request a link's token carries, and its split rule if it is a split export."""
    payload, user = signed_for(session, settings, tokens.Kind.SUBSET, token)
    try:
        request = check_request(dataclasses.replace(_request(payload["request"]), viewer_id=user.id))
        return request, SplitRule.described(payload["split"]) if "split" in payload else None
    except (AttributeError, KeyError, TypeError, ValueError):
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
