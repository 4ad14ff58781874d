"""Browse: search and filter the catalogue, a page at a time; a sound's details; send a selection to Annotate."""

from dataclasses import replace

import pandas as pd
import streamlit as st

from core.annotations.service import AnnotationService
from core.audio.waveform import playback
from core.catalogue.files import FileState, file_state
from core.catalogue.links import file_link
from core.catalogue.queue import Queue
from core.catalogue.search import FIELD_SORT, count_at_once, facets, search
from core.catalogue.stats import human_duration
from core.jobs import copies, voices
from core.jobs.analyzers.speech_quality import ranking_note
from core.ui import shell
from core.ui.screen import build_screen

st.set_page_config(page_title="Browse · Earmark", page_icon=shell.ICON, layout="wide")
user = shell.page("Browse")
app = shell.earmark()
state = st.session_state

page_size = st.sidebar.selectbox("Sounds per page", [25, 50, 100, 500], index=1, key="browse_page_size")
spec = shell.run(lambda: shell.catalogue_filters("browse", sorting=True))
if spec is None:
    st.stop()
if st.sidebar.checkbox("Only sounds with copies", key="browse_has_copies",
                       help="sounds the duplicates analyzer put in a group: re-encoded, resampled, louder or quieter copies and excerpts"):
    spec = replace(spec, has=(*spec.has, copies.GROUP))
if state.get("browse_spec") != (spec, page_size):  # new filters: back to the first page
    state["browse_spec"] = (spec, page_size)
    state["browse_cursors"] = []
cursors: list[str] = state["browse_cursors"]

with app.db.read() as session:
    # counting is what costs on a big catalogue: count at once when it is small, else when asked
    count = count_at_once(session) or state.get("browse_counted") == spec
    page = shell.run(lambda: search(session, spec, user, page_size=page_size, cursor=cursors[-1] if cursors else None, count=count))
    if page is None:
        st.stop()
    # facets group every match: cheap for a focused, counted search, not for a million sounds
    counts = shell.run(lambda: facets(session, spec, user)) if count and not page.total_capped else None

# the fields the matches are sorted or ranged by, as columns of the table next to the path
sorted_by = [spec.sort.removeprefix(FIELD_SORT)] if spec.sort.startswith(FIELD_SORT) else []
in_use = list(dict.fromkeys(sorted_by + [name for name, _, _ in spec.ranges]))
if note := ranking_note([*in_use, *(name for name, _ in spec.where)]):
    st.caption(note)
first = len(cursors) * page_size + 1
shown = f"showing {first:,}–{first + len(page.items) - 1:,}"
if not page.items:
    st.caption("No sounds match these filters.")
elif count:
    st.caption(f"{page.total_text()} {'sound matches' if page.total == 1 and not page.total_capped else 'sounds match'}; {shown}.")
else:
    st.caption(f"Sounds {shown}.")
    if st.button("Count the matches", key="browse_count"):
        state["browse_counted"] = spec
        st.rerun()
if counts and (counts["dataset"] or counts["tag"]):
    st.caption("By dataset: " + ", ".join(f"{shell.plain(d)} ({n:,})" for d, n in counts["dataset"])
               + (" · by tag: " + ", ".join(f"{shell.plain(t)} ({n:,})" for t, n in counts["tag"]) if counts["tag"] else ""))
picked = st.dataframe(
    pd.DataFrame([{"dataset": s.dataset, "path": s.path} | {n: s.metadata_dict.get(n, "") for n in in_use} | {
      "duration": human_duration(s.duration_seconds), "rate": s.sample_rate, "channels": s.channels,
      "annotations": s.annotation_count, "tags": ", ".join(s.tag_names), "file": file_state(s.file).value if s.file else "",
      "id": s.id} for s in page.items]),
    hide_index=True, key="browse_table", on_select="rerun", selection_mode="single-row",
    # the grid sizes a column to the rows it first draws: tags (often empty there) were cut to "espeak, t"
    column_config={"tags": st.column_config.TextColumn("tags", width="large")},
)
nav = st.columns([1, 1, 2])
if nav[0].button("← Previous", key="browse_prev", disabled=not cursors, width="stretch"):
    cursors.pop()
    st.rerun()
if nav[1].button("Next →", key="browse_next", disabled=page.next_cursor is None, width="stretch"):
    cursors.append(page.next_cursor)
    st.rerun()
