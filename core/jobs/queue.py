"""Jobs: an analyzer run over a list of sounds, tracked in the database and run by workers.

A job's sounds are its items. Workers claim a few items at a time (about BATCH_SECONDS of work, one at a time
for slow analyzers) with ``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL (SQLite has no row locks; there the
write transaction's ``BEGIN IMMEDIATE`` serialises claims) and an ``UPDATE`` that only takes items still
pending, so several workers on several machines share a job and never take the same sound. A job's progress grows
by the items each batch really changed (its conditional UPDATEs' rows), under a lock on the job's row, never from
a value read earlier; a batch reads only its own items, and a worker's claim starts where its last one ended
(bench/scale.py: a job of a million sounds). A batch's outputs are written in the same transaction that marks its items done, replacing
what the same analyzer with the same parameters wrote before: a worker killed mid-batch leaves its items
"working"; once they have been silent for STALE_AFTER they go back to pending and another worker does them, so
the job completes without doubling anything. An analyzer's dataset-level step (``finish``, core/jobs/analyzers/base.py)
runs once, in the transaction that closes the job (``_finish``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import String, case, delete, exists, func, insert, literal, select, text, update
from sqlalchemy.orm import Session

from core.accounts.permissions import Action, require
from core.accounts.users import UserService
from core.annotations.service import AnnotationService
from core.catalogue.files import live
from core.catalogue.search import CatalogueQuery, narrowed, text_index
from core.errors import Conflict, EarmarkError, NotFound
from core.jobs import analyzers
from core.jobs.states import ACTIVE, FINISHED, ItemState, JobState
from core.store import journal
from core.store.db import Database, batched, get_or_not_found, insert_for, on_rollback, rowcount
from core.store.models import Job, JobItem, Sound, SoundField, StoredFile, User, Worker, utcnow
from core.store.storage import Storage

log = logging.getLogger(__name__)
STALE_AFTER = dt.timedelta(seconds=60)  # a running job whose worker has been silent this long is taken back
MAX_SOUNDS = 1_000_000
BATCH_SECONDS = 0.5  # a worker claims about this much work at once...
MAX_BATCH = 16  # ...but never more sounds than this
ANALYZE_AFTER = 10_000  # items added by one submit that make PostgreSQL's statistics of job_items stale


ALIVE_WITHIN = dt.timedelta(seconds=30)  # a worker seen this recently is counted as running
SAY_ALIVE_EVERY = 5.0  # seconds between an idle worker's "still here" (one small write)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"


def seen(db: Database, name: str) -> None:
    """Say that worker ``name`` is alive (one upsert; every poll, and while it works on a long job)."""
    now = utcnow()
    with db.write() as session:
        session.execute(insert_for(session, Worker).values(name=name, started=now, last_seen=now)
                        .on_conflict_do_update(index_elements=[Worker.name], set_={"last_seen": now}))


def gone(db: Database, name: str) -> None:
    with db.write() as session:
        session.execute(delete(Worker).where(Worker.name == name))


def live_workers(session: Session, now: dt.datetime | None = None) -> list[Worker]:
    """Workers seen within ALIVE_WITHIN, oldest first (a killed one drops out by itself)."""
    now = now or utcnow()
    return list(session.scalars(select(Worker).where(Worker.last_seen > now - ALIVE_WITHIN).order_by(Worker.started)))


def source_of(analyzer: analyzers.Analyzer, params: dict[str, Any]) -> str:
    """What an output came from: the analyzer and a digest of its parameters (the key for replacing it)."""
    digest = hashlib.sha1(json.dumps(params, sort_keys=True).encode()).hexdigest()[:12]
    return f"{analyzer.name}:{digest}"


class JobService:
    def __init__(self, session: Session) -> None:
        self.session = session

    def submit(self, actor: User, analyzer_name: str, *, sound_ids: list[str] | None = None,
               query: CatalogueQuery | None = None, params: dict[str, Any] | None = None) -> Job:
        """A queued job over ``sound_ids`` or the sounds ``query`` matches now."""
        require(actor, Action.RUN_JOBS)
        analyzer = analyzers.get(analyzer_name)
        checked = analyzer.check(params or {})
        if sound_ids is not None:
            sound_ids = list(dict.fromkeys(sound_ids))  # each sound once
            self._check_known(sound_ids)
            if not sound_ids:
                raise NotFound("No sounds to analyze: nothing matches.")
        job = Job(analyzer=analyzer.name, version=analyzer.version, params=checked, total=len(sound_ids or ()),
                  submitted_by=actor.id, output={"annotations": 0, "objects": 0, "fields": 0, "errors": []})
        self.session.add(job)
        self.session.flush()
        if sound_ids is None:  # the query's sounds go from table to table: none of them passes through Python
            chosen = narrowed(select(Sound.id), query or CatalogueQuery(), actor.id, text_index(self.session))
            ids = chosen.where(Sound.file_id.is_not(None)).order_by(Sound.id).limit(MAX_SOUNDS).subquery()
            rows = select(literal(job.id, String), ids.c.id, literal(ItemState.PENDING.value, String))
            copy = insert(JobItem).from_select(["job_id", "sound_id", "state"], rows).execution_options(preserve_rowcount=True)
            job.total = rowcount(self.session.execute(copy))
            if not job.total:
                self.session.delete(job)
                raise NotFound("No sounds to analyze: nothing matches.")
            self.session.flush()
        else:
            for batch in batched(sound_ids):  # plain multi-row INSERTs: the ORM's unit of work costs more than the rows
                self.session.execute(insert(JobItem), [{"job_id": job.id, "sound_id": s, "state": ItemState.PENDING} for s in batch])
        self._fresh_statistics(job.total)
        return job

    def _fresh_statistics(self, added: int) -> None:
        """On PostgreSQL, after adding many items, the planner's statistics of job_items now (in this transaction,
        which ANALYZE counts): until autovacuum gets to it, a table it last saw empty is planned as empty, and each
        claim's UPDATE read all the new items (0.3 s a claim on a job of a million, against 4 ms after ANALYZE;
        bench/scale.py's single worker did 238 items/s instead of ~2,500)."""
        if added >= ANALYZE_AFTER and self.session.get_bind().dialect.name == "postgresql":
            self.session.execute(text("ANALYZE job_items"))

    def _check_known(self, sound_ids: list[str]) -> None:
        """NotFound naming the first of ``sound_ids`` that is no live sound (looked up in batches, never one IN
        list of all of them: PostgreSQL's driver refuses more than 65,535 parameters)."""
        missing: list[str] = []
        for batch in batched(sound_ids):
            known = set(self.session.scalars(select(Sound.id).where(Sound.id.in_(batch), live(Sound.expires_at))))
            missing += [s for s in batch if s not in known]
        if missing:
            raise NotFound(f"No sound with id {missing[0]!r}" + (f" (and {len(missing) - 1} more)." if len(missing) > 1 else "."))

    def get(self, job_id: str) -> Job:
        return get_or_not_found(self.session, Job, job_id, "job")

    def list(self, limit: int = 50) -> list[Job]:
        return list(self.session.scalars(select(Job).order_by(Job.id.desc()).limit(limit)))

    def cancel(self, actor: User, job_id: str) -> Job:
        """A queued job stops at once; a running one after the sound it is on."""
        job = self.get(job_id)
        require(actor, Action.CANCEL_JOB, owner_id=job.submitted_by)  # your own jobs; administrators: any
        if job.state in FINISHED:
            raise Conflict(f"Job {job.id} has already {job.state}.")
        job.cancel_requested = True
        if job.state == JobState.QUEUED:
            job.state, job.finished = JobState.CANCELLED, utcnow()
        self.session.flush()
        return job


