"""Annotate page: deep link, selecting on the waveform (by its widget state), save, edit, delete, conflicts."""

from __future__ import annotations

import pytest

from core.annotations.service import AnnotationService
from core.catalogue.sounds import SoundService
from core.ingest.demo import load_demo
from core.store.models import SoundTag
from tests.conftest import app_test, login, make_user, shown

PAGE = "pages/3_Annotate.py"


@pytest.fixture
def demo(local_earmark):
    load_demo(local_earmark.db, local_earmark.storage, max_bytes=10**8)
    make_user(local_earmark.db, "hal")
    make_user(local_earmark.db, "mario")
    with local_earmark.db.read() as session:
        return SoundService(session, local_earmark.storage).list().items


def page_for(user: str, sound_id: str | None = None):
    at = app_test(PAGE)
    if sound_id:
        at.query_params["sound"] = sound_id
    login(at, user)
    at.run()
    assert not at.exception, at.exception
    return at


def annotations_of(earmark, sound_id):
    with earmark.db.read() as session:
        return AnnotationService(session).list().items


def test_logged_out_renders_the_login_form(demo):
    at = app_test(PAGE).run()
    assert not at.exception and [t.label for t in at.text_input] == ["Username", "Password"]


def test_deep_link_opens_that_sound_and_the_url_follows(demo):
    at = page_for("hal", demo[2].id)
    assert shown(at.subheader[0].value) == f"demo / {demo[2].path}"
    assert at.caption[0].value.startswith("3 of 32 in the queue")
    at.button(key="nav_next").click().run()
    assert shown(at.subheader[0].value) == f"demo / {demo[3].path}" and at.query_params["sound"] == demo[3].id
    at.button(key="nav_prev").click().run()
    at.button(key="nav_prev").click().run()
    assert shown(at.subheader[0].value) == f"demo / {demo[1].path}"


def test_dragging_a_box_fills_start_and_end_and_saves(local_earmark, demo):
    at = page_for("hal", demo[0].id)
    at.session_state["waveform"] = {"selection": {"points": [], "point_indices": [], "box": [{"x": [1.2345, 0.5]}], "lasso": []}}
    at.run()
    assert (at.number_input(key="seg_start").value, at.number_input(key="seg_end").value) == (0.5, 1.234)
    at.multiselect(key="seg_tags").set_value(["kick", "loud"])
    at.text_input(key="seg_text").input("first hit")
    at.button(key="seg_save").click().run()
    assert not at.exception
    assert "Saved 0.500–1.234 s (kick, loud)." in [shown(s.value) for s in at.success]
    saved = annotations_of(local_earmark, demo[0].id)
    assert [(a.start_seconds, a.end_seconds, a.tag_names, a.text) for a in saved] == [(0.5, 1.234, ["kick", "loud"], "first hit")]
    table = at.dataframe[0].value
    assert list(table["tags"]) == ["kick, loud"] and list(table["by"]) == ["hal"]
    assert at.number_input(key="seg_end").value == 0.0  # the form is ready for the next segment


@pytest.mark.parametrize("start, end, tags, message", [
    (2.0, 1.0, ["kick"], "The end (1.000 s) must come after the start (2.000 s)."),
    (1.0, 1.0, ["kick"], "The end (1.000 s) must come after the start (1.000 s)."),
    (0.5, 1.0, [], "An annotation needs at least one tag, a text or a data_url."),
])
def test_bad_segments_get_a_clear_message(local_earmark, demo, start, end, tags, message):
    at = page_for("hal", demo[0].id)
    at.number_input(key="seg_start").set_value(start)
    at.number_input(key="seg_end").set_value(end)
    at.multiselect(key="seg_tags").set_value(tags)
    at.button(key="seg_save").click().run()
    assert shown(at.error[0].value) == message
    assert annotations_of(local_earmark, demo[0].id) == []


