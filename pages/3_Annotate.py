"""Annotate: a sound's waveform; drag to select a segment, tag it, play it, move on with the keyboard."""

import pandas as pd
import streamlit as st

from core.accounts.permissions import Action, can, can_any
from core.annotations.service import AnnotationService
from core.audio.waveform import PLAY_MAX_SECONDS, View, playback, spectrogram_figure
from core.catalogue.queue import Queue, QueueService
from core.catalogue.sounds import SoundFilter, SoundService
from core.catalogue.stats import human_duration
from core.catalogue.vocabulary import Vocabulary
from core.ui import shell
from core.ui import team as team_ui
from core.ui.screen import build_screen
from core.ui.waveform import waveform

st.set_page_config(page_title="Annotate · Earmark", page_icon=shell.ICON, layout="wide")
user = shell.page("Annotate", Action.ANNOTATE)
app = shell.earmark()
state = st.session_state
SHORTCUTS = {
    "Previous sound": "B", "Next sound": "N", "Next without people's annotations": "U", "Zoom in": "I", "Zoom out": "O",
    "Move left": "Left", "Move right": "Right", "Play selection": "P", "Play view": "V", "Stop": "Esc",
    "Save segment": "Ctrl+Enter", "Delete selected annotation": "Delete",
}

# -- which sound: the URL, the queue ------------------------------------------------------------------------
with app.db.read() as session:
    datasets = [name for name, _ in SoundService(session, app.storage).datasets()]
if not datasets:
    st.info("There are no sounds yet. Upload some, or load the demo dataset from the Home page." if can_any(user, Action.UPLOAD)
            else "There are no sounds yet: ask a dataset user or an administrator to upload some.")
    st.stop()


def dataset_queue(dataset: str, tags: str) -> Queue:
    return Queue(SoundFilter(dataset=dataset, tags=tuple(t.strip() for t in tags.split(",") if t.strip())))


# -- my work: a person with assigned sounds works through them in order (core/ui/team.py) -------------------
work = team_ui.my_work(app, user)
from_work = bool(work) and st.segmented_control(
    "Work from", ["My work", "Any sound"], default="My work", key="annotate_source",
    help="My work: the sounds assigned to you, returned ones first. Any sound: a dataset's queue.") != "Any sound"
mine: team_ui.Work | None = None
queue: Queue | None = state.get("annotate_queue")
wanted = st.query_params.get("sound")
linked = bool(wanted) and wanted != state.get("annotate_sound")
if from_work:
    state["annotate_sound"], mine, work = team_ui.pick(app, user, work, state.get("annotate_sound"),
                                                            wanted if linked else None)
    queue = dataset_queue(team_ui.dataset_of(work, state["annotate_sound"]) or datasets[0], "")
elif linked:  # a link names a sound: the queue follows it to its dataset unless the sound is already in the queue
    current = queue or dataset_queue(state.get("queue_dataset") or datasets[0], state.get("queue_tags") or "")
    with app.db.read() as session:
        around = QueueService(session, user).around(wanted, current)
    if around != current:
        state.pop("annotate_queue", None)
        queue, state["queue_dataset"], state["queue_tags"] = None, around.filters.dataset, ""
    state["annotate_sound"] = wanted
if from_work:
    pass
elif queue is None:
    top_left, top_right = st.columns([1, 2])
    chosen_dataset = top_left.selectbox("Dataset to annotate", datasets, key="queue_dataset")
    queue_tags = top_right.text_input("Only sounds with these tags (comma-separated)", key="queue_tags")
    queue = dataset_queue(chosen_dataset, queue_tags)
else:
    with app.db.read() as session:
        st.caption(f"Queue: {shell.plain(QueueService(session, user).describe(queue))}")
    if st.button("Leave this queue", key="queue_leave"):
        del state["annotate_queue"]
        st.rerun()

if from_work:
    pass
elif linked:
    state["annotate_queue_seen"] = queue
elif not state.get("annotate_sound") or state.get("annotate_queue_seen") != queue:
    with app.db.read() as session:
        state["annotate_sound"] = QueueService(session, user).first(queue)
    state["annotate_queue_seen"] = queue
sound_id = state.get("annotate_sound")
if not sound_id:
    st.info("This queue is empty.")
    st.stop()
st.query_params["sound"] = sound_id


