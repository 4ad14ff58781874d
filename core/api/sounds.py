"""Sounds (cochlea_api.md): list (in id order, or sorted with the catalogue's keyset cursor), create by
reference, read, and the audio itself (whole, a byte range, or a part in seconds as WAV)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from core.api.deps import PREFIX, SERVED_FILE_HEADERS, App, Bounded, Caller, Paging, linked, page_of, unbounded
from core.api.ranges import ranged
from core.audio import peaks
from core.audio.decode import MIME_BY_EXTENSION, MIME_TYPES
from core.audio.waveform import SPECTROGRAM_MAX_SECONDS, spectrogram_png, wav_part
from core.catalogue.search import CatalogueQuery, search
from core.catalogue.sounds import MAX_SOUND_SECONDS, SoundFilter, SoundService, public_sound
from core.errors import NotFound, ValidationError
from core.ingest.pipeline import ensure_peaks
from core.store.models import Sound

router = APIRouter(route_class=Bounded, prefix="/sounds", tags=["sounds"])


class SoundQuery(Paging):
    created_by: str | None = Field(None, max_length=64, description="user id")
    dataset: str | None = Field(None, max_length=200, description="dataset name")
    sort: str | None = Field(None, max_length=20, description="date, name, duration or annotations (then page with the cursor in next)")
    descending: bool = Field(False, description="true: largest first")
    cursor: str | None = Field(None, max_length=2000, description="where a sorted listing goes on (from next)")


class NewSound(BaseModel):
    title: str = Field("", max_length=1000)
    duration_seconds: float = Field(gt=0, le=MAX_SOUND_SECONDS, allow_inf_nan=False, description="seconds (at most a week)")
    audio_url: str | None = Field(None, max_length=2000)
    info_url: str | None = Field(None, max_length=2000)
    license_type: str | None = Field(None, max_length=200)
    tags: list[str] = Field(default_factory=list, max_length=1000)
    dataset: str | None = Field(None, max_length=200)


@router.get("", summary="Sounds, a page at a time; with sort (date, name, duration, annotations) and descending, in that order")
def list_sounds(app: App, user: Caller, request: Request, query: SoundQuery = Query()) -> dict:
    if query.sort or query.cursor:
        return _sorted_sounds(app, user, request, query)
    with app.db.read() as session:
        filters = SoundFilter(created_by=query.created_by or None, dataset=query.dataset or None, tags=query.tag_list())
        page = SoundService(session, app.storage).list_public(query.request(), filters)
        return page_of(page, "/sounds")


def _sorted_sounds(app, user, request: Request, query: SoundQuery) -> dict:
    """Sorted listings page with the catalogue's keyset cursor (``next`` carries it); the total is capped."""
    spec = CatalogueQuery(dataset=query.dataset or None, created_by=query.created_by or None, tags=query.tag_list(),
                          sort=query.sort or "date", descending=query.descending)
    with app.db.read() as session:
        page = search(session, spec, user, page_size=query.page_size, cursor=query.cursor or None)
        items = [linked(public_sound(s)) for s in page.items]
    following = {k: v for k, v in request.query_params.items() if k != "cursor"} | {"cursor": page.next_cursor}
    return {"items": items, "total_count": page.total, "total_count_capped": page.total_capped,
            "next": f"{PREFIX}/sounds?{urlencode(following)}" if page.next_cursor else None}


@router.post("", status_code=201, summary="Create a sound whose audio lives at audio_url (dataset users and administrators)")
def create_sound(app: App, user: Caller, body: NewSound) -> dict:
    with app.db.write() as session:
        sound = SoundService(session, app.storage).create_reference(
            user, title=body.title, duration_seconds=body.duration_seconds, audio_url=body.audio_url, info_url=body.info_url,
            license_type=body.license_type, tags=body.tags, dataset=body.dataset)
        return linked(public_sound(sound))


@router.get("/{sound_id}", summary="One sound")
def get_sound(app: App, user: Caller, sound_id: str) -> dict:
    with app.db.read() as session:
        return linked(public_sound(SoundService(session, app.storage).get(sound_id)))


@router.head("/{sound_id}", status_code=204, summary="Whether a sound exists (204, or 404)")
def sound_exists(app: App, user: Caller, sound_id: str) -> Response:
    with app.db.read() as session:
        SoundService(session, app.storage).get(sound_id)
    return Response(status_code=204)