def claim(db: Database, worker: str, now: dt.datetime | None = None) -> str | None:
    """A job with work left (the oldest), after taking back items whose worker went silent; None if none."""
    now = now or utcnow()
    with db.write() as session:  # the items of active jobs only (by the key's job_id): never every job's there ever was
        active = select(Job.id).where(Job.state.in_(ACTIVE))
        session.execute(update(JobItem).where(JobItem.job_id.in_(active), JobItem.state == ItemState.WORKING,
                                              JobItem.claimed_at < now - STALE_AFTER)
                        .values(state=ItemState.PENDING, worker=None))
        pending = exists().where(JobItem.job_id == Job.id, JobItem.state == ItemState.PENDING)
        job_id = session.scalar(select(Job.id).where(Job.state.in_(ACTIVE), pending).order_by(Job.id).limit(1))
        if job_id is None:
            return None
        session.execute(update(Job).where(Job.id == job_id).values(state=JobState.RUNNING, heartbeat=now,
                                                                   started=func.coalesce(Job.started, now)))
        return job_id


def _next_items(db: Database, job_id: str, worker: str, count: int, after: str = "") -> tuple[list[str], JobState | None]:
    """Claim up to ``count`` pending items of the job in one transaction; returns (sound ids, None) or
    ([], what the job's state should become).

    Items are taken in sound id order from ``after`` on (the last sound this worker claimed), then, when none is
    left there, from the start (items taken back from silent workers, or skipped while locked). Items have no index
    by state, so a claim reads the job's items in key order until it finds pending ones: from the start every time,
    each claim would read every item done so far, and a job of a million sounds would slow to a few claims a second
    as it went on (bench/scale.py)."""
    with db.write() as session:
        job = session.get_one(Job, job_id)
        if JobState(job.state) not in ACTIVE:
            return [], JobState(job.state)
        if job.cancel_requested:
            return [], JobState.CANCELLED

        def pending(beyond: str) -> list[str]:
            query = select(JobItem.sound_id).where(JobItem.job_id == job_id, JobItem.state == ItemState.PENDING)
            if beyond:
                query = query.where(JobItem.sound_id > beyond)
            return list(session.scalars(query.order_by(JobItem.sound_id).limit(count).with_for_update(skip_locked=True)))

        sound_ids = pending(after) or (pending("") if after else [])
        if sound_ids:
            taken = session.scalars(update(JobItem).where(JobItem.job_id == job_id, JobItem.sound_id.in_(sound_ids),
                                                          JobItem.state == ItemState.PENDING)
                                    .values(state=ItemState.WORKING, worker=worker, claimed_at=utcnow()).returning(JobItem.sound_id))
            return list(taken), None
        # Not only WORKING items: a PENDING one another worker has locked (SKIP LOCKED passed over it) and not yet
        # committed as WORKING is left too; counting WORKING alone, PostgreSQL would end the job under that worker.
        left = session.scalar(select(func.count()).select_from(JobItem).where(
            JobItem.job_id == job_id, JobItem.state.in_((ItemState.PENDING, ItemState.WORKING))))
        return [], JobState.RUNNING if left else JobState.COMPLETED


