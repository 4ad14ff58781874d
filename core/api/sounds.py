"""Sounds: list (in id order, or sorted with the catalogue's keyset cursor), create by
reference, read, and the audio itself (whole, a byte range, or a part in seconds as WAV)."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from core.api.deps import PREFIX, SERVED_FILE_HEADERS, App, Bounded, Caller, Paging, linked, page_of, unbounded
from core.api.models import (
    AUTHENTICATED,
    TITLE,
    Body,
    Channel,
    Length,
    Peaks,
    Responses,
    Seconds,
    SoundOut,
    SoundPage,
    Tag,
    Where,
    binary,
    dataset_name,
    errors,
    free_text,
    no_content,
)
from core.api.ranges import ranged
from core.audio import peaks
from core.audio.decode import MIME_BY_EXTENSION, MIME_TYPES
from core.audio.waveform import SPECTROGRAM_MAX_SECONDS, spectrogram_png, wav_part
from core.catalogue.search import CatalogueQuery, parse_where, search
from core.catalogue.sounds import MAX_SOUND_SECONDS, SoundFilter, SoundService, public_sound
from core.errors import NotFound, ValidationError
from core.ingest.pipeline import ensure_peaks
from core.store.models import Sound, User

router = APIRouter(route_class=Bounded, prefix="/sounds", tags=["sounds"], responses=AUTHENTICATED)
VIEW_RULES = ("The view must lie in the sound (`end` after `start`) and `channel` be one it has (0 to its channels - 1): "
              "a 400 otherwise; a sound without stored audio is a 404.")


class SoundQuery(Paging):
    created_by: str | None = free_text(64, "user id")
    dataset: str | None = free_text(200, "dataset name")
    sort: Literal["date", "name", "duration", "annotations"] | None = Field(
        None, description="date, name, duration or annotations (then page with the cursor in next)")
    descending: bool = Field(False, description="true: largest first")
    cursor: str | None = free_text(2000, "where a sorted listing goes on: only as the server handed it out in next")
    where: list[Where] = Field(default_factory=list, max_length=100,
                               description="COLUMN=VALUE, may repeat: sounds whose metadata field has that value (as Browse)")


class NewSound(Body):
    title: str = TITLE
    duration_seconds: Length = Field(description=f"seconds, more than 0 and at most {MAX_SOUND_SECONDS} (a week)")
    audio_url: str | None = free_text(1024, "where the audio is")
    info_url: str | None = free_text(2000)
    license_type: str | None = free_text(200)
    tags: list[Tag] = Field(default_factory=list, max_length=1000)
    dataset: str | None = dataset_name(None, "the dataset (default: your user name)")


@router.get("", summary="Sounds, a page at a time; with sort (date, name, duration, annotations) and descending, in that order",
            response_model=SoundPage, response_model_exclude_unset=True, responses=errors(400),
            description="A `cursor` is only ever one the server handed out in `next` (any other is a 400).")
def list_sounds(app: App, user: Caller, request: Request, query: SoundQuery = Query()) -> dict[str, Any]:
    if query.sort or query.cursor or query.where:  # metadata filters are the catalogue search's (as on Browse)
        return _sorted_sounds(app, user, request, query)
    with app.db.read() as session:
        filters = SoundFilter(created_by=query.created_by or None, dataset=query.dataset or None, tags=query.tag_list(), viewer=user)
        page = SoundService(session, app.storage).list_public(query.request(), filters)
        return page_of(page, "/sounds")


def _sorted_sounds(app, user, request: Request, query: SoundQuery) -> dict[str, Any]:
    """Sorted listings page with the catalogue's keyset cursor (``next`` carries it); the total is capped."""
    spec = CatalogueQuery(dataset=query.dataset or None, created_by=query.created_by or None, tags=query.tag_list(),
                          where=parse_where(query.where), sort=query.sort or "date", descending=query.descending)
    with app.db.read() as session:
        page = search(session, spec, user, page_size=query.page_size, cursor=query.cursor or None)
        items = [linked(public_sound(s)) for s in page.items]
    following = [(k, v) for k, v in request.query_params.multi_items() if k != "cursor"] + [("cursor", page.next_cursor)]
    return {"items": items, "total_count": page.total, "total_count_capped": page.total_capped,
            "next": f"{PREFIX}/sounds?{urlencode(following)}" if page.next_cursor else None}


@router.post("", status_code=201, summary="Create a sound whose audio lives at audio_url (dataset users and administrators)",
             response_model=SoundOut, responses=errors(400, 409, 413),
             description="A dataset holds one sound per path (its audio_url, else its title): another is a 409.")
def create_sound(app: App, user: Caller, body: NewSound) -> dict[str, Any]:
    with app.db.write() as session:
        sound = SoundService(session, app.storage).create_reference(
            user, title=body.title, duration_seconds=body.duration_seconds, audio_url=body.audio_url, info_url=body.info_url,
            license_type=body.license_type, tags=body.tags, dataset=body.dataset)
        return linked(public_sound(sound))


@router.get("/{sound_id}", summary="One sound", response_model=SoundOut, responses=errors(400, 404))
def get_sound(app: App, user: Caller, sound_id: str) -> dict[str, Any]:
    with app.db.read() as session:
        return linked(public_sound(SoundService(session, app.storage).get(sound_id, viewer=user)))


@router.head("/{sound_id}", status_code=204, summary="Whether a sound exists (204, or 404)", response_class=Response,
             responses=no_content("it exists") | errors(400, 404))
def sound_exists(app: App, user: Caller, sound_id: str) -> Response:
    with app.db.read() as session:
        SoundService(session, app.storage).get(sound_id, viewer=user)
    return Response(status_code=204)