def go_to(target: str | None, none_left: str) -> None:
    if target is None:
        st.toast(none_left)
        return
    state["annotate_sound"] = target
    st.query_params["sound"] = target
    st.rerun()


# -- the view, and a selection dragged on the chart (read before the figure is built) ----------------------
views = state.setdefault("annotate_views", {})
view_start, view_length = views.get(sound_id, (0.0, None))
chart_state = state.get("waveform") or {}
boxes = (chart_state.get("selection") or {}).get("box") or []
if boxes and boxes[-1].get("x"):  # the newest box: after a save the chart may still hold the previous one
    picked = tuple(round(v, 3) for v in sorted(boxes[-1]["x"])[:2])
    if picked != state.get("last_box"):
        state["last_box"] = picked
        state["seg_start"], state["seg_end"] = picked
if state.pop("reset_segment", False):  # assigned, not deleted: a deleted key lets the browser send its old value back
    state.update(seg_start=0.0, seg_end=0.0, seg_tags=[], seg_text="", seg_data_url="")
selection = (state["seg_start"], state["seg_end"]) if state.get("seg_end", 0) > state.get("seg_start", 0) else None

with app.db.read() as session:
    channels = SoundService(session, app.storage).get(sound_id).channels or 1 if sound_id else 1
channel_choice = "all channels"
if channels > 1:
    channel_choice = st.selectbox("Channel", ["all channels", *[f"channel {i + 1}" for i in range(channels)]], key="channel")
channel = None if channel_choice == "all channels" else int(channel_choice.split()[-1]) - 1

show_suggestions = not st.sidebar.checkbox("Hide machine suggestions", key="hide_suggestions")
classic = state.get("annotate_mode") == "Classic chart"  # the widget itself is drawn below, above the waveform
screen = shell.run(lambda: build_screen(app.db, app.storage, sound_id, queue, view_start=view_start, view_length=view_length,
                                     channel=channel, selection=selection, suggestions=show_suggestions, figures=classic,
                                     viewer=user))
if screen is None:
    st.stop()
sound, view, duration = screen.sound, screen.view, screen.sound.duration_seconds

# -- header and navigation -----------------------------------------------------------------------------------
index, total = team_ui.position(work, sound.id) if from_work else screen.position
st.subheader(shell.plain(f"{sound.dataset} / {sound.path}"))
st.caption(f"{index} of {total} in {'my work' if from_work else 'the queue'} · {human_duration(duration)} · {sound.sample_rate} Hz · {sound.channels} channel(s) · "
           f"{len(screen.annotations)} annotation(s)")
if mine is not None:
    team_ui.show_state(mine)
nav = st.columns(3)
done_pressed, done_seconds = False, None  # Done: the button (or D), or D on the interactive waveform with its seconds
if from_work:
    before, after = team_ui.neighbours(work, sound.id)
    if nav[0].button("← Previous in my work", key="nav_prev", shortcut=SHORTCUTS["Previous sound"], width="stretch"):
        go_to(before, "This is the first sound of your work.")
    if nav[1].button("Next in my work →", key="nav_next", shortcut=SHORTCUTS["Next sound"], width="stretch"):
        go_to(after, "This is the last sound of your work.")
    done_pressed = mine is not None and mine.open and nav[2].button(
        "Done ✓ submit, go to the next", key="team_done", type="primary", shortcut=team_ui.DONE_KEY, width="stretch",
        help="Your regions on this sound are finished: it goes to review and the next sound of your work opens.")
with app.db.read() as session:
    queue_service = QueueService(session, user)
    if from_work:
        pass
    elif nav[0].button("← Previous sound", key="nav_prev", shortcut=SHORTCUTS["Previous sound"], width="stretch"):
        go_to(queue_service.previous(queue, sound.id), "This is the first sound of the queue.")
    if not from_work and nav[1].button("Next sound →", key="nav_next", shortcut=SHORTCUTS["Next sound"], width="stretch"):
        go_to(queue_service.next(queue, sound.id), "This is the last sound of the queue.")
    if not from_work and nav[2].button("Next without people's annotations ⇥", key="nav_unannotated",
                     shortcut=SHORTCUTS["Next without people's annotations"], width="stretch",
                     help="The next sound nobody has annotated yet: machine suggestions do not count."):
        go_to(queue_service.next_unannotated(queue, sound.id), "Every sound of the queue has people's annotations.")


