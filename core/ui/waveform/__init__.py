"""The Annotate page's waveform component (st.components.v2; waveform.js beside this file is what the browser
runs): any view of a sound drawn from the server's peaks windows, zoomed and scrolled in the browser, played from
a signed link with HTTP Range and a moving playhead, annotations shown as regions; new regions drawn with the
palette's tag and saved in the background, selected ones deleted (issue 13, in progress: not yet moved, resized or
relabelled here).

The browser talks to the HTTP API as the logged-in person with a page token (core.accounts.credentials), never
with the password. May import: core.accounts, core.catalogue, core.store and streamlit.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import streamlit as st

from core.accounts import auth, credentials
from core.catalogue.links import file_link
from core.store.config import Settings
from core.store.models import Annotation, Sound, User

HTML = """<div class="palette"></div><div class="waveform" data-testid="earmark-waveform" tabindex="0" data-ready="false">
  <canvas></canvas><div class="regions"></div><div class="playhead" data-testid="earmark-playhead" data-time="0"></div>
</div><div class="status" role="status"></div><audio preload="metadata"></audio>"""

CSS = """
.waveform { position: relative; height: 160px; background: var(--st-secondary-background-color, #f0f2f6);
            border-radius: .4rem; outline: none; cursor: crosshair; overflow: hidden; }
.waveform:focus { box-shadow: 0 0 0 2px var(--st-primary-color, #ff4b4b); }
canvas { position: absolute; inset: 0; width: 100%; height: 100%; }
.regions { position: absolute; inset: 0; pointer-events: none; }
.region { pointer-events: auto; cursor: pointer; }
.region.selected { outline: 2px solid var(--st-primary-color, #ff4b4b); }
.palette { display: flex; flex-wrap: wrap; gap: .3rem; margin-bottom: .3rem; }
.palette button { font: 12px sans-serif; padding: .15rem .5rem; border: 1px solid #bbb; border-radius: .3rem; background: white; cursor: pointer; }
.palette button.current { background: var(--st-primary-color, #ff4b4b); color: white; border-color: transparent; }
.region { position: absolute; top: 0; bottom: 0; background: rgba(74, 111, 165, .22); border-left: 1px solid #4a6fa5;
          border-right: 1px solid #4a6fa5; font: 11px sans-serif; overflow: hidden; white-space: nowrap; }
.region.suggestion { background: repeating-linear-gradient(45deg, rgba(120,120,120,.12) 0 6px, transparent 6px 12px);
                     border-style: dashed; border-color: #888; }
.region span { padding: 1px 3px; }
.playhead { position: absolute; top: 0; bottom: 0; width: 2px; background: var(--st-primary-color, #ff4b4b); display: none; }
.status { font: 12px sans-serif; color: #b00; min-height: 1em; }
"""

COMPONENT = st.components.v2.component("earmark_waveform", html=HTML, css=CSS,
                                       js=Path(__file__).with_name("waveform.js").read_text(encoding="utf-8"))


def region(annotation: Annotation, user: User) -> dict[str, Any]:
    return {"id": annotation.id, "start": annotation.start_seconds, "end": annotation.start_seconds + annotation.duration_seconds,
            "tags": annotation.tag_names, "source": "suggestion" if annotation.source else "human", "version": annotation.version,
            "mine": user.is_admin or annotation.created_by == user.id}


def waveform(settings: Settings, user: User, sound: Sound, annotations: Iterable[Annotation], tags: Iterable[str], *,
             key: str) -> Any:
    """Mount the component for ``sound`` as ``user`` sees it; ``tags`` is the dataset's palette, in order."""
    key_material = auth.cookie_key(settings)
    data = {"sound_id": sound.id, "duration": sound.duration_seconds, "api": "/api/v1",
            "token": credentials.page_token(user, key_material), "audio_url": file_link(settings, sound.file, user.id),
            "regions": [region(a, user) for a in annotations], "tags": list(tags)}
    return COMPONENT(key=key, data=data, height="content")
