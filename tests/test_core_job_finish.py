"""The job framework's dataset-level step (Analyzer.keep and Analyzer.finish, core/jobs/analyzers/base.py): kept
data lands with the sounds it belongs to, finish runs once per job however many workers reach the end, its fields
replace the last run's, and a failing finish fails the job with its message and writes nothing."""

from __future__ import annotations

import threading
import time
from dataclasses import replace

import pytest
from sqlalchemy import select

from core.catalogue.search import CatalogueQuery
from core.ingest.demo import load_demo
from core.jobs import analyzers
from core.jobs.analyzers.base import Analyzer, Output
from core.jobs.queue import JobService, _finish, claim, run_job, work
from core.jobs.states import JobState
from core.store.models import Job, JobItem, SoundField
from tests.conftest import make_user


class Recorder:
    """A tiny two-step analyzer: each sound's length is kept, and finish ranks the job's sounds by it."""

    def __init__(self, fail_with: str = "", stray: bool = False, pause: float = 0.0, every: int = 1) -> None:
        self.kept: list[str] = []
        self.finished = 0
        self.fail_with, self.stray, self.pause, self.every = fail_with, stray, pause, every
        self.lock = threading.Lock()

    def run(self, _storage, sound, _params) -> Output:
        return Output(data=sound.duration_seconds)

    def keep(self, session, outputs, _params) -> None:
        assert session.in_transaction()
        with self.lock:
            self.kept += [sound_id for sound_id, output in outputs if output.data is not None]

    def finish(self, session, done, _params):
        with self.lock:
            self.finished += 1
        time.sleep(self.pause)  # a slow step: another worker reaching the end meanwhile must not run it again
        ids = list(session.scalars(done.order_by(JobItem.sound_id)))
        if self.fail_with:
            raise ValueError(self.fail_with)
        for rank, sound_id in enumerate(ids):
            if rank % self.every == 0:
                yield sound_id, {"ranker.rank": str(rank)} | ({"ranker.other": "x"} if self.stray else {})

    def analyzer(self) -> Analyzer:
        return Analyzer("ranker", "1", "ranks a job's sounds", "ranker.rank", {}, runner=self.run, keep=self.keep,
                        finish=self.finish, finish_fields=("ranker.rank",))


@pytest.fixture
def demo(local_earmark, monkeypatch):
    load_demo(local_earmark.db, local_earmark.storage, max_bytes=10**8)
    return local_earmark, make_user(local_earmark.db, "hal")


def use(monkeypatch, recorder: Recorder) -> None:
    monkeypatch.setitem(analyzers.ANALYZERS, "ranker", recorder.analyzer())


def submit(earmark, user) -> str:
    with earmark.db.write() as session:
        return JobService(session).submit(user, "ranker", query=CatalogueQuery(dataset="demo")).id


def ranks(earmark) -> dict[str, str]:
    with earmark.db.read() as session:
        rows = session.execute(select(SoundField.sound_id, SoundField.value).where(SoundField.name == "ranker.rank"))
        return {sound_id: value for sound_id, value in rows}


def job(earmark, job_id) -> Job:
    with earmark.db.read() as session:
        return session.get_one(Job, job_id)


def test_two_workers_keep_each_sound_once_and_finish_once(demo, monkeypatch):
    earmark, hal = demo
    recorder = Recorder()
    use(monkeypatch, recorder)
    job_id = submit(earmark, hal)
    workers = [threading.Thread(target=work, args=(earmark.db, earmark.storage, threading.Event()), kwargs={"once": True})
               for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
    done = job(earmark, job_id)
    assert (done.state, done.done, recorder.finished) == ("completed", 32, 1)
    assert sorted(recorder.kept) == sorted(ranks(earmark)) and len(set(recorder.kept)) == 32
    assert sorted(int(r) for r in ranks(earmark).values()) == list(range(32))
    assert done.output["fields"] == 32


def test_workers_closing_a_job_at_once_run_its_finish_once(demo, monkeypatch):
    """Both workers find nothing left and close the job at the same moment; the finish is slow, so the second's
    conditional UPDATE waits for the first's transaction and then matches nothing."""
    earmark, hal = demo
    recorder = Recorder(pause=0.5)
    use(monkeypatch, recorder)
    job_id = submit(earmark, hal)
    assert claim(earmark.db, "w1") == job_id
    with earmark.db.write() as session:  # every sound done, as if workers had just finished them
        session.execute(JobItem.__table__.update().where(JobItem.job_id == job_id).values(state="done"))
        session.get_one(Job, job_id).done = 32
    start, outcomes = threading.Barrier(2), []

    def close() -> None:
        start.wait()
        outcomes.append(_finish(earmark.db, job_id, JobState.COMPLETED))

    threads = [threading.Thread(target=close) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert outcomes == [JobState.COMPLETED, JobState.COMPLETED] and recorder.finished == 1
    assert len(ranks(earmark)) == 32


def test_a_rerun_replaces_the_fields_of_the_last_finish(demo, monkeypatch):
    earmark, hal = demo
    use(monkeypatch, Recorder())
    run_job(earmark.db, earmark.storage, submit(earmark, hal), "w1")
    assert len(ranks(earmark)) == 32
    use(monkeypatch, Recorder(every=4))  # this time only every fourth sound gets a rank
    run_job(earmark.db, earmark.storage, submit(earmark, hal), "w1")
    assert sorted(int(r) for r in ranks(earmark).values()) == list(range(0, 32, 4))


def test_a_failing_finish_fails_the_job_with_its_message_and_changes_nothing(demo, monkeypatch):
    earmark, hal = demo
    use(monkeypatch, Recorder())
    run_job(earmark.db, earmark.storage, submit(earmark, hal), "w1")
    before = ranks(earmark)
    use(monkeypatch, Recorder(fail_with="no sound has a speaker"))
    job_id = submit(earmark, hal)
    assert run_job(earmark.db, earmark.storage, job_id, "w1") == JobState.FAILED
    failed = job(earmark, job_id)
    assert failed.state == "failed" and failed.finished is not None and failed.done == 32
    assert failed.output["error"] == "The ranker job's last step failed: no sound has a speaker"
    assert ranks(earmark) == before  # the step's deletion of the last run's fields was undone with it


def test_a_finish_writing_a_field_it_did_not_declare_fails_the_job_naming_it(demo, monkeypatch):
    earmark, hal = demo
    use(monkeypatch, Recorder(stray=True))
    job_id = submit(earmark, hal)
    assert run_job(earmark.db, earmark.storage, job_id, "w1") == JobState.FAILED
    assert "'ranker.other', which is not one of its fields (ranker.rank)" in job(earmark, job_id).output["error"]
    assert ranks(earmark) == {}


def test_an_analyzer_without_a_finish_closes_as_before(demo, monkeypatch):
    earmark, hal = demo
    recorder = Recorder()
    monkeypatch.setitem(analyzers.ANALYZERS, "ranker", replace(recorder.analyzer(), finish=None, finish_fields=()))
    job_id = submit(earmark, hal)
    assert run_job(earmark.db, earmark.storage, job_id, "w1") == JobState.COMPLETED
    assert (recorder.finished, len(recorder.kept), ranks(earmark)) == (0, 32, {})