def set_view(new: View) -> None:
    views[sound.id] = (new.start, new.length)
    st.rerun()


st.segmented_control("Waveform", ["Interactive", "Classic chart"], default="Interactive", key="annotate_mode",
                     help="Interactive: draw, move, resize and label regions directly; each change is saved at once. "
                          "Classic chart: select a segment by dragging a box, then use the form below.")
if not classic:
    asked = waveform(app.settings, user, sound, screen.annotations, screen.colors, key="earmark_waveform", channel=channel,
                     assigned=mine is not None and mine.open)
    team_ui.add_time(app, user, sound.id, asked)
    done_seconds = team_ui.done_asked(asked, sound.id)
    st.caption("Drag anywhere on the waveform to draw a region (over other regions too: each overlapping one gets a lane "
               "of its own under the waveform; machine suggestions sit in the grey lanes). Drag a bar's edges to resize it, "
               "its body to move it. It gets the palette's tag (click, 1-9, or type a new one); with a region selected, 1-9 "
               "add or remove tags, Enter edits its text, A / R accept or reject a suggestion, Delete removes it; Ctrl+Z "
               "undoes, Ctrl+Shift+Z redoes. Space plays from the cursor, [ and ] mark a region at the playhead, L loops "
               "the selected region; the wheel or I / O zoom, the arrows scroll. The keys act on the waveform when the "
               "pointer is over it. The table below catches up two seconds after a change.")
else:
    controls = st.columns([1.3, 1.3, 0.8, 0.8, 1, 2, 0.8])
    if controls[0].button("Zoom in", key="view_in", shortcut=SHORTCUTS["Zoom in"], width="stretch"):
        set_view(view.zoom(0.5, duration))
    if controls[1].button("Zoom out", key="view_out", shortcut=SHORTCUTS["Zoom out"], width="stretch"):
        set_view(view.zoom(2.0, duration))
    if controls[2].button("◀", key="view_left", shortcut=SHORTCUTS["Move left"], width="stretch", help="Move left"):
        set_view(view.shift(-0.5, duration))
    if controls[3].button("▶", key="view_right", shortcut=SHORTCUTS["Move right"], width="stretch", help="Move right"):
        set_view(view.shift(0.5, duration))
    if controls[4].button("Whole", key="view_all", width="stretch"):
        set_view(View(0.0, duration))
    jump = controls[5].number_input("Jump to (s)", 0.0, duration, value=view.start, step=1.0, key="view_jump",
                                    label_visibility="collapsed")
    if controls[6].button("Go", key="view_go", width="stretch"):
        set_view(View.clamp(jump - view.length / 2, view.length, duration))
    st.plotly_chart(screen.overview, key="overview", config={"displayModeBar": False})
    st.plotly_chart(screen.figure, key="waveform", on_select="rerun", selection_mode=("box",),
                    config={"displayModeBar": False, "scrollZoom": False})
    st.caption(f"Showing {view.start:.3f}–{view.end:.3f} s ({screen.line.points:,} points from {screen.line.source}). "
               "Drag across the waveform to select a segment.")
if mine is not None and mine.open and (done_pressed or done_seconds is not None) and \
        team_ui.submit(app, user, sound.id, done_seconds or 0):
    shell.flash(f"Submitted {sound.path} for review.")
    go_to(team_ui.next_open(work, sound.id), "That was the last sound of your work: all of it is submitted.")
    st.rerun()
if classic and st.checkbox("Spectrogram", key="show_spectrogram"):  # the interactive waveform has its own
    figure = shell.run(lambda: spectrogram_figure(app.storage, sound, view, channel))
    if figure is not None:
        st.plotly_chart(figure, key="spectrogram", config={"displayModeBar": False})

# -- listening ----------------------------------------------------------------------------------------------
play = st.columns([1.4, 1.1, 1, 0.7, 1.8])
if play[0].button("▶ Play selection", key="play_selection", shortcut=SHORTCUTS["Play selection"], width="stretch",
                  disabled=selection is None):
    state["playing"] = selection
if play[1].button("▶ Play view", key="play_view", shortcut=SHORTCUTS["Play view"], width="stretch"):
    state["playing"] = (view.start, view.end)
