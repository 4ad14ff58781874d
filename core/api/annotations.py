"""Annotations (cochlea_api.md): a sound's annotations (by time range and tags), annotating, reading, changing
with the version you read (a stale one is a 409), deleting."""

from __future__ import annotations

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field, StrictInt

from core.annotations.service import (
    AnnotationFilter,
    AnnotationService,
    parse_time_range,
    public_annotation,
)
from core.api.deps import App, Bounded, Caller, Paging, linked, page_of
from core.catalogue.sounds import MAX_SOUND_SECONDS, SoundService
from core.catalogue.vocabulary import Vocabulary
from core.errors import ValidationError

router = APIRouter(route_class=Bounded, tags=["annotations"])


class SoundAnnotationQuery(Paging):
    time_range: str | None = Field(None, max_length=100, description="start,end in seconds; overlapping annotations")


class Segment(BaseModel):
    """Where and what: start with duration or end (seconds), tags, text, data_url, channel."""

    start_seconds: float | None = Field(None, allow_inf_nan=False)
    duration_seconds: float | None = Field(None, allow_inf_nan=False)
    end_seconds: float | None = Field(None, allow_inf_nan=False)
    tags: list[str] | None = Field(None, max_length=1000)
    text: str | None = Field(None, max_length=100_000)
    data_url: str | None = Field(None, max_length=2000)
    channel: int | None = None


class SegmentChange(Segment):
    """Only what is sent is changed; `version` is the one you read."""

    model_config = ConfigDict(extra="ignore")
    version: StrictInt | None = None


@router.get("/sounds/{sound_id}/annotations", summary="A sound's annotations, optionally only those overlapping time_range")
def sound_annotations(app: App, user: Caller, sound_id: str, query: SoundAnnotationQuery = Query()) -> dict:
    with app.db.read() as session:
        filters = AnnotationFilter(sound_id=sound_id, tags=query.tag_list(), time_range=parse_time_range(query.time_range))
        page = AnnotationService(session).list_public(query.request(), filters)
        return page_of(page, f"/sounds/{sound_id}/annotations")


@router.post("/sounds/{sound_id}/annotations", status_code=201, summary="Annotate a segment of a sound: tags, text and/or data_url")
def create_annotation(app: App, user: Caller, sound_id: str, body: Segment) -> dict:
    with app.db.write() as session:
        annotation = AnnotationService(session).create(user, sound_id, **body.model_dump())
        return linked(public_annotation(annotation))


@router.get("/annotations", summary="Annotations, a page at a time, filtered by tags (all of them)")
def list_annotations(app: App, user: Caller, query: Paging = Query()) -> dict:
    with app.db.read() as session:
        page = AnnotationService(session).list_public(query.request(), AnnotationFilter(tags=query.tag_list()))
        return page_of(page, "/annotations")


@router.get("/annotations/{annotation_id}", summary="One annotation, with its version (send it back with a change)")
def get_annotation(app: App, user: Caller, annotation_id: str) -> dict:
    with app.db.read() as session:
        return linked(public_annotation(AnnotationService(session).get(annotation_id)))


@router.patch("/annotations/{annotation_id}",
              summary="Change your annotation (administrators: any); version must be the one you read, or it is refused (409)")
def update_annotation(app: App, user: Caller, annotation_id: str, body: SegmentChange) -> dict:
    changes = body.model_dump(exclude_unset=True)
    version = changes.pop("version", None)
    if version is None:
        raise ValidationError("version", "Send the version you read (GET the annotation first), so no one's change is lost.")
    with app.db.write() as session:
        return linked(public_annotation(AnnotationService(session).update(user, annotation_id, version, **changes)))


class Review(BaseModel):
    """A suggestion as the person takes it: only what is sent changes (bounds, tags, text)."""

    model_config = ConfigDict(extra="forbid")
    start_seconds: float | None = Field(None, allow_inf_nan=False)
    end_seconds: float | None = Field(None, allow_inf_nan=False)
    tags: list[str] | None = Field(None, max_length=1000)
    text: str | None = Field(None, max_length=100_000)


@router.post("/annotations/{annotation_id}/accept", status_code=201,
             summary="Accept a featurebot's suggestion (optionally with new bounds, tags or text): it becomes your annotation")
def accept_suggestion(app: App, user: Caller, annotation_id: str, body: Review | None = None) -> dict:
    changes = body.model_dump(exclude_unset=True) if body else {}
    with app.db.write() as session:
        return linked(public_annotation(AnnotationService(session).accept(user, annotation_id, **changes)))


@router.post("/annotations/{annotation_id}/reject", status_code=204,
             summary="Reject a featurebot's suggestion: it is deleted and a re-run of the same analyzer does not suggest it again")
def reject_suggestion(app: App, user: Caller, annotation_id: str) -> Response:
    with app.db.write() as session:
        AnnotationService(session).reject(user, annotation_id)
    return Response(status_code=204)


class Unreview(BaseModel):
    """A suggestion as it was suggested (its analyzer's source, bounds, tags and text), and the annotation that
    accepting it made, if it was accepted."""

    model_config = ConfigDict(extra="forbid")
    source: str = Field(max_length=160)
    start_seconds: float = Field(ge=0, le=MAX_SOUND_SECONDS, allow_inf_nan=False)
    end_seconds: float = Field(gt=0, le=MAX_SOUND_SECONDS, allow_inf_nan=False)
    tags: list[str] | None = Field(None, max_length=1000)
    text: str | None = Field(None, max_length=100_000)
    accepted_id: str | None = Field(None, max_length=64)


@router.post("/sounds/{sound_id}/suggestions", status_code=201,
             summary="Undo your review of a suggestion: it is suggested again (and the annotation accepting it made is deleted)")
def unreview_suggestion(app: App, user: Caller, sound_id: str, body: Unreview) -> dict:
    with app.db.write() as session:
        return linked(public_annotation(AnnotationService(session).unreview(user, sound_id, **body.model_dump())))


class NewTag(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tag: str = Field(min_length=1, max_length=100)


@router.post("/sounds/{sound_id}/tags", summary="Add a tag to the vocabulary of the sound's dataset (if it is not there yet): "
             "it keeps its place and colour in the palette")
def add_tag(app: App, user: Caller, sound_id: str, body: NewTag) -> dict:
    with app.db.write() as session:
        dataset = SoundService(session, app.storage).get(sound_id).dataset
        tag, color = Vocabulary(session).ensure(user, dataset, body.tag)
        return {"dataset": dataset, "tag": tag, "color": color}


@router.delete("/annotations/{annotation_id}", status_code=204, summary="Delete your annotation (administrators: any)")
def delete_annotation(app: App, user: Caller, annotation_id: str) -> Response:
    with app.db.write() as session:
        AnnotationService(session).delete(user, annotation_id)
    return Response(status_code=204)
