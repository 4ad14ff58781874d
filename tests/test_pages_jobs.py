"""Jobs page: submit with checked parameters, see it, cancel it."""

from __future__ import annotations

import threading

import pytest

from core.ingest.demo import load_demo
from core.jobs.queue import JobService, work
from tests.conftest import app_test, login, make_user, shown

PAGE = "pages/5_Jobs.py"


def test_logged_out_renders_the_login_form(local_earmark):
    make_user(local_earmark.db, "hal")
    at = app_test(PAGE).run()
    assert not at.exception and [t.label for t in at.text_input] == ["Username", "Password"]


@pytest.fixture
def hal_on_jobs(local_earmark):
    """The demo loaded and hal logged in on the Jobs page."""
    load_demo(local_earmark.db, local_earmark.storage, max_bytes=10**8)
    make_user(local_earmark.db, "hal")
    return login(app_test(PAGE), "hal")


def test_submit_follow_and_cancel(local_earmark, hal_on_jobs):
    at = hal_on_jobs
    at.selectbox(key="jobs_analyzer").select("onsets").run()
    assert "Onsets and transients" in at.markdown[0].value
    at.number_input(key="jobs_param_onsets_sensitivity").set_value(0.9)
    at.text_input(key="jobs_where").input("gender=f").run()
    at.button(key="jobs_submit").click().run()
    assert not at.exception
    with local_earmark.db.read() as session:
        [job] = JobService(session).list()
    assert job.params == {"sensitivity": 0.9, "min_gap_ms": 50.0} and job.state == "queued"
    assert [shown(i.value) for i in at.info] == [f"Job {job.id} queued: onsets over 16 sounds; 0 of 16 done."]
    work(local_earmark.db, local_earmark.storage, threading.Event(), once=True)
    at.run()
    assert not at.info and [shown(s.value) for s in at.success] == [f"Job {job.id} completed: onsets over 16 sounds; 16 done, 0 failed."]
    table = at.dataframe[0].value
    assert list(table["state"]) == ["completed"] and list(table["done"]) == [16]
    assert [b.proto.label for b in at.get("download_button")] == ["Download the report (JSON)", "Download the results (CSV)"]
    at.button(key="jobs_submit").click().run()
    with local_earmark.db.read() as session:
        newest = JobService(session).list()[0].id
    at.selectbox(key="jobs_chosen").select(newest).run()
    at.button(key="jobs_cancel").click().run()
    assert any("cancelled" in shown(s.value) for s in at.success)
    with local_earmark.db.read() as session:
        assert [j.state for j in JobService(session).list()] == ["cancelled", "completed"]


def test_speech_activity_shows_its_parameters_with_their_defaults(local_earmark, hal_on_jobs):
    at = hal_on_jobs
    at.selectbox(key="jobs_analyzer").select("speech-activity").run()
    assert "Where people speak" in at.markdown[0].value
    values = {n.key: n.value for n in at.number_input if n.key.startswith("jobs_param_")}
    assert values == {"jobs_param_speech-activity_threshold": 0.5, "jobs_param_speech-activity_sensitivity": 0.7,
                      "jobs_param_speech-activity_min_speech_ms": 200.0, "jobs_param_speech-activity_min_gap_ms": 300.0,
                      "jobs_param_speech-activity_pad_ms": 30.0}
    choices = {s.key: s.value for s in at.selectbox if s.key.startswith("jobs_param_")}
    assert choices == {"jobs_param_speech-activity_engine": "model", "jobs_param_speech-activity_edges": "model",
                       "jobs_param_speech-activity_provider": "cpu"}
    at.number_input(key="jobs_param_speech-activity_min_gap_ms").set_value(500.0)
    at.selectbox(key="jobs_param_speech-activity_engine").select("pitch")
    at.button(key="jobs_submit").click().run()
    with local_earmark.db.read() as session:
        [job] = JobService(session).list()
    assert (job.analyzer, job.params["min_gap_ms"], job.params["engine"], job.total) == ("speech-activity", 500.0, "pitch", 32)