if play[2].button("■ Stop", key="play_stop", shortcut=SHORTCUTS["Stop"], width="stretch"):
    state.pop("playing", None)
loop = play[3].checkbox("Loop", key="play_loop")
from_time = play[4].number_input("Play from (s)", 0.0, duration, value=view.start, step=0.5, key="play_from_time")
if play[4].button("▶ Play from there", key="play_from", width="stretch"):
    state["playing"] = (from_time, min(duration, from_time + PLAY_MAX_SECONDS))
if state.get("playing"):
    start, end = state["playing"]
    part = shell.run(lambda: playback(app.storage, sound, start, end, channel))
    if part is not None:
        st.audio(part.url or part.data, format="audio/wav", start_time=part.start, end_time=part.end, loop=loop,
                 autoplay=True)

# -- making a segment ---------------------------------------------------------------------------------------
st.markdown("**New segment**")
form = st.columns([1, 1, 3])
start_value = form[0].number_input("Start (s)", 0.0, duration, step=0.001, format="%.3f", key="seg_start")
end_value = form[1].number_input("End (s)", 0.0, duration, step=0.001, format="%.3f", key="seg_end")
tags = form[2].multiselect("Tags (pick, or type a new one)", list(screen.colors), key="seg_tags", accept_new_options=True)
details = st.columns([3, 2, 1.6])  # wide enough for "Save segment" and its shortcut at 1,400 px
text = details[0].text_input("Text (e.g. a transcription)", key="seg_text")
data_url = details[1].text_input("Data URL (optional)", key="seg_data_url")
if details[2].button("Save segment", key="seg_save", type="primary", shortcut=SHORTCUTS["Save segment"], width="stretch"):
    def save():
        with app.db.write() as session:
            return AnnotationService(session).create(
                user, sound.id, start_seconds=start_value, end_seconds=end_value,
                tags=tags, text=text, data_url=data_url, channel=channel,
            )
    if shell.run(save) is not None:
        state["reset_segment"] = True
        shell.flash(f"Saved {start_value:.3f}–{end_value:.3f} s" + (f" ({', '.join(tags)})" if tags else "") + ".")
        st.rerun()

# -- the sound's annotations ---------------------------------------------------------------------------------
st.markdown("**Annotations**")
rows = [{"start": round(a.start_seconds, 3), "end": round(a.end_seconds, 3), "tags": ", ".join(a.tag_names), "text": a.text or "",
         "by": screen.authors.get(a.created_by, "?"), "suggestion": bool(a.source), "version": a.version, "id": a.id}
        for a in screen.annotations]
picked_rows = st.dataframe(pd.DataFrame(rows), hide_index=True, key="annotations_table", on_select="rerun", selection_mode="single-row",
                           column_config={"suggestion": st.column_config.CheckboxColumn("suggestion", help="made by a featurebot: accept or reject it"),
                                          "by": st.column_config.TextColumn("by", width="medium")})
