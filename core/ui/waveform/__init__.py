"""The Annotate page's waveform component (st.components.v2): any view of a sound drawn from the server's peaks
windows, zoomed and scrolled in the browser with a time ruler and the view's spectrogram (a PNG from the API),
played from a signed link with HTTP Range, loop and rate; regions drawn, moved, resized, labelled (palette, 1-9,
a typed tag), transcribed (Enter), deleted, and suggestions accepted or rejected (A/R), each change shown at once
and saved in the background through the HTTP API.

What the browser runs is ``waveform.js``, built from the TypeScript in ``frontend/`` (``bash build.sh`` beside
this file; CI checks the committed file matches its source); ``waveform.css`` is loaded as it is. The browser talks to the
API as the logged-in person with a page token (core.accounts.credentials), never with the password.
May import: core.accounts, core.audio, core.catalogue, core.store and streamlit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import streamlit as st

from core.accounts import auth, credentials
from core.audio.waveform import SPECTROGRAM_MAX_SECONDS
from core.catalogue.links import file_link
from core.store.config import Settings
from core.store.models import Annotation, Sound, User

HERE = Path(__file__).parent
HTML = """<div class="toolbar"><button type="button" class="play">▶ Play</button>
<button type="button" class="loop" aria-pressed="false" title="Loop the selected region (L)">⟲ Loop</button>
<button type="button" class="spectrogram-toggle" aria-pressed="false" title="Show the spectrogram of the view">Spectrogram</button>
<select class="rate" aria-label="Playback rate"></select><span class="clock">0.00 s</span>
<span class="hint">drag anywhere: draw (over other regions too) · a bar's edges: resize · its body: move · [ ]: mark at the playhead ·
1-9: tag · Enter: text · A/R: suggestions · Ctrl+Z: undo · Space · L · I/O</span></div>
<div class="palette"></div>
<div class="overview" data-testid="earmark-overview" title="The whole sound: click or drag to move the view"><canvas></canvas><div class="window"></div></div>
<div class="waveform" data-testid="earmark-waveform" tabindex="0" data-ready="false">
  <canvas class="shade"></canvas><canvas class="wave"></canvas><canvas class="lanes"></canvas><div class="regions"></div>
  <div class="playhead" data-testid="earmark-playhead" data-time="0"></div>
</div><div class="ruler" aria-hidden="true"></div>
<img class="spectrogram" data-testid="earmark-spectrogram" hidden alt="Spectrogram of the view">
<div class="spectrogram-note" hidden></div><input class="text-editor" hidden aria-label="Text of the selected region (Enter saves, Esc cancels)"
 placeholder="Text of the selected region: Enter saves, Esc cancels" maxlength="100000">
<div class="status" role="status"></div><audio preload="metadata"></audio>"""

COMPONENT = st.components.v2.component("earmark_waveform", html=HTML,
                                       css=(HERE / "waveform.css").read_text(encoding="utf-8"),
                                       js=(HERE / "waveform.js").read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Asked:
    """What the component asked of the page in this run (its trigger values, frontend/src/waveform.ts ``Rerun``):
    ``done`` (D on an assigned sound: submit it), ``active`` (active seconds to add), ``take`` (annotation ids to
    copy into gold); each a dict, or None when not asked this run."""

    done: dict[str, Any] | None = None
    active: dict[str, Any] | None = None
    take: dict[str, Any] | None = None


def region(annotation: Annotation, user: User, *, review: bool = False) -> dict[str, Any]:
    """An annotation as the component holds it (frontend/src/regions.ts ``ServerRegion``). In review only the gold
    version is changed on the waveform (the annotators' own rows stay as they made them: core/team/review.py)."""
    may_change = user.is_admin or annotation.created_by == user.id
    return {"id": annotation.id, "start": annotation.start_seconds, "end": annotation.end_seconds,
            "tags": annotation.tag_names, "text": annotation.text or "",
            "source": "suggestion" if annotation.source else "human", "bot": (annotation.source or "").split(":")[0],
            "version": annotation.version, "mine": may_change and (annotation.is_gold or not review),
            "origin": annotation.source or "", "author": annotation.created_by, "gold": bool(annotation.is_gold)}


def _payload(value: Any) -> dict[str, Any] | None:
    return value if isinstance(value, dict) else None


def waveform(settings: Settings, user: User, sound: Sound, annotations: Sequence[Annotation], colors: Mapping[str, str], *,
             key: str, channel: int | None = None, review: Sequence[tuple[str, str]] | None = None,
             assigned: bool = False) -> Asked:
    """Mount the component for ``sound`` as ``user`` sees it; ``colors`` is the dataset's palette (tag: colour), in
    order; ``channel`` (0-based) draws that channel alone and gives new regions that channel (None: all together).
    ``review``: (user id, name) of the annotators whose lanes a reviewer sees, with a gold lane under them;
    ``assigned``: the sound is in ``user``'s work (D submits it, active time is reported). Returns what the
    component asked for in this run."""
    key_material = auth.cookie_key(settings)
    data = {"sound_id": sound.id, "duration": sound.duration_seconds, "api": "/api/v1",
            "token": credentials.page_token(user, key_material),
            "audio_url": file_link(settings, sound.audio, user, key=key_material),
            "regions": [region(a, user, review=review is not None) for a in annotations], "tags": list(colors),
            "colors": dict(colors), "assigned": assigned,
            "review": None if review is None else [{"id": person, "name": name} for person, name in review],
            "token_seconds": credentials.PAGE_TOKEN_SECONDS, "channel": channel,
            "spectrogram_max_seconds": SPECTROGRAM_MAX_SECONDS}
    # The component asks for a page run ("renew") halfway through its token's life, which brings a new one, and
    # ("changed") two seconds after a burst of changes saved, so the page's table and counts catch up.
    # "done", "active" and "take" carry a payload the page acts on in the run they cause (Asked).
    result = COMPONENT(key=key, data=data, height="content", on_renew_change=lambda: None, on_changed_change=lambda: None,
                       on_done_change=lambda: None, on_active_change=lambda: None, on_take_change=lambda: None)
    return Asked(*(_payload(getattr(result, name, None)) for name in ("done", "active", "take")))
