"""Analyzers on signals with known answers; jobs: states, cancel, failures, concurrent workers, crash and resume."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import soundfile as sf
from sqlalchemy import func, select

from core.accounts.users import UserService
from core.catalogue.sounds import SoundService
from core.errors import Conflict, PermissionDenied, ValidationError
from core.ingest.demo import load_demo
from core.ingest.pipeline import UploadOptions, ingest_audio
from core.jobs.queue import STALE_AFTER, JobService, analyzers, claim, run_job, work
from core.store.models import Annotation, Job, JobItem, Sound, SoundField, StoredFile, as_utc, utcnow
from tests.conftest import ROOT, make_user

RATE = 16_000


def stored(earmark, name, samples, rate=RATE):
    with earmark.db.read() as session:
        owners = UserService(session).list().items
    user = next((u for u in owners if u.user_name == "vox"), None) or make_user(earmark.db, "vox", "dataset")
    buffer = io.BytesIO()
    sf.write(buffer, samples, rate, format="WAV", subtype="FLOAT")
    result = ingest_audio(earmark.db, earmark.storage, user, name, io.BytesIO(buffer.getvalue()), UploadOptions(dataset="lab", max_bytes=10**8))
    with earmark.db.read() as session:
        return SoundService(session, earmark.storage).get(result.sound_id)


def test_audio_stats_know_a_half_silent_sine_with_offset(local_earmark):
    t = np.arange(4 * RATE) / RATE
    signal = np.where(t < 2, 0.5 * np.sin(2 * np.pi * 440 * t), 0.0) + 0.1
    fields = analyzers.get("audio-stats").run(local_earmark.storage, stored(local_earmark, "s.wav", signal),
                                              analyzers.get("audio-stats").check({})).fields
    assert float(fields["audio_stats.peak_dbfs"]) == pytest.approx(20 * np.log10(0.6), abs=0.05)
    assert float(fields["audio_stats.dc_offset"]) == pytest.approx(0.1, abs=1e-3)
    assert float(fields["audio_stats.clipping_ratio"]) == 0
    quiet = np.where(t < 2, 0.5 * np.sin(2 * np.pi * 440 * t), 0.0)
    fields = analyzers.get("audio-stats").run(local_earmark.storage, stored(local_earmark, "q.wav", quiet), analyzers.get("audio-stats").check({})).fields
    assert float(fields["audio_stats.silence_ratio"]) == pytest.approx(0.5, abs=0.02)
    assert float(fields["audio_stats.rms_dbfs"]) == pytest.approx(20 * np.log10(0.5 / np.sqrt(2) / np.sqrt(2)), abs=0.1)


def test_onsets_find_the_demo_drums(local_earmark):
    load_demo(local_earmark.db, local_earmark.storage, max_bytes=10**8)
    analyzer = analyzers.get("onsets")
    hits = truth_total = found_total = 0
    with local_earmark.db.read() as session:
        sounds = [s for s in SoundService(session, local_earmark.storage).list().items if s.metadata_dict["pattern"] != "tones"]
    for sound in sounds:
        truth = sorted({float(t) for t in sound.metadata_dict["onsets"].split(";")})
        found = [seg.start for seg in analyzer.run(local_earmark.storage, sound, analyzer.check({})).segments]
        hits += sum(1 for t in truth if any(abs(t - f) <= 0.03 for f in found))
        truth_total += len(truth)
        found_total += len(found)
    recall, precision = hits / truth_total, hits / max(found_total, 1)
    assert len(sounds) == 24 and recall >= 0.95 and precision >= 0.95, (recall, precision)  # within 30 ms


def test_spectrogram_is_stored_and_finds_the_tone(local_earmark):
    t = np.arange(2 * RATE) / RATE
    sound = stored(local_earmark, "tone.wav", 0.5 * np.sin(2 * np.pi * 1000 * t))
    analyzer = analyzers.get("spectrogram")
    output = analyzer.run(local_earmark.storage, sound, analyzer.check({"n_fft": 512, "hop": 256}))
    [(name, content)] = output.objects.items()
    array = np.load(io.BytesIO(content))
    assert array.shape[0] == 257 and array.dtype == np.float16
    assert np.fft.rfftfreq(512, 1 / RATE)[array.astype(np.float32).mean(axis=1).argmax()] == pytest.approx(1000, abs=32)
    # about the whole sound: metadata fields spectrogram.*, no region to review
    assert not output.segments and output.fields == {
        "spectrogram.data_url": name, "spectrogram.n_fft": "512", "spectrogram.hop": "256", "spectrogram.window": "hann",
        "spectrogram.bins": "257", "spectrogram.frames": str(array.shape[1]), "spectrogram.frame_seconds": "0.016000"}


def test_spectrogram_job_writes_metadata_linking_the_array_and_no_suggestion(local_earmark):
    t = np.arange(RATE) / RATE
    sound = stored(local_earmark, "tone.wav", 0.5 * np.sin(2 * np.pi * 1000 * t))
    hal = make_user(local_earmark.db, "hal")
    with local_earmark.db.write() as session:
        job_id = JobService(session).submit(hal, "spectrogram", sound_ids=[sound.id]).id
    claim(local_earmark.db, "w")
    assert run_job(local_earmark.db, local_earmark.storage, job_id, "w") == "completed"
    assert bot_annotations(local_earmark) == 0
    with local_earmark.db.read() as session:
        fields = SoundService(session, local_earmark.storage).get(sound.id).metadata_dict
        assert session.get(Job, job_id).output["fields"] == 7
    key = "derived/" + sound.id + "/spectrogram-512-128-hann.npy"
    assert fields["spectrogram.data_url"] == f"/api/v1/data/files/{key}" and fields["spectrogram.n_fft"] == "512"
    assert np.load(io.BytesIO(local_earmark.storage.read_bytes(key))).shape == (257, int(fields["spectrogram.frames"]))


@pytest.mark.parametrize("params, field", [({"sensitivity": 2}, "sensitivity"), ({"speed": 1}, "params"),
                                           ({"window": "box"}, "window"), ({"n_fft": "big"}, "n_fft")])
def test_parameters_are_checked_against_their_ranges(params, field):
    name = "spectrogram" if field in ("window", "n_fft") else "onsets"
    with pytest.raises(ValidationError) as err:
        analyzers.get(name).check(params)
    assert err.value.field == field


@pytest.fixture
def demo_jobs(local_earmark):
    load_demo(local_earmark.db, local_earmark.storage, max_bytes=10**8)
    hal = make_user(local_earmark.db, "hal")
    return local_earmark, hal


def submit(earmark, user, analyzer="onsets", **kw):
    from core.catalogue.search import CatalogueQuery

    with earmark.db.write() as session:
        return JobService(session).submit(user, analyzer, query=CatalogueQuery(dataset="demo"), **kw).id


def bot_annotations(earmark, sound_id=None):
    with earmark.db.read() as session:
        query = select(func.count()).select_from(Annotation).where(Annotation.source.is_not(None))
        if sound_id:
            query = query.where(Annotation.sound_id == sound_id)
        return session.scalar(query)


def test_a_job_runs_to_completion_and_a_rerun_replaces_its_output(demo_jobs):
    earmark, hal = demo_jobs
    job_id = submit(earmark, hal)
    assert claim(earmark.db, "w1") == job_id == claim(earmark.db, "w2")  # several workers may share a job
    assert run_job(earmark.db, earmark.storage, job_id, "w1") == "completed"
    assert run_job(earmark.db, earmark.storage, job_id, "w2") == "completed" and claim(earmark.db, "w3") is None
    first = bot_annotations(earmark)
    with earmark.db.read() as session:
        job = session.get(Job, job_id)
        assert (job.state, job.done, job.total, job.output["annotations"]) == ("completed", 32, 32, first)
        counted = session.scalar(select(func.sum(Sound.annotation_count)))
    again = submit(earmark, hal)
    work(earmark.db, earmark.storage, threading.Event(), once=True)
    assert bot_annotations(earmark) == first  # replaced, not doubled
    with earmark.db.read() as session:
        assert session.scalar(select(func.sum(Sound.annotation_count))) == counted
        assert session.get(Job, again).state == "completed"
    submit(earmark, hal, params={"sensitivity": 0.5})  # other parameters: another output, kept beside
    work(earmark.db, earmark.storage, threading.Event(), once=True)
    assert bot_annotations(earmark) > first


def test_cancel_failures_and_permissions(demo_jobs):
    earmark, hal = demo_jobs
    queued = submit(earmark, hal)
    with earmark.db.write() as session:
        mario = UserService(session).create(UserService(session).by_name("admin"), "mario", "mario-password", "human")
    with earmark.db.write() as session, pytest.raises(PermissionDenied) as refused:
        JobService(session).cancel(mario, queued)
    assert str(refused.value) == "You may cancel this job only if it is your own."
    with earmark.db.write() as session:
        assert JobService(session).cancel(hal, queued).state == "cancelled"
    with earmark.db.write() as session, pytest.raises(Conflict, match="already cancelled"):
        JobService(session).cancel(hal, queued)
    assert claim(earmark.db, "w") is None
    running = submit(earmark, hal)
    claim(earmark.db, "w")
    with earmark.db.write() as session:
        JobService(session).cancel(hal, running)
    assert run_job(earmark.db, earmark.storage, running, "w") == "cancelled"
    with earmark.db.write() as session:
        vox = UserService(session).by_name("demo")
        reference = SoundService(session, earmark.storage).create_reference(vox, title="elsewhere", duration_seconds=3)
        failing = JobService(session).submit(hal, "onsets", sound_ids=[reference.id]).id
    claim(earmark.db, "w")
    assert run_job(earmark.db, earmark.storage, failing, "w") == "failed"
    with earmark.db.read() as session:
        assert "no stored audio" in session.get(Job, failing).output["errors"][0]["error"]


def test_two_workers_share_the_queue_without_doing_anything_twice(demo_jobs):
    earmark, hal = demo_jobs
    jobs = [submit(earmark, hal, analyzer=a) for a in ("onsets", "audio-stats", "spectrogram")]
    stop = threading.Event()
    workers = [threading.Thread(target=work, args=(earmark.db, earmark.storage, stop), kwargs={"once": True}) for _ in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(120)
    with earmark.db.read() as session:
        assert [session.get(Job, j).state for j in jobs] == ["completed"] * 3
        assert session.scalar(select(func.count()).select_from(StoredFile).where(StoredFile.key.contains("/spectrogram-"))) == 32
        written = {j: session.get(Job, j).output["annotations"] for j in jobs}
        linked = session.scalar(select(func.count()).select_from(SoundField).where(SoundField.name == "spectrogram.data_url"))
    assert written[jobs[1]] == 0 and written[jobs[2]] == 0  # audio-stats and spectrogram write fields
    assert linked == 32  # one spectrogram per sound
    assert bot_annotations(earmark) == written[jobs[0]]  # every output written exactly once


def test_a_killed_worker_leaves_a_job_that_resumes_without_duplicates(demo_jobs):
    earmark, hal = demo_jobs
    job_id = submit(earmark, hal, analyzer="spectrogram", params={"n_fft": 8192, "hop": 64})  # slow enough to kill midway
    env = {"EARMARK_DATA_DIR": str(earmark.settings.data_dir), "EARMARK_DATABASE_URL": earmark.settings.database_url,
           "PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    worker = subprocess.Popen([sys.executable, "-m", "core", "worker"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # kill it in the middle of a sound (a sound takes ~0.3 s, moving on ~1 ms)
            with earmark.db.read() as session:
                done = session.get(Job, job_id).done
                working = session.scalar(select(func.count()).select_from(JobItem).where(
                    JobItem.job_id == job_id, JobItem.state == "working"))
            if done >= 2 and working:
                break
            time.sleep(0.02)  # polled: the worker is another process, seen only through the database
        else:
            pytest.fail("the worker never got two sounds done and a third under way")
        worker.kill()
        worker.wait(10)
    finally:
        if worker.poll() is None:
            worker.kill()
    with earmark.db.read() as session:
        job = session.get(Job, job_id)
        assert job.state == "running" and 2 <= job.done < 32, (job.state, job.done)
    assert claim(earmark.db, "rescuer") == job_id  # the pending sounds are anyone's
    assert run_job(earmark.db, earmark.storage, job_id, "rescuer") == "running"  # the killed worker's sound is still "working"
    assert claim(earmark.db, "rescuer") is None  # ...and nobody else's until its worker has been silent too long
    assert claim(earmark.db, "rescuer", now=utcnow() + STALE_AFTER * 2) == job_id  # then it is taken back
    assert run_job(earmark.db, earmark.storage, job_id, "rescuer") == "completed"
    with earmark.db.read() as session:
        job = session.get(Job, job_id)
        assert (job.done, job.failed) == (32, 0)
        per_sound = session.execute(select(SoundField.sound_id, func.count()).where(SoundField.name.startswith("spectrogram."))
                                    .group_by(SoundField.sound_id)).all()
        assert len(per_sound) == 32 and {n for _, n in per_sound} == {7}
        assert session.scalar(select(func.count()).select_from(StoredFile).where(StoredFile.key.contains("/spectrogram-"))) == 32


def test_the_app_worker_pool_runs_queued_jobs(demo_jobs):
    from core.jobs.workers import WorkerPool

    earmark, hal = demo_jobs
    job_id = submit(earmark, hal, analyzer="audio-stats")
    pool = WorkerPool(2)
    pool.start()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with earmark.db.read() as session:
                if session.get(Job, job_id).state == "completed":
                    break
            time.sleep(0.1)
    finally:
        pool.shutdown()
    with earmark.db.read() as session:
        assert session.get(Job, job_id).state == "completed"
    assert all(not t.is_alive() for t in pool.threads)


def onsets_suggested(earmark, user) -> Sound:
    """The first demo sound, with onsets suggested on it by a finished job."""
    with earmark.db.read() as session:
        sound = SoundService(session, earmark.storage).list().items[0]
    with earmark.db.write() as session:
        JobService(session).submit(user, "onsets", sound_ids=[sound.id])
    work(earmark.db, earmark.storage, threading.Event(), once=True)
    return sound


def test_suggestions_are_accepted_or_rejected_by_any_annotator(demo_jobs):
    from core.annotations.service import AnnotationService

    earmark, hal = demo_jobs
    sound = onsets_suggested(earmark, hal)
    with earmark.db.write() as session:
        service = AnnotationService(session)
        first, second = service.of_sound(sound.id)[:2]
        mine = service.accept(hal, first.id, tags=["kick"])
        assert (mine.created_by, mine.source, mine.tag_names, mine.start_seconds) == (hal.id, None, ["kick"], first.start_seconds)
        service.reject(hal, second.id)
        with pytest.raises(Conflict, match="Only a machine suggestion"):
            service.reject(hal, mine.id)
    with earmark.db.read() as session:
        remaining = AnnotationService(session).of_sound(sound.id)
        assert first.id not in {a.id for a in remaining} and second.id not in {a.id for a in remaining}
        assert session.get(Sound, sound.id).annotation_count == len(remaining)
    with earmark.db.write() as session:  # the same analyzer again: what people decided on is not suggested again
        JobService(session).submit(hal, "onsets", sound_ids=[sound.id])
    work(earmark.db, earmark.storage, threading.Event(), once=True)
    with earmark.db.read() as session:
        again = AnnotationService(session).of_sound(sound.id)
        assert {a.id for a in again if a.source} and len(again) == len(remaining)
        assert (first.start_seconds, first.duration_seconds) not in {(a.start_seconds, a.duration_seconds) for a in again if a.source}
        assert (second.start_seconds, second.duration_seconds) not in {(a.start_seconds, a.duration_seconds) for a in again}


def test_workers_share_one_job_sound_by_sound(demo_jobs):
    earmark, hal = demo_jobs
    job_id = submit(earmark, hal, analyzer="spectrogram", params={"n_fft": 2048, "hop": 64})

    def one(name: str) -> None:
        while claim(earmark.db, name) == job_id:
            if run_job(earmark.db, earmark.storage, job_id, name) in ("completed", "failed", "cancelled"):
                break

    threads = [threading.Thread(target=one, args=(f"w{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    with earmark.db.read() as session:
        from core.store.models import JobItem

        items = session.execute(select(JobItem.worker, func.count()).where(JobItem.job_id == job_id, JobItem.state == "done")
                                .group_by(JobItem.worker)).all()
        assert session.get(Job, job_id).state == "completed" and sum(n for _, n in items) == 32
        assert len(items) == 2  # both workers did part of the one job
        assert session.scalar(select(func.count()).select_from(SoundField).where(SoundField.name == "spectrogram.data_url")) == 32
    assert bot_annotations(earmark) == 0


def test_submitting_unknown_sounds_names_them(demo_jobs):
    from core.errors import NotFound

    earmark, hal = demo_jobs
    with earmark.db.write() as session, pytest.raises(NotFound, match=r"No sound with id 'nope' \(and 1 more\)\."):
        JobService(session).submit(hal, "onsets", sound_ids=["nope", "nada"])


def test_quick_analyzers_claim_batches_and_slow_ones_one_sound_at_a_time():
    from core.jobs.queue import MAX_BATCH, batch_size

    assert batch_size(0.002, 1) == MAX_BATCH
    assert batch_size(2.0, 1) == 1
    assert batch_size(0.5, 4) == 4  # 125 ms a sound: four make BATCH_SECONDS
    assert batch_size(0.0, 3) == MAX_BATCH


def test_a_worker_writes_nothing_for_sounds_taken_back_from_it(demo_jobs, monkeypatch):
    """A worker that was silent too long (its sounds re-claimed and done by another) must not count them twice."""
    import core.jobs.queue as jobs

    earmark, hal = demo_jobs
    job_id = submit(earmark, hal)
    slow_started = threading.Event()
    release = threading.Event()
    real = jobs._analyze

    def slow(*args):
        slow_started.set()
        release.wait(30)
        return real(*args)

    monkeypatch.setattr(jobs, "MAX_BATCH", 1)
    monkeypatch.setattr(jobs, "_kept_claimed", lambda *a: contextlib.nullcontext())  # a worker that stopped refreshing
    monkeypatch.setattr(jobs, "_analyze", slow)
    stuck = threading.Thread(target=run_job, args=(earmark.db, earmark.storage, job_id, "stuck"))
    stuck.start()
    assert slow_started.wait(30)
    monkeypatch.setattr(jobs, "_analyze", real)
    assert claim(earmark.db, "rescuer", now=utcnow() + STALE_AFTER * 2) == job_id  # takes "stuck"'s sound back
    assert run_job(earmark.db, earmark.storage, job_id, "rescuer") == "completed"
    release.set()
    stuck.join(30)
    with earmark.db.read() as session:
        job = session.get(Job, job_id)
        assert (job.state, job.done, job.failed) == ("completed", 32, 0)
        assert session.scalar(select(func.count(func.distinct(Annotation.sound_id))).where(Annotation.source.is_not(None))) == 32


def test_a_live_worker_keeps_its_claim_on_a_slow_sound(demo_jobs, monkeypatch):
    import core.jobs.queue as jobs

    earmark, hal = demo_jobs
    job_id = submit(earmark, hal)
    monkeypatch.setattr(jobs, "STALE_AFTER", dt.timedelta(seconds=0.6))
    monkeypatch.setattr(jobs, "MAX_BATCH", 1)
    started, release = threading.Event(), threading.Event()
    real = jobs._analyze

    def slow(*args):
        started.set()
        release.wait(30)
        return real(*args)

    monkeypatch.setattr(jobs, "_analyze", slow)
    worker = threading.Thread(target=run_job, args=(earmark.db, earmark.storage, job_id, "slow"))
    worker.start()
    assert started.wait(30)

    def claimed_at() -> dt.datetime:
        with earmark.db.read() as session:
            return as_utc(session.scalars(select(JobItem.claimed_at).where(JobItem.job_id == job_id, JobItem.state == "working")).one())

    # Polled with a deadline: the refresh (every STALE_AFTER / 3) has moved the claim more than half of STALE_AFTER
    # past the first one. A claim at `now`, half of STALE_AFTER after the refreshed time, would take the first claim
    # back and must leave the refreshed one alone: the clock is the test's, not a race under SQLite's write lock.
    first, deadline = claimed_at(), time.monotonic() + 30
    while (refreshed := claimed_at()) <= first + jobs.STALE_AFTER / 2:
        assert time.monotonic() < deadline, "the claim was never refreshed"
        time.sleep(0.05)
    now = refreshed + jobs.STALE_AFTER / 2
    assert first < now - jobs.STALE_AFTER  # without the refresh, this claim would take the sound back
    with earmark.db.read() as session:
        working = session.scalars(select(JobItem.worker).where(JobItem.job_id == job_id, JobItem.state == "working")).all()
    claim(earmark.db, "other", now=now)
    with earmark.db.read() as session:
        still = session.scalars(select(JobItem.worker).where(JobItem.job_id == job_id, JobItem.state == "working")).all()
    release.set()
    monkeypatch.setattr(jobs, "_analyze", real)
    worker.join(60)
    assert working == ["slow"] and still == ["slow"]


def test_a_person_who_reviewed_suggestions_can_still_be_removed(demo_jobs):
    from core.annotations.service import AnnotationService
    from core.store.models import ReviewedSuggestion

    earmark, hal = demo_jobs
    sound = onsets_suggested(earmark, hal)
    critic = make_user(earmark.db, "critic")
    with earmark.db.write() as session:
        AnnotationService(session).reject(critic, AnnotationService(session).of_sound(sound.id)[0].id)
    with earmark.db.write() as session:
        users = UserService(session)
        users.delete(users.by_name("admin"), critic.id)
    with earmark.db.read() as session:
        review = session.scalars(select(ReviewedSuggestion)).one()
        assert (review.verdict, review.reviewed_by) == ("rejected", None)


def test_job_results_list_what_the_job_wrote_and_what_is_left_of_it(demo_jobs):
    import csv as csvlib
    import io as iolib

    from core.annotations.service import AnnotationService
    from core.jobs import results as job_results

    earmark, hal = demo_jobs
    sound = onsets_suggested(earmark, hal)
    with earmark.db.read() as session:
        job = JobService(session).list()[0]
        [result] = list(job_results.sounds(session, job))
    assert (result["sound_id"], result["path"], result["fields"]) == (sound.id, sound.path, {})
    assert result["annotations"] and all(a["tags"] == ["onset"] for a in result["annotations"])
    with earmark.db.write() as session:
        AnnotationService(session).reject(hal, result["annotations"][0]["id"])
    stats_job = submit(earmark, hal, analyzer="audio-stats")
    work(earmark.db, earmark.storage, threading.Event(), once=True)
    with earmark.db.read() as session:
        [again] = list(job_results.sounds(session, job))
        rows = list(csvlib.DictReader(iolib.StringIO(job_results.as_csv(session, session.get(Job, stats_job)))))
    assert len(again["annotations"]) == len(result["annotations"]) - 1  # what is there now
    assert len(rows) == 32 and {r["start_seconds"] for r in rows} == {""}
    assert all(float(r["audio_stats.peak_dbfs"]) <= 0 for r in rows) and "audio_stats.silence_ratio" in rows[0]


@pytest.mark.parametrize("name", ["audio-stats", "speech-activity", "onsets", "spectrogram"])
def test_every_analyzer_names_a_sound_without_audio(local_earmark, name):
    sound = Sound(path="gone.wav", dataset="lab", sample_rate=None, duration_seconds=1.0, channels=1)
    analyzer = analyzers.get(name)
    with pytest.raises(ValidationError, match="gone.wav has no stored audio to analyze."):
        analyzer.run(local_earmark.storage, sound, analyzer.check({}))


def test_a_claim_and_its_batch_cost_the_same_late_in_a_big_job_as_early(local_earmark):
    """Job items have no index by state: a claim that looked for pending items from the job's first item, or a
    batch that recounted the job's done items, read every item done so far, and a job of a million sounds slowed
    to a few claims a second as it went on (bench/scale.py). Measured in SQLite's virtual machine steps: claiming
    16 items after 5,800 done and recording them costs what it does after 100."""
    from sqlalchemy import event, insert, update

    import core.jobs.queue as jobs
    from core.jobs.analyzers import Output

    earmark = local_earmark
    if not earmark.db.is_sqlite:
        pytest.skip("counts SQLite's virtual machine steps")
    bot = make_user(earmark.db, "hal")
    with earmark.db.write() as session:
        job = Job(analyzer="audio-stats", version="1", params={}, total=6_000, submitted_by=bot.id,
                  output={"annotations": 0, "objects": 0, "fields": 0, "errors": []})
        session.add(job)
        session.flush()
        job_id = job.id
        session.execute(insert(JobItem), [{"job_id": job_id, "sound_id": f"s{i:05d}", "state": "pending"} for i in range(6_000)])
    steps = [0]

    def count(*_):
        steps[0] += 1

    def watch(dbapi_connection, *_):
        dbapi_connection.set_progress_handler(count, 10)

    def batch_after(done: int) -> tuple[int, list[str]]:
        with earmark.db.write() as session:  # as if workers had done the first ``done`` items
            session.execute(update(JobItem).where(JobItem.job_id == job_id, JobItem.sound_id < f"s{done:05d}").values(state="done"))
        steps[0] = 0
        taken, _ = jobs._next_items(earmark.db, job_id, "w", 16, after=f"s{done - 1:05d}")
        jobs._store(earmark.db, earmark.storage, job_id, [jobs._Result(s, Output()) for s in taken], bot,
                    (jobs.analyzers.get("audio-stats"), {}), "w")
        return steps[0], taken

    event.listen(earmark.db.engine, "checkout", watch)
    try:
        early, first = batch_after(100)
        late, last = batch_after(5_800)
    finally:
        event.remove(earmark.db.engine, "checkout", watch)
    assert first == [f"s{i:05d}" for i in range(100, 116)] and last == [f"s{i:05d}" for i in range(5_800, 5_816)]
    assert late < 2 * early, (early, late)
    with earmark.db.read() as session:
        assert session.get(Job, job_id).done == 32  # what the two batches did, not a recount of the items


def test_a_claim_that_finds_nothing_while_another_worker_holds_the_last_items_keeps_the_job_running(local_earmark):
    """On PostgreSQL a claim skips items another worker has locked (SKIP LOCKED) but not yet committed as working:
    they are still pending to everyone else. Counting only working items, the second worker found nothing left
    and ended the job under the first. SQLite takes one writer at a time, so the case is PostgreSQL's."""
    from sqlalchemy import insert

    import core.jobs.queue as jobs

    earmark = local_earmark
    if earmark.db.is_sqlite:
        pytest.skip("SQLite lets one writer at a time: no claim can pass over another's locked items")
    bot = make_user(earmark.db, "hal")
    with earmark.db.write() as session:
        job = Job(analyzer="audio-stats", version="1", params={}, total=2, submitted_by=bot.id, state="running",
                  output={"annotations": 0, "objects": 0, "fields": 0, "errors": []})
        session.add(job)
        session.flush()
        job_id = job.id
        session.execute(insert(JobItem), [{"job_id": job_id, "sound_id": f"s{i}", "state": "pending"} for i in range(2)])
    with earmark.db.write() as first:  # the first worker's claim, between its SELECT ... FOR UPDATE and its commit
        held = first.scalars(select(JobItem.sound_id).where(JobItem.job_id == job_id).with_for_update()).all()
        assert held == ["s0", "s1"]
        taken, state = jobs._next_items(earmark.db, job_id, "second", 16)
    assert taken == [] and state == jobs.JobState.RUNNING
    taken, state = jobs._next_items(earmark.db, job_id, "second", 16)  # once the lock is gone, the items are there
    assert sorted(taken) == ["s0", "s1"] and state is None