def create(earmark, user_name, sound_id, start, end, tags):
    from core.accounts.users import UserService

    with earmark.db.write() as session:
        return AnnotationService(session).create(UserService(session).by_name(user_name), sound_id,
                                                 start_seconds=start, end_seconds=end, tags=tags)


def select_row(at, row: int):
    at.session_state["annotations_table"] = {"selection": {"rows": [row], "columns": [], "cells": []}}
    at.run()
    assert not at.exception, at.exception


def test_edit_and_delete_your_own_annotation(local_earmark, demo):
    annotation = create(local_earmark, "hal", demo[0].id, 0.5, 1.0, ["kick"])
    at = page_for("hal", demo[0].id)
    select_row(at, 0)
    at.number_input(key=f"edit_end_{annotation.id}").set_value(1.5)
    at.multiselect(key=f"edit_tags_{annotation.id}").set_value(["snare"])
    at.button(key="edit_save").click().run()
    assert "Changes saved." in [shown(s.value) for s in at.success]
    [saved] = annotations_of(local_earmark, demo[0].id)
    assert (saved.end_seconds, saved.tag_names, saved.version) == (1.5, ["snare"], 2)
    select_row(at, 0)
    at.button(key="edit_delete").click().run()
    assert "Annotation deleted." in [shown(s.value) for s in at.success]
    assert annotations_of(local_earmark, demo[0].id) == []


def test_others_annotations_are_read_only(local_earmark, demo):
    annotation = create(local_earmark, "mario", demo[0].id, 0.5, 1.0, ["kick"])
    at = page_for("hal", demo[0].id)
    select_row(at, 0)
    assert at.number_input(key=f"edit_start_{annotation.id}").disabled
    assert not [b for b in at.button if b.key in ("edit_save", "edit_delete")]
    assert any("Only its author or an administrator" in c.value for c in at.caption)


def test_a_stale_edit_is_refused_with_who_and_when(local_earmark, demo):
    annotation = create(local_earmark, "hal", demo[0].id, 0.5, 1.0, ["kick"])
    at = page_for("hal", demo[0].id)
    select_row(at, 0)
    from core.accounts.users import UserService

    with local_earmark.db.write() as session:  # someone (an admin) saves meanwhile
        AnnotationService(session).update(UserService(session).by_name("admin"), annotation.id, 1, text="changed")
    at.text_input(key=f"edit_text_{annotation.id}").input("mine")
    at.button(key="edit_save").click().run()
    assert shown(at.error[0].value).startswith("This annotation was changed by admin at ") and "reload it before editing" in shown(at.error[0].value)
    [saved] = annotations_of(local_earmark, demo[0].id)
    assert saved.text == "changed" and saved.version == 2
    at.button(key="edit_reload").click().run()
    assert at.text_input(key=f"edit_text_{annotation.id}").value == "changed"


def test_next_without_annotations_skips_annotated_sounds(local_earmark, demo):
    create(local_earmark, "hal", demo[1].id, 0.5, 1.0, ["kick"])
    at = page_for("hal", demo[0].id)
    at.button(key="nav_unannotated").click().run()
    assert shown(at.subheader[0].value) == f"demo / {demo[2].path}"


def test_the_interactive_waveform_is_the_default_and_the_classic_chart_one_click_away(demo):
    at = page_for("hal", demo[0].id)
    assert at.get("segmented_control")[0].value == "Interactive"
    assert not at.get("plotly_chart") and "Drag anywhere on the waveform to draw a region" in at.caption[1].value
    at.get("segmented_control")[0].set_value("Classic chart").run()
    assert not at.exception and len(at.get("plotly_chart")) == 2 and at.button(key="view_in")