@router.delete("/{sound_id}", status_code=204, summary="Delete a sound, its annotations and its stored audio (your own, as a dataset "
               "user; administrators: any)", response_class=Response, responses=no_content("deleted") | errors(400, 404, 413))
def delete_sound(app: App, user: Caller, sound_id: str) -> Response:
    with app.db.write() as session:
        SoundService(session, app.storage).delete(user, sound_id)
    return Response(status_code=204)


def _view_of(app: App, user: User, sound_id: str, start: float, end: float | None) -> tuple[Sound, float]:
    """The sound with its stored audio (one ``user`` may see), and the view's end (the sound's end if not given, cut
    there if past it); NotFound without stored audio, a 400 naming ``end`` for an empty view."""
    with app.db.read() as session:
        sound = SoundService(session, app.storage).get(sound_id, viewer=user)
    if sound.file is None:
        raise NotFound(f"Sound {sound.id!r} has no stored audio (see its audio_url).")
    end = sound.duration_seconds if end is None else min(end, sound.duration_seconds)
    if end <= start:
        raise ValidationError("end", f"end ({end:g} s) must be after start ({start:g} s); the sound lasts {sound.duration_seconds:g} s.")
    return sound, end


class PeaksQuery(BaseModel):
    start: Seconds = Field(0.0, description="seconds: the view's left edge")
    end: Length | None = Field(None, description="seconds: its right edge (default: the end)")
    points: int = Field(2000, ge=10, le=peaks.MAX_POINTS, description="at most this many points (min/max pairs count two)")
    channel: Channel | None = Field(None, description="one channel (default: all together)")


@router.get("/{sound_id}/peaks", summary="The waveform of a view: real samples, or min/max pairs from the peaks pyramid, at most `points` of them",
            response_model=Peaks, responses=errors(400, 404), description=VIEW_RULES)
@unbounded
def sound_peaks(app: App, user: Caller, sound_id: str, query: Annotated[PeaksQuery, Query()]) -> dict[str, Any]:
    """What the Annotate page draws, for any view of any length: never the whole file (see core.audio.peaks)."""
    sound, end = _view_of(app, user, sound_id, query.start, query.end)
    line = peaks.envelope(app.storage, sound.audio.key, ensure_peaks(app.db, app.storage, sound), query.start, end,
                          query.channel, max_points=query.points)
    return {"sound_id": sound.id, "start_seconds": line.start_seconds, "end_seconds": line.end_seconds,
            "duration_seconds": sound.duration_seconds, "source": line.source, "points": line.points,
            "x": [round(float(v), 6) for v in line.x], "y": [round(float(v), 5) for v in line.y]}


class SpectrogramQuery(BaseModel):
    start: Seconds = Field(0.0, description="seconds: the view's left edge")
    end: Length | None = Field(None, description="seconds: its right edge (default: the end)")
    channel: Channel | None = Field(None, description="one channel (default: all together)")


@router.get("/{sound_id}/spectrogram", response_class=Response,
            responses=binary("image/png", "a PNG: time left to right, frequency bottom to top") | errors(400, 404),
            summary=f"The spectrogram of a view of up to {SPECTROGRAM_MAX_SECONDS:g} s, as a PNG image",
            description=f"{VIEW_RULES} A view longer than {SPECTROGRAM_MAX_SECONDS:g} s is a 400 (zoom in).")
@unbounded
def sound_spectrogram(app: App, user: Caller, sound_id: str, query: Annotated[SpectrogramQuery, Query()]) -> Response:
    sound, end = _view_of(app, user, sound_id, query.start, query.end)
    image = spectrogram_png(app.storage, sound, query.start, end, query.channel)
    return Response(image, media_type="image/png", headers={**SERVED_FILE_HEADERS, "Cache-Control": "private, max-age=3600"})


AUDIO = {"content": {"audio/*": {"schema": {"type": "string", "format": "binary"}},
                     "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}


@router.get("/{sound_id}/audio", summary="The audio of a sound: whole, a byte range (206), or start/end seconds encoded as WAV",
            response_class=Response,
            responses=Responses({200: {"description": "the stored file as it was uploaded (its own audio type), or the part asked for "
                                            "as audio/wav", **AUDIO},
                       206: {"description": "the byte range a Range header asked for", **AUDIO}}) | errors(400, 404, 416),
            description="With `start` and/or `end`: that part, encoded as WAV (an end after the start, at most 10 minutes "
                        "and a bounded number of samples: a 400 otherwise). Without: the stored file, whole or the single "
                        "byte range of a `Range: bytes=a-b` header. A sound without stored audio is a 404.")
@unbounded
def sound_audio(app: App, user: Caller, sound_id: str,
                start: Annotated[Seconds | None, Query(description="seconds (with end: just that part, as WAV)")] = None,
                end: Annotated[Seconds | None, Query(description="seconds")] = None,
                range_: str | None = Header(None, alias="range", include_in_schema=False)) -> Response:
    with app.db.read() as session:
        sound = SoundService(session, app.storage).get(sound_id, viewer=user)
    if sound.file is None:
        raise NotFound(f"Sound {sound.id!r} has no stored audio (see its audio_url).")
    if start is not None or end is not None:  # encoded a read at a time as it is sent (core.audio.waveform.WavPart)
        part = wav_part(app.storage, sound, start or 0.0, sound.duration_seconds if end is None else end)
        return StreamingResponse(part.chunks(), media_type="audio/wav",
                                 headers={**SERVED_FILE_HEADERS, "Content-Length": str(part.size)})
    mime = MIME_TYPES.get(sound.format or "") or MIME_BY_EXTENSION.get("." + sound.path.rsplit(".", 1)[-1].lower(), "application/octet-stream")
    return ranged(app.storage, sound.file.key, sound.file.size, mime, range_, SERVED_FILE_HEADERS)