chosen_rows = picked_rows.selection.rows if picked_rows else []
if chosen_rows and chosen_rows[0] < len(screen.annotations):
    annotation = screen.annotations[chosen_rows[0]]
    if annotation.source:  # a featurebot's suggestion: take it (with the bounds, tags and text as edited below) or drop it
        review = st.columns([1, 1, 4])
        if review[0].button("Accept", key="suggestion_accept", type="primary", width="stretch"):
            def accept():
                with app.db.write() as session:
                    return AnnotationService(session).accept(
                        user, annotation.id, start_seconds=state.get(f"edit_start_{annotation.id}", annotation.start_seconds),
                        end_seconds=state.get(f"edit_end_{annotation.id}", annotation.end_seconds),
                        tags=state.get(f"edit_tags_{annotation.id}", annotation.tag_names),
                        text=state.get(f"edit_text_{annotation.id}", annotation.text))
            shell.run(accept, "Suggestion accepted: it is now your annotation.", rerun=True)
        if review[1].button("Reject", key="suggestion_reject", width="stretch"):
            def reject():
                with app.db.write() as session:
                    AnnotationService(session).reject(user, annotation.id)
            shell.run(reject, "Suggestion rejected.", rerun=True)
    mine = can(user, Action.EDIT_ANNOTATION, owner_id=annotation.created_by) or bool(annotation.source)
    seen = state.setdefault(f"edit_version_{annotation.id}", annotation.version)
    edit = st.columns([1, 1, 3])
    new_start = edit[0].number_input("Start (s)", 0.0, duration, value=annotation.start_seconds, step=0.001,
                                     format="%.3f", key=f"edit_start_{annotation.id}", disabled=not mine)
    new_end = edit[1].number_input("End (s)", 0.0, duration, value=annotation.end_seconds, step=0.001, format="%.3f",
                                   key=f"edit_end_{annotation.id}", disabled=not mine)
    new_tags = edit[2].multiselect("Tags", [*screen.colors, *(t for t in annotation.tag_names if t not in screen.colors)],
                                   default=annotation.tag_names, key=f"edit_tags_{annotation.id}", accept_new_options=True,
                                   disabled=not mine)
    new_text = st.text_input("Text", value=annotation.text or "", key=f"edit_text_{annotation.id}", disabled=not mine)
    actions = st.columns([1, 1, 1, 3])
    if actions[0].button("▶ Play it", key="edit_play", width="stretch"):
        state["playing"] = (annotation.start_seconds, annotation.end_seconds)
        st.rerun()
    if mine and not annotation.source and actions[1].button("Save changes", key="edit_save", width="stretch"):
        def update():
            with app.db.write() as session:
                return AnnotationService(session).update(
                    user, annotation.id, seen, start_seconds=new_start, end_seconds=new_end, tags=new_tags, text=new_text,
                )
        updated = shell.run(update)
        if updated is not None:
            state[f"edit_version_{annotation.id}"] = updated.version
            shell.flash("Changes saved.")
            st.rerun()
    if mine and not annotation.source and actions[2].button("Delete", key="edit_delete", shortcut=SHORTCUTS["Delete selected annotation"], width="stretch"):
        def delete():
            with app.db.write() as session:
                AnnotationService(session).delete(user, annotation.id)
        shell.run(delete, "Annotation deleted.", rerun=True)
    if seen != annotation.version and actions[3].button("Reload this annotation", key="edit_reload"):
        for key in ("version", "start", "end", "tags", "text"):
            state.pop(f"edit_{key}_{annotation.id}", None)
        st.rerun()
    if not mine:
        st.caption("Only its author or an administrator can change this annotation.")

# -- the tag vocabulary ---------------------------------------------------------------------------------------
with st.expander(f"Tags of the {shell.plain(sound.dataset)} dataset"):
    st.dataframe(pd.DataFrame([{"tag": t, "colour": c} for t, c in screen.colors.items()]), hide_index=True, key="vocabulary_table")
    add = st.columns([2, 1, 1])
    new_tag = add[0].text_input("New tag", key="vocab_new")
    new_color = add[1].color_picker("Colour", "#4363d8", key="vocab_color")
    if add[2].button("Add tag", key="vocab_add", width="stretch"):
        def add_tag():
            with app.db.write() as session:
                Vocabulary(session).add(user, sound.dataset, new_tag, new_color)
        shell.run(add_tag, f"Tag {new_tag.strip().lower()} added.", rerun=True)
    if screen.colors:
        change = st.columns([2, 2, 1, 1])
        which = change[0].selectbox("Tag", list(screen.colors), key="vocab_which")
        renamed = change[1].text_input("Rename to", key="vocab_rename")
        recolor = change[2].color_picker("New colour", screen.colors.get(which, "#4363d8"), key=f"vocab_recolor_{which}")
        if change[3].button("Apply", key="vocab_apply", width="stretch"):
            def apply():
                with app.db.write() as session:
                    vocabulary = Vocabulary(session)
                    vocabulary.set_color(user, sound.dataset, which, recolor)
                    return vocabulary.rename(user, sound.dataset, which, renamed) if renamed.strip() else 0
            changed = shell.run(apply)
            if changed is not None:
                shell.flash(f"Tag {which} updated" + (f"; {changed} annotation(s) renamed." if renamed.strip() else "."))
                st.rerun()
        if not can_any(user, Action.RENAME_TAGS):
            st.caption("Renaming a tag changes everyone's annotations: dataset users and administrators can do it.")

with st.expander("Keyboard shortcuts"):
    st.table([{"action": action, "key": key} for action, key in SHORTCUTS.items()])