def test_zoom_and_move_keep_the_view_inside_the_sound(demo):
    at = page_for("hal", demo[0].id)
    at.session_state["annotate_mode"] = "Classic chart"
    at.run()
    d = demo[0].duration_seconds  # the demo's clips are 4 to 8 s long
    at.button(key="view_in").click().run()
    assert f"Showing {d / 4:.3f}–{3 * d / 4:.3f} s" in at.caption[1].value
    at.button(key="view_left").click().run()
    at.button(key="view_left").click().run()
    assert f"Showing 0.000–{d / 2:.3f} s" in at.caption[1].value


def test_playing_the_selection_plays_only_that_part(demo):
    at = page_for("hal", demo[0].id)
    at.number_input(key="seg_start").set_value(1.0)
    at.number_input(key="seg_end").set_value(1.5).run()  # the browser reruns on each change
    at.button(key="play_selection").click().run()
    assert not at.exception and len(at.get("audio")) == 1


def test_add_a_tag_to_the_vocabulary(local_earmark, demo):
    at = page_for("hal", demo[0].id)
    at.text_input(key="vocab_new").input("Cowbell")
    at.button(key="vocab_add").click().run()
    assert "Tag cowbell added." in [shown(s.value) for s in at.success]
    assert "cowbell" in at.multiselect(key="seg_tags").options


def test_play_from_a_time_and_a_queue_filtered_by_tags(local_earmark, demo):
    at = page_for("hal", demo[0].id)
    at.number_input(key="play_from_time").set_value(2.0).run()
    at.button(key="play_from").click().run()
    assert not at.exception and len(at.get("audio")) == 1
    with local_earmark.db.write() as session:  # tag one sound so a filtered queue has just it
        sound = SoundService(session, local_earmark.storage).get(demo[5].id)
        sound.tags.append(SoundTag(tag="check"))
    at.text_input(key="queue_tags").input("check").run()
    assert shown(at.subheader[0].value) == f"demo / {demo[5].path}" and at.caption[0].value.startswith("1 of 1 in the queue")


def test_suggestions_can_be_accepted_edited_rejected_or_hidden(local_earmark, demo):
    import threading

    from core.accounts.users import UserService
    from core.jobs.queue import JobService, work

    with local_earmark.db.write() as session:
        JobService(session).submit(UserService(session).by_name("hal"), "onsets", sound_ids=[demo[0].id])
    work(local_earmark.db, local_earmark.storage, threading.Event(), once=True)
    suggested = annotations_of(local_earmark, demo[0].id)
    assert suggested and all(a.source for a in suggested)
    at = page_for("hal", demo[0].id)
    table = at.dataframe[0].value
    assert set(table["by"]) == {"bot-onsets"} and all(table["suggestion"])  # the bot's name whole, the kind apart
    select_row(at, 0)
    first = at.dataframe[0].value["id"][0]
    at.multiselect(key=f"edit_tags_{first}").set_value(["kick"])
    at.text_input(key=f"edit_text_{first}").input("a kick, typed before accepting")
    at.button(key="suggestion_accept").click().run()
    assert "Suggestion accepted: it is now your annotation." in [shown(s.value) for s in at.success]
    after = annotations_of(local_earmark, demo[0].id)
    mine = [a for a in after if a.source is None]
    assert len(after) == len(suggested) and len(mine) == 1 and mine[0].tag_names == ["kick"]
    assert mine[0].text == "a kick, typed before accepting"  # what was typed into the suggestion is kept
    select_row(at, 1 if at.dataframe[0].value["id"][0] == mine[0].id else 0)
    at.button(key="suggestion_reject").click().run()
    assert len(annotations_of(local_earmark, demo[0].id)) == len(suggested) - 1
    at.sidebar.checkbox(key="hide_suggestions").check().run()
    assert list(at.dataframe[0].value["by"]) == ["hal"]


def run_analyzer(earmark, name, sound_ids):
    import threading

    from core.accounts.users import UserService
    from core.jobs.queue import JobService, work

    with earmark.db.write() as session:
        JobService(session).submit(UserService(session).by_name("hal"), name, sound_ids=sound_ids)
    work(earmark.db, earmark.storage, threading.Event(), once=True)


