"""Signed, expiring links that stream a subset ZIP: the Download page's one click.

The link is a subset link (core.accounts.tokens): it carries the whole request (filters, count, seed, balance,
cap, formats) and the user it was made for, so a plain browser download (no credentials, no stored ZIP) streams
exactly the subset the page showed, and any replica can serve it. It verifies as nothing else, and ends at its
user's logout, password change or deactivation.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from core.accounts import auth, tokens
from core.catalogue.links import signed_for
from core.catalogue.search import CatalogueQuery
from core.errors import PermissionDenied
from core.export.formats.options import Segments, parse_formats
from core.export.splits import SplitRule
from core.export.subset import ExportRequest, check_request
from core.store.config import Settings
from core.store.models import User

LINK_PREFIX = "/api/v1/download/"


@dataclass(frozen=True)
class LinkedExport:
    """What a subset link streams: the request, a split rule (every matching sound, a folder per split) and training
    formats beside the ZIP's own (core/export/formats: Parquet, WebDataset, NeMo, ...), with their options."""

    request: ExportRequest
    split: SplitRule | None = None
    training: tuple[str, ...] = ()
    segments: Segments = Segments.OFFSETS


def subset_link(settings: Settings, export: ExportRequest | LinkedExport, user: User, ttl_seconds: int = 3600) -> str:
    """A path that streams the ZIP of ``export`` for ``ttl_seconds``, as ``user`` (as just read) sees the catalogue."""
    export = export if isinstance(export, LinkedExport) else LinkedExport(export)
    payload: dict[str, Any] = {"request": _payload(export.request)}
    if export.split is not None:
        payload["split"] = export.split.describe()
    if export.training:
        payload["training"] = {"formats": list(export.training), "segments": export.segments.value}
    token = tokens.sign(tokens.Kind.SUBSET, user, payload, auth.cookie_key(settings), ttl_seconds)
    return LINK_PREFIX + token


def export_for_link(session: Session, settings: Settings, token: str) -> LinkedExport:
    """What a link's token carries, its "annotated by me" meaning the link's user."""
    payload, user = signed_for(session, settings, tokens.Kind.SUBSET, token)
    try:
        request = check_request(dataclasses.replace(_request(payload["request"]), viewer_id=user.id))
        training = payload.get("training") or {}
        return LinkedExport(request, SplitRule.described(payload["split"]) if "split" in payload else None,
                            parse_formats(training.get("formats", ()))[1] if training else (),
                            Segments(training.get("segments", Segments.OFFSETS.value)))
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
