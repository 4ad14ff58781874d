"""Everything the Annotate page shows for one sound and one view, assembled in one call.

The page keeps only its widgets; this builds the sound's screen (waveform of the view, overview, annotations,
tag colours, queue position), and the figure preparation that must stay fast on hour-long files lives here,
where ``bench/annotate.py`` measures it.
"""

from __future__ import annotations

from dataclasses import dataclass

import plotly.graph_objects as go
from sqlalchemy import select

from core.annotations.service import AnnotationService
from core.audio import peaks
from core.audio.waveform import View, overview_figure, waveform_figure
from core.catalogue.queue import Queue, QueueService
from core.catalogue.sounds import SoundService
from core.catalogue.vocabulary import Vocabulary
from core.errors import NotFound
from core.ingest.pipeline import ensure_peaks
from core.store.db import Database
from core.store.models import Annotation, Sound, User
from core.store.storage import Storage
from core.team import visibility

OVERVIEW_POINTS = 1200


@dataclass
class Screen:
    sound: Sound
    view: View
    annotations: list[Annotation]
    colors: dict[str, str]
    authors: dict[str, str]
    position: tuple[int, int]
    line: peaks.Envelope | None = None  # the figures: only for the classic chart (the component draws its own)
    figure: go.Figure | None = None
    overview: go.Figure | None = None


def build_screen(
    db: Database, storage: Storage, sound_id: str, queue: Queue, *, view_start: float, view_length: float | None,
    channel: int | None = None, selection: tuple[float, float] | None = None, suggestions: bool = True,
    figures: bool = True, viewer: User | None = None,
) -> Screen:
    """The screen for ``sound_id``; ``view_length`` None shows the whole sound. ``figures`` False leaves out the
    classic chart's figures (reading the view's peaks and building two Plotly figures: the interactive waveform
    asks the API for its own views). ``viewer``: what they may see of a dataset with assigned work
    (core/team/visibility.py: their own sounds, blind to others' regions); None: everything."""
    with db.read() as session:
        sound = SoundService(session, storage).get(sound_id)
        if not visibility.sees_sound(session, viewer, sound):
            raise NotFound(f"Sound {sound_id} is not in your work: in the {sound.dataset} dataset you see the sounds "
                           "assigned to you.")
        annotations = [a for a in AnnotationService(session).of_sound(sound.id, viewer) if suggestions or a.source is None]
        colors = Vocabulary(session).colors(sound.dataset)
        authors = _names(session, {a.created_by for a in annotations})
        position = QueueService(session, viewer).position(queue, sound.id)
    view = View.clamp(view_start, view_length or sound.duration_seconds, sound.duration_seconds)
    screen = Screen(sound, view, annotations, colors, authors, position)
    if figures:
        key = ensure_peaks(db, storage, sound)
        screen.line = peaks.envelope(storage, sound.audio.key, key, view.start, view.end, channel)
        whole = peaks.envelope(storage, sound.audio.key, key, 0.0, sound.duration_seconds, channel, max_points=OVERVIEW_POINTS)
        screen.figure = waveform_figure(screen.line, view, annotations, colors, selection)
        screen.overview = overview_figure(whole, view, sound.duration_seconds)
    return screen


def _names(session, ids: set[str]) -> dict[str, str]:
    if not ids:
        return {}
    return {user_id: name for user_id, name in session.execute(select(User.id, User.user_name).where(User.id.in_(ids))).all()}