def batch_size(seconds: float, items: int) -> int:
    """How many items to claim next: about BATCH_SECONDS of work, so that quick analyzers do not spend their
    time in claiming and committing (two transactions a sound) while slow ones still share a job sound by sound."""
    per_item = seconds / max(items, 1)
    return max(1, min(MAX_BATCH, int(BATCH_SECONDS / per_item) if per_item > 0 else MAX_BATCH))


def run_job(db: Database, storage: Storage, job_id: str, worker: str, stop: threading.Event | None = None) -> JobState:
    """Do the job's items until none is left for this worker; returns the job's state then ("running" while
    other workers still have items of it, or if ``stop`` was set)."""
    with db.read() as session:
        job = JobService(session).get(job_id)
        analyzer, params = analyzers.get(job.analyzer), dict(job.params)
    with db.write() as session:
        bot = UserService(session).system_user(f"bot-{analyzer.name}", "featurebot", about_me=analyzer.description)
    count, after = 1, ""
    held: list[str] = []
    with _kept_claimed(db, job_id, worker, held):
        while not (stop and stop.is_set()):
            sound_ids, outcome = _next_items(db, job_id, worker, count, after)
            if not sound_ids:
                assert outcome is not None
                return _finish(db, job_id, outcome) if outcome in (JobState.COMPLETED, JobState.CANCELLED) else outcome
            held[:], after = sound_ids, max(sound_ids)
            started = time.perf_counter()
            with db.read() as session:
                sounds = {s.id: s for s in session.scalars(select(Sound).where(Sound.id.in_(sound_ids)))}
            results = [_analyze(db, storage, analyzer, params, sound_id, sounds.get(sound_id)) for sound_id in sound_ids]
            _store(db, storage, job_id, results, bot, (analyzer, params), worker)
            count = batch_size(time.perf_counter() - started, len(sound_ids))
    return JobState.RUNNING


