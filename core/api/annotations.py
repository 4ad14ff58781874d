"""Annotations: a sound's annotations (by time range and tags), annotating, reading, changing
with the version you read (a stale one is a 409), deleting."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Response
from pydantic import ConfigDict, Field

from core.annotations.service import (
    AnnotationFilter,
    AnnotationService,
    parse_time_range,
    public_annotation,
)
from core.api.deps import App, Bounded, Caller, Paging, linked, page_of
from core.api.models import (
    AUTHENTICATED,
    NOT_BLANK,
    TIME_RANGE,
    AnnotationOut,
    AnnotationPage,
    Body,
    Channel,
    Length,
    Seconds,
    Tag,
    TagAdded,
    Version,
    errors,
    free_text,
    no_content,
    not_null,
)
from core.catalogue.sounds import SoundService
from core.catalogue.vocabulary import Vocabulary
from core.errors import ValidationError

router = APIRouter(route_class=Bounded, tags=["annotations"], responses=AUTHENTICATED)
SEGMENT_RULES = ("The segment must lie in its sound (start_seconds + duration_seconds, or end_seconds, at most the "
                 "sound's duration; an end after its start) and `channel` be one the sound has: a 400 otherwise.")


class SoundAnnotationQuery(Paging):
    time_range: str | None = TIME_RANGE


class Segment(Body):
    """Where and what: start with duration or end (seconds), tags, text, data_url, channel."""

    start_seconds: Seconds | None = None
    duration_seconds: Length | None = None
    end_seconds: Length | None = None
    tags: list[Tag] | None = Field(None, max_length=1000)
    text: str | None = free_text(100_000)
    data_url: str | None = free_text(2000)
    channel: Channel | None = None


def _some(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": [name], "properties": {name: schema}}


class NewSegment(Segment):
    """A start, a duration or an end, and at least one tag, a text or a data_url (not blank)."""

    model_config = ConfigDict(json_schema_extra={
        "required": ["start_seconds"],
        "allOf": [{"anyOf": [_some("duration_seconds", {"type": "number"}), _some("end_seconds", {"type": "number"})]},
                  {"anyOf": [_some("tags", {"type": "array", "minItems": 1}),
                             _some("text", {"type": "string", "pattern": NOT_BLANK}),
                             _some("data_url", {"type": "string", "pattern": NOT_BLANK})]}]})
    is_gold: bool = Field(False, description="a region of the sound's gold (reviewed) version: its reviewers only")


class SegmentChange(Segment):
    """Only what is sent is changed; `version` is the one you read (required: without it no change is made)."""

    model_config = ConfigDict(extra="ignore", json_schema_extra={"required": ["version"]})
    version: Version | None = Field(None, json_schema_extra=not_null)  # required: refused with its own sentence when missing


@router.get("/sounds/{sound_id}/annotations", summary="A sound's annotations, optionally only those overlapping time_range",
            response_model=AnnotationPage, responses=errors(400, 404),
            description="`time_range` is two numbers, its end at or after its start (a 400 otherwise).")
def sound_annotations(app: App, user: Caller, sound_id: str, query: SoundAnnotationQuery = Query()) -> dict[str, Any]:
    with app.db.read() as session:
        filters = AnnotationFilter(sound_id=sound_id, tags=query.tag_list(), time_range=parse_time_range(query.time_range), viewer=user)
        page = AnnotationService(session).list_public(query.request(), filters)
        return page_of(page, f"/sounds/{sound_id}/annotations")


@router.post("/sounds/{sound_id}/annotations", status_code=201, summary="Annotate a segment of a sound: tags, text and/or data_url",
             response_model=AnnotationOut, responses=errors(400, 404, 413), description=SEGMENT_RULES)
def create_annotation(app: App, user: Caller, sound_id: str, body: NewSegment) -> dict[str, Any]:
    with app.db.write() as session:
        annotation = AnnotationService(session).create(user, sound_id, **body.model_dump())
        return linked(public_annotation(annotation))


@router.get("/annotations", summary="Annotations, a page at a time, filtered by tags (all of them)",
            response_model=AnnotationPage, responses=errors(400))
def list_annotations(app: App, user: Caller, query: Paging = Query()) -> dict[str, Any]:
    with app.db.read() as session:
        page = AnnotationService(session).list_public(query.request(), AnnotationFilter(tags=query.tag_list(), viewer=user))
        return page_of(page, "/annotations")


@router.get("/annotations/{annotation_id}", summary="One annotation, with its version (send it back with a change)",
            response_model=AnnotationOut, responses=errors(400, 404))
def get_annotation(app: App, user: Caller, annotation_id: str) -> dict[str, Any]:
    with app.db.read() as session:
        return linked(public_annotation(AnnotationService(session).get_for(user, annotation_id)))


@router.patch("/annotations/{annotation_id}",
              summary="Change your annotation (administrators: any); version must be the one you read, or it is refused (409)",
              response_model=AnnotationOut, responses=errors(400, 404, 409, 413), description=SEGMENT_RULES)
def update_annotation(app: App, user: Caller, annotation_id: str, body: SegmentChange) -> dict[str, Any]:
    changes = body.model_dump(exclude_unset=True)
    version = changes.pop("version", None)
    if version is None:
        raise ValidationError("version", "Send the version you read (GET the annotation first), so no one's change is lost.")
    with app.db.write() as session:
        return linked(public_annotation(AnnotationService(session).update(user, annotation_id, version, **changes)))


class Review(Body):
    """A suggestion as the person takes it: only what is sent changes (bounds, tags, text)."""

    model_config = ConfigDict(extra="forbid")
    start_seconds: Seconds | None = None
    end_seconds: Length | None = None
    tags: list[Tag] | None = Field(None, max_length=1000)
    text: str | None = free_text(100_000)


@router.post("/annotations/{annotation_id}/accept", status_code=201,
             summary="Accept a featurebot's suggestion (optionally with new bounds, tags or text): it becomes your annotation",
             response_model=AnnotationOut, responses=errors(400, 404, 409, 413),
             description=f"Only a featurebot's suggestion can be accepted or rejected (a person's annotation, or one just "
                         f"reviewed, is a 409). {SEGMENT_RULES}")
def accept_suggestion(app: App, user: Caller, annotation_id: str, body: Review | None = None) -> dict[str, Any]:
    changes = body.model_dump(exclude_unset=True) if body else {}
    with app.db.write() as session:
        return linked(public_annotation(AnnotationService(session).accept(user, annotation_id, **changes)))


@router.post("/annotations/{annotation_id}/reject", status_code=204, response_class=Response,
             summary="Reject a featurebot's suggestion: it is deleted and a re-run of the same analyzer does not suggest it again",
             responses=no_content("rejected") | errors(400, 404, 409, 413))
def reject_suggestion(app: App, user: Caller, annotation_id: str) -> Response:
    with app.db.write() as session:
        AnnotationService(session).reject(user, annotation_id)
    return Response(status_code=204)


class Unreview(Body):
    """A suggestion as it was suggested (its analyzer's source, bounds, tags and text), and the annotation that
    accepting it made, if it was accepted."""

    model_config = ConfigDict(extra="forbid")
    source: str = free_text(160, "the featurebot that suggested it (its annotations' source)", default=...)
    start_seconds: Seconds
    end_seconds: Length
    tags: list[Tag] | None = Field(None, max_length=1000)
    text: str | None = free_text(100_000)
    accepted_id: str | None = free_text(64, "the annotation accepting it made")


@router.post("/sounds/{sound_id}/suggestions", status_code=201,
             summary="Undo your review of a suggestion: it is suggested again (and the annotation accepting it made is deleted)",
             response_model=AnnotationOut, responses=errors(400, 404, 409, 413),
             description="start_seconds before end_seconds; a review of yours of it must exist (a 404 otherwise). "
                         f"{SEGMENT_RULES}")
def unreview_suggestion(app: App, user: Caller, sound_id: str, body: Unreview) -> dict[str, Any]:
    with app.db.write() as session:
        return linked(public_annotation(AnnotationService(session).unreview(user, sound_id, **body.model_dump())))


class NewTag(Body):
    model_config = ConfigDict(extra="forbid")
    tag: Tag


@router.post("/sounds/{sound_id}/tags", summary="Add a tag to the vocabulary of the sound's dataset (if it is not there yet): "
             "it keeps its place and colour in the palette", response_model=TagAdded, responses=errors(400, 404, 413))
def add_tag(app: App, user: Caller, sound_id: str, body: NewTag) -> dict[str, Any]:
    with app.db.write() as session:
        dataset = SoundService(session, app.storage).get(sound_id, viewer=user).dataset  # a hidden sound: not there
        tag, color = Vocabulary(session).ensure(user, dataset, body.tag)
        return {"dataset": dataset, "tag": tag, "color": color}


@router.delete("/annotations/{annotation_id}", status_code=204, summary="Delete your annotation (administrators: any)",
               response_class=Response, responses=no_content("deleted") | errors(400, 404, 409, 413))
def delete_annotation(app: App, user: Caller, annotation_id: str) -> Response:
    with app.db.write() as session:
        AnnotationService(session).delete(user, annotation_id)
    return Response(status_code=204)