if nav[2].button("Annotate all these", key="browse_annotate_all", disabled=not page.items, width="stretch",
                 help="Open the Annotate page with these matches as its queue."):
    state["annotate_queue"] = Queue(catalogue=spec, viewer_id=user.id)
    state.pop("annotate_sound", None)
    st.switch_page("pages/3_Annotate.py")

rows = picked.selection.rows if picked else []
if rows and rows[0] < len(page.items):
    sound = page.items[rows[0]]
    st.divider()
    st.subheader(shell.plain(f"{sound.dataset} / {sound.path}"))
    st.caption(f"{human_duration(sound.duration_seconds)} · {sound.format} {sound.subtype} · {sound.sample_rate} Hz · "
               f"{sound.channels} channel(s) · sha256 {sound.sha256}")
    if sound.file is not None and file_state(sound.file) is FileState.MISSING:
        st.warning(f"This file was not found at {shell.plain(sound.file.key)} when its source was last listed "
                   f"({sound.file.missing_since:%Y-%m-%d %H:%M} UTC); its annotations are kept, and exports leave it out "
                   "until it is back.")
    actions = st.columns(3)
    if actions[0].button("Annotate this", key="browse_annotate_one", width="stretch"):
        state.pop("annotate_queue", None)
        st.switch_page("pages/3_Annotate.py", query_params={"sound": sound.id})
    if sound.file is not None:
        actions[1].link_button("Download the original", file_link(app.settings, sound.file, user), width="stretch")
    detail_left, detail_right = st.columns([3, 2])
    with detail_left:
        screen = shell.run(lambda: build_screen(app.db, app.storage, sound.id, Queue(), view_start=0.0, view_length=None,
                                                viewer=user))
        if screen is not None:
            st.plotly_chart(screen.overview, key="browse_waveform", config={"displayModeBar": False})
        part = shell.run(lambda: playback(app.storage, sound, 0.0, min(sound.duration_seconds, 600.0)))
        if part is not None:
            st.audio(part.url or part.data, format="audio/wav", start_time=part.start, end_time=part.end)
        with app.db.read() as session:
            notes = AnnotationService(session).of_sound(sound.id)
        if notes:
            st.dataframe(pd.DataFrame([{"start": round(a.start_seconds, 3), "end": round(a.end_seconds, 3), "tags": ", ".join(a.tag_names),
                           "text": a.text or ""} for a in notes]), hide_index=True, key="browse_annotations",
                         column_config={"tags": st.column_config.TextColumn("tags", width="medium")})
        else:
            st.caption("No annotations on this sound yet.")
    with detail_right:
        if note := ranking_note(sound.metadata_dict):
            st.caption(note)
        st.json(sound.metadata_dict, expanded=True)
        with app.db.read() as session:
            same = copies.copies_of(session, sound.id)
        if same:  # grouped by the duplicates analyzer (core/jobs/analyzers/duplicates.py)
            st.caption(f"Copies of this ({len(same)}{'+' if len(same) == 50 else ''}): re-encoded, resampled, louder or "
                       "quieter, or excerpts; 'starts at' is where the copy begins in the sound it copies.")
            paths = {c.sound_id: c.path for c in same} | {sound.id: "this sound"}
            st.dataframe(pd.DataFrame([{"dataset": c.dataset, "path": c.path,
                                        "copies": "(the earliest)" if c.of is None else paths.get(c.of, c.of),
                                        "starts at (s)": c.offset_seconds, "open": f"/Annotate?sound={c.sound_id}"} for c in same]),
                         hide_index=True, key="browse_copies",
                         column_config={"open": st.column_config.LinkColumn("open", display_text="Annotate")})
        if speaker_note := sound.metadata_dict.get("speaker_check.note"):  # a flagged voice (core/jobs/analyzers/speaker_check.py)
            st.warning(shell.plain(speaker_note))
        with app.db.read() as session:
            alike = voices.like_this(session, sound.id, limit=8)
        if alike:  # kept by the speaker-check analyzer (core/jobs/voices.py)
            st.caption("Sounds like this, by voice (cosine similarity, 1 is the same voice):")
            st.dataframe(pd.DataFrame([{"path": n.path, "similarity": round(n.similarity, 3), "open": f"/Annotate?sound={n.sound_id}"}
                                       for n in alike]), hide_index=True, key="browse_like_this",
                         column_config={"open": st.column_config.LinkColumn("open", display_text="Annotate")})