@contextlib.contextmanager
def _kept_claimed(db: Database, job_id: str, worker: str, held: list[str]) -> Iterator[None]:
    """While this worker is alive, refresh the claim on its items (the sound ids it keeps in ``held``: the batch
    it is on), so that a sound that takes longer than STALE_AFTER is not taken back from it (a killed
    worker stops refreshing, and its items are taken back). By their keys: a search by worker would read every
    item of the job."""
    done = threading.Event()

    def refresh() -> None:
        while not done.wait(STALE_AFTER.total_seconds() / 3):
            seen(db, worker)
            if sound_ids := list(held):
                with db.write() as session:
                    session.execute(update(JobItem).where(JobItem.job_id == job_id, JobItem.sound_id.in_(sound_ids),
                                                          JobItem.worker == worker, JobItem.state == ItemState.WORKING)
                                    .values(claimed_at=utcnow()))

    thread = threading.Thread(target=refresh, name=f"claim-{job_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


@dataclass
class _Result:
    sound_id: str
    output: analyzers.Output | None = None
    error: str = ""
    keys: dict[str, str] = field(default_factory=dict)  # output object name -> storage key
    stored: dict[str, Any] = field(default_factory=dict)

    @property
    def analyzed(self) -> analyzers.Output:
        """The output of a sound that was analyzed (``output`` is None for one that failed)."""
        assert self.output is not None, f"{self.sound_id} failed: it has no output"
        return self.output


def _analyze(db: Database, storage: Storage, analyzer: analyzers.Analyzer, params: dict[str, Any], sound_id: str,
             sound: Sound | None) -> _Result:
    """One sound's output (its objects already in storage), or the one sentence of why it failed."""
    try:
        if sound is None:
            raise NotFound(f"Sound {sound_id} no longer exists.")
        output = analyzer.run(storage, sound, params)
    except (EarmarkError, OSError, ValueError) as exc:
        return _Result(sound_id, error=str(exc))
    keys = {name: f"derived/{sound.id}/{name}" for name in output.objects}
    journal.record(db, keys.values())  # known as Earmark's before they exist (core.store.journal)
    stored = {name: storage.put(key, output.objects[name]) for name, key in keys.items()}
    return _Result(sound_id, output, keys=keys, stored=stored)


def _store(db: Database, storage: Storage, job_id: str, results: list[_Result], bot: User,
           run: tuple[analyzers.Analyzer, dict[str, Any]], worker: str) -> None:
    """Write a batch's outputs and mark its items done or failed, in one transaction of a few statements.

    Only items this worker still holds change (an item taken back meanwhile is its new worker's to write), each by
    an UPDATE that says so; the job's counts grow by what those UPDATEs changed, under the lock on the job's row.
    Recounting the job's items instead read every item of the job for every batch."""
    with db.write() as session:
        job = session.get_one(Job, job_id, with_for_update=True, populate_existing=True)  # one batch's totals at a time
        totals = dict(job.output)
        held = (JobItem.job_id == job_id, JobItem.worker == worker, JobItem.state == ItemState.WORKING)
        failed = 0
        for result in (r for r in results if r.output is None):
            if rowcount(session.execute(update(JobItem).where(*held, JobItem.sound_id == result.sound_id)
                                        .values(state=ItemState.FAILED, error=result.error))):
                failed += 1
                totals["errors"] = (totals.get("errors", []) + [{"sound_id": result.sound_id, "error": result.error}])[-100:]
        done: list[_Result] = []
        if analyzed := [r for r in results if r.output is not None]:
            marked = set(session.scalars(update(JobItem).where(*held, JobItem.sound_id.in_([r.sound_id for r in analyzed]))
                                         .values(state=ItemState.DONE).returning(JobItem.sound_id)))
            done = [r for r in analyzed if r.sound_id in marked]  # the rest were taken back: their new worker writes them
        if done:
            for key in (key for r in done for key in r.keys.values()):
                on_rollback(session, functools.partial(storage.delete, key))
            _replace_outputs(session, done, bot, run)
        outputs = [r.analyzed for r in done]
        totals["annotations"] = totals.get("annotations", 0) + sum(len(o.segments) for o in outputs)
        totals["objects"] = totals.get("objects", 0) + sum(len(o.objects) for o in outputs)
        totals["fields"] = totals.get("fields", 0) + sum(len(o.fields) for o in outputs)
        job.done, job.failed = job.done + len(done), job.failed + failed  # read under the row's lock, just now
        job.output, job.heartbeat, job.worker = totals, utcnow(), worker


def _replace_outputs(session: Session, results: list[_Result], bot: User, run: tuple[analyzers.Analyzer, dict[str, Any]]) -> None:
    """Remove what this analyzer with these parameters wrote for the batch's sounds before, then write the new
    output (and hand its data to the analyzer's ``keep``); set-based statements for the whole batch, so a quick
    analyzer is not held up by its writes."""
    analyzer, params = run
    source = source_of(analyzer, params)
    if analyzer.keep is not None:
        analyzer.keep(session, [(r.sound_id, r.analyzed) for r in results], params)
    ids = [r.sound_id for r in results]
    service = AnnotationService(session)
    service.remove_source(ids, source)
    for result in results:
        _suggest(service, result, bot, source)
    fields = [{"sound_id": r.sound_id, "name": k, "value": _linked(r, v)} for r in results for k, v in r.analyzed.fields.items()]
    if fields:
        session.execute(delete(SoundField).where(SoundField.sound_id.in_(ids), SoundField.name.in_({f["name"] for f in fields})))
        session.execute(insert(SoundField), fields)
    keys = [(r, name, key) for r in results for name, key in r.keys.items()]
    if keys:
        session.execute(delete(StoredFile).where(StoredFile.key.in_([key for _, _, key in keys])))
        journal.settle(session, [key for _, _, key in keys])
        session.add_all([StoredFile(key=key, category="derived", purpose="ingestion", original_filename=name,
                                    description=f"{source} output", extra={}, size=r.stored[name].size,
                                    sha256=r.stored[name].sha256, created_by=bot.id) for r, name, key in keys])


def _linked(result: _Result, value: str | None) -> str | None:
    """A segment's data_url or a field's value that names one of the output's objects: that object's URL."""
    return f"/api/v1/data/files/{result.keys[value]}" if value in result.keys else value


def _suggest(service: AnnotationService, result: _Result, bot: User, source: str) -> None:
    """The sound's segments as the featurebot's suggestions, less those people already accepted or rejected."""
    if not result.analyzed.segments:
        return
    reviewed = service.reviewed(result.sound_id, source)
    segments = [{"start_seconds": seg.start, "duration_seconds": seg.duration, "tags": seg.tags, "text": seg.text,
                 "data_url": _linked(result, seg.data_url)}
                for seg in result.analyzed.segments
                if (round(seg.start * 1000), round(seg.duration * 1000)) not in reviewed]  # people decided on these
    service.create_many(bot, result.sound_id, segments, source=source)


def _finish(db: Database, job_id: str, state: JobState) -> JobState:
    """End the job once; returns its final state. The worker whose conditional UPDATE moves the job out of
    queued or running closes it (a second worker's UPDATE waits for the first's row lock, then matches nothing), and
    in the same transaction runs the analyzer's ``finish``: its fields are there exactly when the job says
    completed, and a worker killed meanwhile leaves neither."""
    if state == JobState.COMPLETED:  # every sound failed: the job did too
        final: Any = case(((Job.failed > 0) & (Job.done == 0), JobState.FAILED.value), else_=JobState.COMPLETED.value)
    else:
        final = state.value
    with db.write() as session:
        closed = session.scalar(update(Job).where(Job.id == job_id, Job.state.in_(ACTIVE))
                                .values(state=final, finished=utcnow()).returning(Job.state))
        if closed is None:
            return JobState(session.scalars(select(Job.state).where(Job.id == job_id)).one())
        return _finished(session, job_id) if closed == JobState.COMPLETED else JobState(closed)


def _finished(session: Session, job_id: str) -> JobState:
    """Run the analyzer's dataset-level step for a job just completed, in a savepoint: if it raises, what it wrote
    is undone and the job fails with its message (still closed by this worker, so it is never run twice)."""
    job = session.get_one(Job, job_id, populate_existing=True)
    analyzer = analyzers.get(job.analyzer)
    if analyzer.finish is None:
        return JobState.COMPLETED
    try:
        with session.begin_nested():
            written = _write_finish(session, job, analyzer)
    except Exception as exc:  # a bug or bad data in the step fails this job, with its reason, not the worker
        log.exception("the last step of job %s failed", job_id)
        job = session.get_one(Job, job_id, populate_existing=True)
        job.state, job.output = JobState.FAILED, {**job.output, "error": f"The {analyzer.name} job's last step failed: {exc}"}
        return JobState.FAILED
    job.output = {**job.output, "fields": job.output.get("fields", 0) + written}
    return JobState.COMPLETED


def _write_finish(session: Session, job: Job, analyzer: analyzers.Analyzer) -> int:
    """Replace the ``finish_fields`` of every sound of the job with what ``finish`` yields, in batches; returns
    the fields written. The job's sounds are a subquery here and in ``finish``, never a list of ids."""
    assert analyzer.finish is not None
    names = set(analyzer.finish_fields)
    of_job = select(JobItem.sound_id).where(JobItem.job_id == job.id)
    session.execute(delete(SoundField).where(SoundField.sound_id.in_(of_job), SoundField.name.in_(names)))
    done = of_job.where(JobItem.state == ItemState.DONE)
    written = 0
    for batch in batched(analyzer.finish(session, done, dict(job.params))):
        rows = [{"sound_id": sound_id, "name": name, "value": value} for sound_id, fields in batch for name, value in fields.items()]
        if stray := {row["name"] for row in rows} - names:
            raise ValueError(f"it wrote {sorted(stray)[0]!r}, which is not one of its fields ({', '.join(sorted(names))}).")
        if rows:
            session.execute(insert(SoundField), rows)
        written += len(rows)
    return written


def work(db: Database, storage: Storage, stop: threading.Event, poll_seconds: float = 1.0, once: bool = False) -> int:
    """A worker: claim and run jobs until ``stop`` is set (or, with ``once``, until nothing is left to claim)."""
    name, finished, said = worker_name(), 0, 0.0
    try:
        while not stop.is_set():
            if time.monotonic() - said > SAY_ALIVE_EVERY:
                seen(db, name)
                said = time.monotonic()
            outcome = _work_once(db, storage, stop, name)
            if outcome is None:
                if once:
                    return finished
                stop.wait(poll_seconds)
            finished += outcome or 0
        return finished
    finally:
        gone(db, name)


def _work_once(db: Database, storage: Storage, stop: threading.Event, name: str) -> int | None:
    """Claim and run one job: None if there was none, else 1 if it ended here, 0 if others still have its sounds."""
    job_id = claim(db, name)
    if job_id is None:
        return None
    try:
        return 1 if run_job(db, storage, job_id, name, stop) in FINISHED else 0
    except Exception:  # a bug in one job must not kill the worker; the job is failed with the reason
        log.exception("job %s failed", job_id)
        _finish(db, job_id, JobState.FAILED)
        return 1