def _view_of(app: App, sound_id: str, start: float, end: float | None) -> tuple[Sound, float]:
    """The sound with its stored audio, and the view's end (the sound's end if not given, cut there if past it);
    NotFound without stored audio, a 400 naming ``end`` for an empty view."""
    with app.db.read() as session:
        sound = SoundService(session, app.storage).get(sound_id)
    if sound.file is None:
        raise NotFound(f"Sound {sound.id!r} has no stored audio (see its audio_url).")
    end = sound.duration_seconds if end is None else min(end, sound.duration_seconds)
    if end <= start:
        raise ValidationError("end", f"end ({end:g} s) must be after start ({start:g} s); the sound lasts {sound.duration_seconds:g} s.")
    return sound, end


class PeaksQuery(BaseModel):
    start: float = Field(0.0, ge=0, allow_inf_nan=False, description="seconds: the view's left edge")
    end: float | None = Field(None, gt=0, allow_inf_nan=False, description="seconds: its right edge (default: the end)")
    points: int = Field(2000, ge=10, le=peaks.MAX_POINTS, description="at most this many points (min/max pairs count two)")
    channel: int | None = Field(None, ge=0, le=255, description="one channel (default: all together)")


@router.get("/{sound_id}/peaks", summary="The waveform of a view: real samples, or min/max pairs from the peaks pyramid, at most `points` of them")
@unbounded
def sound_peaks(app: App, user: Caller, sound_id: str, query: Annotated[PeaksQuery, Query()]) -> dict:
    """What the Annotate page draws, for any view of any length: never the whole file (see core.audio.peaks)."""
    sound, end = _view_of(app, sound_id, query.start, query.end)
    line = peaks.envelope(app.storage, sound.file.key, ensure_peaks(app.db, app.storage, sound), query.start, end,
                          query.channel, max_points=query.points)
    return {"sound_id": sound.id, "start_seconds": line.start_seconds, "end_seconds": line.end_seconds,
            "duration_seconds": sound.duration_seconds, "source": line.source, "points": line.points,
            "x": [round(float(v), 6) for v in line.x], "y": [round(float(v), 5) for v in line.y]}


class SpectrogramQuery(BaseModel):
    start: float = Field(0.0, ge=0, allow_inf_nan=False, description="seconds: the view's left edge")
    end: float | None = Field(None, gt=0, allow_inf_nan=False, description="seconds: its right edge (default: the end)")
    channel: int | None = Field(None, ge=0, le=255, description="one channel (default: all together)")


@router.get("/{sound_id}/spectrogram", response_class=Response,
            responses={200: {"content": {"image/png": {}}, "description": "a PNG: time left to right, frequency bottom to top"}},
            summary=f"The spectrogram of a view of up to {SPECTROGRAM_MAX_SECONDS:g} s, as a PNG image")
@unbounded
def sound_spectrogram(app: App, user: Caller, sound_id: str, query: Annotated[SpectrogramQuery, Query()]) -> Response:
    sound, end = _view_of(app, sound_id, query.start, query.end)
    image = spectrogram_png(app.storage, sound, query.start, end, query.channel)
    return Response(image, media_type="image/png", headers={**SERVED_FILE_HEADERS, "Cache-Control": "private, max-age=3600"})


@router.get("/{sound_id}/audio", summary="The audio of a sound: whole, a byte range (206), or start/end seconds encoded as WAV")
@unbounded
def sound_audio(app: App, user: Caller, sound_id: str,
                start: float | None = Query(None, allow_inf_nan=False, description="seconds (with end: just that part, as WAV)"),
                end: float | None = Query(None, allow_inf_nan=False, description="seconds"),
                range_: str | None = Header(None, alias="range", include_in_schema=False)) -> Response:
    with app.db.read() as session:
        sound = SoundService(session, app.storage).get(sound_id)
    if sound.file is None:
        raise NotFound(f"Sound {sound.id!r} has no stored audio (see its audio_url).")
    if start is not None or end is not None:  # encoded a read at a time as it is sent (core.audio.waveform.WavPart)
        part = wav_part(app.storage, sound, start or 0.0, sound.duration_seconds if end is None else end)
        return StreamingResponse(part.chunks(), media_type="audio/wav",
                                 headers={**SERVED_FILE_HEADERS, "Content-Length": str(part.size)})
    mime = MIME_TYPES.get(sound.format or "") or MIME_BY_EXTENSION.get("." + sound.path.rsplit(".", 1)[-1].lower(), "application/octet-stream")
    return ranged(app.storage, sound.file.key, sound.file.size, mime, range_, SERVED_FILE_HEADERS)
