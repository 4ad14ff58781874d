"""speaker-check on the pages. Browse's "sounds like this" (core.jobs.voices.like_this): after a speaker-check job,
a sound's details list the sounds nearest by voice, each with a link to Annotate, and a flagged sound's sentence;
before it, nothing is shown and nothing fails. Jobs: its text parameters (metadata column names) are text fields."""

from __future__ import annotations

import json

from core.ingest.demo import load_demo
from core.jobs.queue import JobService
from tests.conftest import app_test, login, make_user, shown
from tests.test_core_speaker_check import _encoder_once_per_module, run, voices_dataset  # noqa: F401 (fixtures)

PAGE = "pages/2_Browse.py"


def open_sound(path: str):
    at = app_test(PAGE)
    at.query_params["dataset"] = "voices"
    login(at, "vox")
    row = list(at.dataframe[0].value["path"]).index(path)
    at.session_state["browse_table"] = {"selection": {"rows": [row], "columns": [], "cells": []}}
    return at.run()


def test_sounds_like_this_lists_the_voice_not_the_label(voices_dataset):  # noqa: F811
    earmark, owner, ids = voices_dataset
    before = open_sound("id00017/wrong.wav")
    assert not before.exception
    assert not any("Sounds like this" in shown(c.value) for c in before.caption)
    run(earmark, owner)
    at = open_sound("id00017/wrong.wav")
    assert not at.exception
    assert "Sounds like this, by voice (cosine similarity, 1 is the same voice):" in [shown(c.value) for c in at.caption]
    table = at.dataframe[-1].value
    assert sorted(table["path"][:4]) == [f"id00018/{t}.wav" for t in range(4)]  # its voice, filed under id00017
    assert list(table["similarity"]) == sorted(table["similarity"], reverse=True)
    assert sorted(table["open"][:4]) == sorted(f"/Annotate?sound={ids[f'id00018/{t}']}" for t in range(4))
    assert '"speaker_check.note": "voice differs from id00017' in at.json[0].value
    score = float(json.loads(at.json[0].value)["speaker_check.score"])
    assert [shown(w.value) for w in at.warning] == [f"voice differs from id00017's: {score:.2f}"]


def test_the_jobs_page_takes_column_names_as_text(local_earmark):
    load_demo(local_earmark.db, local_earmark.storage, max_bytes=10**8)  # a job needs sounds
    make_user(local_earmark.db, "hal")
    at = login(app_test("pages/5_Jobs.py"), "hal")
    at.selectbox(key="jobs_analyzer").select("speaker-check").run()
    assert not at.exception
    texts = {t.key: t.value for t in at.text_input if t.key.startswith("jobs_param_")}
    assert texts == {"jobs_param_speaker-check_speaker_column": "speaker_id", "jobs_param_speaker-check_session_column": ""}
    assert at.number_input(key="jobs_param_speaker-check_threshold").value == 0.0
    at.text_input(key="jobs_param_speaker-check_session_column").input("session")
    at.button(key="jobs_submit").click().run()
    with local_earmark.db.read() as session:
        [job] = JobService(session).list()
    assert (job.params["speaker_column"], job.params["session_column"], job.params["threshold"]) == ("speaker_id", "session", 0.0)