def test_next_without_peoples_annotations_skips_machine_suggestions(local_earmark, demo):
    run_analyzer(local_earmark, "onsets", [s.id for s in demo[:4]])  # suggestions on each of the first four sounds
    assert all(any(a.source for a in annotations_of(local_earmark, s.id)) for s in demo[:4])
    create(local_earmark, "hal", demo[1].id, 0.5, 1.0, ["kick"])  # a person's annotation on the second only
    at = page_for("hal", demo[0].id)
    button = at.button(key="nav_unannotated")
    assert button.label == "Next without people's annotations ⇥"
    button.click().run()
    assert not at.exception and shown(at.subheader[0].value) == f"demo / {demo[2].path}"  # its suggestions do not count
    assert {"action": "Next without people's annotations", "key": "U"} in at.table[0].value.to_dict("records")


def test_a_link_to_a_sound_of_another_dataset_opens_its_dataset(local_earmark, demo):
    import io

    from core.ingest.pipeline import UploadOptions, ingest_audio
    from tests.conftest import wav_bytes

    vox = make_user(local_earmark.db, "vox", "dataset")
    made = [ingest_audio(local_earmark.db, local_earmark.storage, vox, f"take{i}.wav", io.BytesIO(wav_bytes(freq=300 + 50 * i)),
                         UploadOptions(dataset="zoo", max_bytes=10**8)).sound_id for i in range(3)]
    at = page_for("hal", made[1])
    assert shown(at.subheader[0].value) == "zoo / take1.wav"
    assert at.selectbox(key="queue_dataset").value == "zoo"
    assert at.caption[0].value.startswith("2 of 3 in the queue")
    at.button(key="nav_next").click().run()
    assert shown(at.subheader[0].value) == "zoo / take2.wav" and at.query_params["sound"] == made[2]
    at.query_params["sound"] = demo[3].id  # another link, in the same session
    at.run()
    assert shown(at.subheader[0].value) == f"demo / {demo[3].path}" and at.caption[0].value.startswith("4 of 32 in the queue")


def test_header_duration_reads_as_browse_shows_it(local_earmark, demo):
    from core.catalogue.stats import human_duration

    at = page_for("hal", demo[0].id)
    assert f" · {human_duration(demo[0].duration_seconds)} · " in at.caption[0].value
    assert f"{demo[0].duration_seconds:.3f} s" not in at.caption[0].value


def test_annotate_all_these_from_browse_names_the_queue_in_words(local_earmark, demo):
    browse = login(app_test("pages/2_Browse.py"), "hal")
    browse.text_input(key="browse_tags").input("demo").run()
    browse.selectbox(key="browse_annotated").set_value("no").run()
    browse.button(key="browse_annotate_all").click().run()  # AppTest cannot follow switch_page: carry its queue over
    at = app_test(PAGE)
    at.session_state["annotate_queue"] = browse.session_state["annotate_queue"]
    login(at, "hal")
    at.run()
    assert not at.exception, at.exception
    assert "Queue: Browse search: tag demo, not annotated" in [shown(c.value) for c in at.caption]
    assert shown(at.subheader[0].value) == f"demo / {demo[0].path}" and at.caption[1].value.startswith("1 of 32 in the queue")


def test_the_tags_offered_keep_the_order_they_were_made(local_earmark, demo):
    at = page_for("hal", demo[0].id)
    for tag in ("speech", "noise"):
        at.text_input(key="vocab_new").input(tag)
        at.button(key="vocab_add").click().run()
    create(local_earmark, "hal", demo[0].id, 0.5, 1.0, ["breath"])
    at.run()
    assert at.multiselect(key="seg_tags").options == ["speech", "noise", "breath"]
    assert list(at.dataframe[1].value["tag"]) == ["speech", "noise", "breath"]  # the vocabulary table
