"""Correct under concurrency by construction, on SQLite and on PostgreSQL (run the suite with
EARMARK_TEST_DATABASE_URL): concurrent saves of one version, concurrent creates, several worker processes on one
job, concurrent get-or-create of accounts and tags, concurrent reviews of one suggestion.

On SQLite the write lock already serialises these; the same tests on PostgreSQL (READ COMMITTED, no such lock)
are the ones that show the statements themselves are race-free.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import func, select

from core.accounts.users import UserService
from core.annotations.service import AnnotationService
from core.catalogue.search import CatalogueQuery
from core.catalogue.sounds import SoundService
from core.catalogue.vocabulary import Vocabulary
from core.errors import Conflict, NotFound
from core.ingest.demo import load_demo
from core.jobs.queue import JobService, work
from core.store.models import Annotation, Job, JobItem, Sound, StoredFile, TagDefinition, User
from tests.conftest import ROOT, make_user


def at_once(count: int, action: Callable[[int], Any]) -> list[Any]:
    """Run ``action(i)`` for i in range(count) in as many threads, released together; each result or its exception."""
    gate = threading.Barrier(count)

    def run(i: int) -> Any:
        gate.wait(10)
        try:
            return action(i)
        except Exception as exc:  # noqa: BLE001 - the outcome is what is compared
            return exc

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(run, range(count)))


@pytest.fixture
def demo(local_earmark):
    load_demo(local_earmark.db, local_earmark.storage, max_bytes=10**8)
    hal = make_user(local_earmark.db, "hal")
    with local_earmark.db.read() as session:
        sound = SoundService(session, local_earmark.storage).list().items[0]
    return local_earmark, hal, sound


def test_concurrent_saves_of_one_version_let_exactly_one_through(demo):
    earmark, hal, sound = demo
    for round_ in range(5):
        with earmark.db.write() as session:
            annotation = AnnotationService(session).create(hal, sound.id, start_seconds=0.1, end_seconds=0.5, tags=["kick"])

        def save(i: int, annotation_id: str = annotation.id) -> int:
            with earmark.db.write() as session:
                return AnnotationService(session).update(hal, annotation_id, 1, text=f"writer {i}", tags=[f"t{i}"]).version

        outcomes = at_once(8, save)
        winners = [o for o in outcomes if not isinstance(o, Exception)]
        assert winners == [2], outcomes
        assert all(isinstance(o, Conflict) and "changed by hal" in str(o) for o in outcomes if isinstance(o, Exception)), outcomes
        with earmark.db.read() as session:
            saved = AnnotationService(session).get(annotation.id)
            writer = int(saved.text.split()[-1])
            assert (saved.version, saved.tag_names, saved.updated_by) == (2, [f"t{writer}"], hal.id), round_


def test_concurrent_creates_and_deletes_keep_the_count_exact(demo):
    earmark, hal, sound = demo

    def create(i: int) -> str:
        with earmark.db.write() as session:
            return AnnotationService(session).create(hal, sound.id, start_seconds=i * 0.01, duration_seconds=0.01, tags=["x"]).id

    made = at_once(50, create)
    assert not [m for m in made if isinstance(m, Exception)], made

    def delete(i: int) -> None:
        with earmark.db.write() as session:
            AnnotationService(session).delete(hal, made[i % 10])  # ten annotations, each deleted by two people

    outcomes = at_once(20, delete)  # the second of a pair finds it gone (NotFound) or loses the race to it (Conflict)
    assert outcomes.count(None) == 10 and sum(isinstance(o, (Conflict, NotFound)) for o in outcomes) == 10, outcomes
    with earmark.db.read() as session:
        stored = session.scalar(select(func.count()).select_from(Annotation).where(Annotation.sound_id == sound.id))
        assert stored == 40 and session.get(Sound, sound.id).annotation_count == 40


def test_one_suggestion_reviewed_by_two_people_at_once_is_taken_once(demo):
    earmark, hal, sound = demo
    ann = make_user(earmark.db, "ann")
    with earmark.db.write() as session:
        JobService(session).submit(hal, "onsets", sound_ids=[sound.id])
    work(earmark.db, earmark.storage, threading.Event(), once=True)
    with earmark.db.read() as session:
        before = session.get(Sound, sound.id).annotation_count
        suggestion = next(a for a in AnnotationService(session).of_sound(sound.id) if a.source)
    people = [hal, ann]

    def accept(i: int) -> str:
        with earmark.db.write() as session:
            return AnnotationService(session).accept(people[i], suggestion.id, tags=["kick"]).id

    outcomes = at_once(2, accept)
    assert sum(isinstance(o, str) for o in outcomes) == 1 and sum(isinstance(o, (Conflict, NotFound)) for o in outcomes) == 1, outcomes
    with earmark.db.read() as session:
        after = AnnotationService(session).of_sound(sound.id)
        assert len(after) == before == session.get(Sound, sound.id).annotation_count


def test_concurrent_get_or_create_makes_one_account_and_one_tag(demo):
    earmark, hal, _ = demo

    def bot(i: int) -> str:
        with earmark.db.write() as session:
            return UserService(session).system_user("bot-racing", "featurebot").id

    ids = at_once(8, bot)
    assert len(set(ids)) == 1 and isinstance(ids[0], str), ids

    def add_tag(i: int) -> str:
        with earmark.db.write() as session:
            return Vocabulary(session).add(hal, "demo", "bird").tag

    added = at_once(6, add_tag)
    assert added.count("bird") == 1 and sum(isinstance(a, Conflict) for a in added) == 5, added

    def colour(i: int) -> None:
        with earmark.db.write() as session:
            Vocabulary(session).set_color(hal, "demo", "wind", f"#00000{i}")

    assert at_once(6, colour) == [None] * 6
    with earmark.db.read() as session:
        assert session.scalar(select(func.count()).select_from(User).where(User.user_name == "bot-racing")) == 1
        assert session.scalar(select(func.count()).select_from(TagDefinition).where(TagDefinition.tag == "wind")) == 1


def suggestions(earmark) -> Counter:
    with earmark.db.read() as session:
        rows = session.execute(select(Annotation.sound_id, Annotation.start_seconds, Annotation.duration_seconds)
                               .where(Annotation.source.is_not(None))).all()
    return Counter((s, round(a, 6), round(d, 6)) for s, a, d in rows)


@pytest.mark.parametrize("processes", [2, 4])
def test_worker_processes_share_jobs_and_do_every_sound_once(demo, processes):
    earmark, hal, _ = demo
    query = CatalogueQuery(dataset="demo")
    with earmark.db.write() as session:
        JobService(session).submit(hal, "onsets", query=query)
    work(earmark.db, earmark.storage, threading.Event(), once=True)  # one worker: the answer to compare with
    alone = suggestions(earmark)
    env = {**os.environ, "EARMARK_DATA_DIR": str(earmark.settings.data_dir), "EARMARK_DATABASE_URL": earmark.settings.database_url,
           "PYTHONPATH": str(ROOT)}
    workers = [subprocess.Popen([sys.executable, "-m", "core", "worker"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True) for _ in range(processes)]
    try:
        for round_ in range(3):
            with earmark.db.write() as session:  # the same analyzer again, slower settings so the work is shared
                job_id = JobService(session).submit(hal, "onsets", query=query).id
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                with earmark.db.read() as session:
                    job = session.get(Job, job_id)
                    if job.state not in ("queued", "running"):
                        break
                time.sleep(0.2)
            with earmark.db.read() as session:
                job = session.get(Job, job_id)
                items = session.execute(select(JobItem.state, func.count()).where(JobItem.job_id == job_id).group_by(JobItem.state)).all()
                assert (job.state, job.done, job.failed, dict(items)) == ("completed", 32, 0, {"done": 32}), round_
                assert job.output["annotations"] == sum(alone.values()), round_
                per_sound = session.execute(select(Sound.annotation_count, func.count(Annotation.id)).outerjoin(Annotation)
                                            .group_by(Sound.id, Sound.annotation_count)).all()
                assert all(kept == counted for kept, counted in per_sound), round_
                assert session.scalar(select(func.count(StoredFile.key.distinct()))) == session.scalar(select(func.count()).select_from(StoredFile))
            assert suggestions(earmark) == alone, round_  # replaced, never doubled or lost
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        errors = [worker.communicate(timeout=30)[1] for worker in workers]
    assert all(w.returncode == 0 for w in workers), errors
