"""The subset download, with the Download page's filters, seed and formats: one streamed ZIP."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, BeforeValidator, Field
from starlette.background import BackgroundTask

from core.api.deps import SERVED_FILE_HEADERS, App, Bounded, Caller, split_tags, unbounded
from core.api.models import AUTHENTICATED, TAG_LIST, Where, binary, errors, free_text, matching
from core.catalogue.search import CatalogueQuery, parse_where
from core.context import Earmark
from core.errors import ValidationError
from core.export.formats import TRAINING_FORMATS, FormatOptions, Segments, parse_formats
from core.export.formats.zipped import FormatsZip, plan_formats_zip
from core.export.links import LinkedExport, export_for_link
from core.export.splits import SplitRule, SplitZip, Weight, parse_shares, plan_split_zip
from core.export.subset import (
    FORMATS,
    MAX_COUNT,
    ExportPlan,
    ExportRequest,
    check_count,
    default_seed,
    plan_export,
    stream_zip,
)
from core.team.versions import Version

router = APIRouter(route_class=Bounded, tags=["subsets"], responses=AUTHENTICATED)
# The subset behind a signed link: no credentials, so no 401 or 429.
links = APIRouter(route_class=Bounded, tags=["subsets"])
ALL_FORMATS = (*FORMATS, *TRAINING_FORMATS)  # the ZIP's annotation formats and the training formats: all accepted
FORMAT = "|".join(ALL_FORMATS)
FORMATS_PATTERN = rf"^({FORMAT})?(,({FORMAT})?)*$"
ZIP = binary("application/zip", "the ZIP, streamed (its name in Content-Disposition, the seed in X-Earmark-Seed)")


class SubsetQuery(BaseModel):
    count: Annotated[int, BeforeValidator(check_count)] = Field(10, ge=1, le=MAX_COUNT, description="how many sounds")
    q: str = free_text(500, "text in the path or title", default="")
    dataset: str | None = free_text(200, "dataset name")
    tags: str | None = TAG_LIST
    where: list[Where] = Field(default_factory=list, max_length=100, description="COLUMN=VALUE, may repeat")
    seed: int | None = Field(None, ge=0, le=2**63 - 1, description="random seed (the same seed and filters give the same files)")
    balance: str | None = free_text(200, "metadata column to balance on")
    cap: int | None = Field(None, ge=0, le=10**9, description="at most this many per value")
    formats: str = matching(FORMATS_PATTERN, f"be formats separated by commas, of {', '.join(ALL_FORMATS)}", default="csv",
                            max_length=200, description=",".join(ALL_FORMATS))
    on_missing: Literal["skip", "fail"] = Field("skip", description="a file missing from storage: leave it out, or stop")
    split: str | None = free_text(500, "split every matching sound instead of sampling, e.g. train=0.8,dev=0.1,test=0.1 "
                                       "(count, balance and cap are then ignored; each sound's split is stored as its "
                                       "metadata field 'split' and kept)")
    group_by: str | None = free_text(500, "with split: metadata columns (comma-separated) whose values make a group "
                                          "that never spans two splits, e.g. speaker_id")
    stratify: str | None = free_text(200, "with split: a metadata column each of whose values is split in the same shares")
    split_by: Weight = Field(Weight.SOUNDS, description="with split: what the shares count")
    resplit: bool = Field(False, description="with split: forget the matching sounds' stored splits and place them all anew")
    annotation_version: Version = Field(Version.GOLD, description="gold: accepted sounds' reviewed version (the rest as "
                                                                  "annotated); annotators: each annotator's own")
    segments: Segments = Field(Segments.OFFSETS, description="training formats: segments as offsets into whole files, "
                                                             "or cut into clips")


@router.get("/download", summary="A reproducible random (or balanced) subset as one ZIP, streamed", response_class=StreamingResponse,
            responses=ZIP | errors(400, 404),
            description="No sound that matches is a 404; with on_missing=fail, so is a file missing from storage. "
                        "split names at least two splits whose shares add up to 1 (a 400 says which rule failed).")
@unbounded
def download(app: App, user: Caller, query: Annotated[SubsetQuery, Query()]) -> StreamingResponse:
    seed = default_seed() if query.seed is None else query.seed
    zip_formats, training = parse_formats(query.formats) if query.formats.strip(",") else ((), ())
    request = ExportRequest(
        query=CatalogueQuery(text=query.q, dataset=query.dataset or None, tags=split_tags(query.tags), where=parse_where(query.where)),
        viewer_id=user.id, count=query.count, seed=seed, balance=query.balance or None, cap=query.cap or None,
        formats=zip_formats, on_missing=query.on_missing, annotation_version=query.annotation_version.value)
    rule = None
    _split_options_need_a_split(query)
    if query.split:
        group_by = tuple(c.strip() for c in (query.group_by or "").split(",") if c.strip())
        rule = SplitRule(parse_shares(query.split), group_by=group_by, stratify=query.stratify or None, weight=query.split_by, seed=seed,
                         resplit=query.resplit)
    return _streamed(app, LinkedExport(request, rule, training, query.segments))


def _split_options_need_a_split(query: SubsetQuery) -> None:
    """group_by, stratify, split_by and resplit mean nothing without split: a 400 saying so, not a random subset
    that ignored them (the command line refuses the same way: core/commands/export.py)."""
    given = [name for name, value in (("group_by", query.group_by), ("stratify", query.stratify),
                                      ("split_by", query.split_by is not Weight.SOUNDS), ("resplit", query.resplit)) if value]
    if given and not query.split:
        raise ValidationError("split", f"{', '.join(given)} only {'shape' if len(given) > 1 else 'shapes'} a split: add "
                                       "split (as in split=train=0.8,dev=0.1,test=0.1), or leave "
                                       f"{'them' if len(given) > 1 else 'it'} out.")


@links.get("/download/{token}", summary="The subset ZIP behind a signed, expiring link from the Download page (no other credentials)",
           response_class=StreamingResponse, responses=ZIP | errors(400, 403, 404),
           description="A token that is not a subset link, forged, expired or ended (logout, password change, "
                       "deactivation) is a 403.")
@unbounded
def download_by_link(app: App, token: str) -> StreamingResponse:
    with app.db.read() as session:
        export = export_for_link(session, app.settings, token)
    return _streamed(app, export)


def _streamed(app: Earmark, export: LinkedExport) -> StreamingResponse:
    """Plan first, so errors (400, 404) come before the first byte; placing a split's sounds stores their splits (a
    later export keeps them). The ZIP's name starts with the dataset's: letters, digits, '.', '_' and '-' only."""
    planned: SplitZip | FormatsZip | ExportPlan
    if export.training:
        planned = plan_formats_zip(app.db, app.storage, export.request, (*export.request.formats, *export.training),
                                   FormatOptions(segments=export.segments), export.split)
        stream = planned.stream()
    elif export.split is not None:
        planned = plan_split_zip(app.db, app.storage, export.request, export.split)
        stream = planned.stream()
    else:
        planned = plan_export(app.db, app.storage, export.request)
        stream = stream_zip(planned, app.storage)
    # Starlette runs the background task once the response ends, finished or cut short by its client going away:
    # the ZIP's writer stops then, rather than waiting for the garbage collector to close an abandoned generator.
    return StreamingResponse(stream, media_type="application/zip", background=BackgroundTask(stream.stop),
                             headers=SERVED_FILE_HEADERS | {"Content-Disposition": f'attachment; filename="{planned.name}"',
                                                            "X-Earmark-Seed": str(export.request.seed)})
