"""Scale (issue 25): import, export, jobs, purge and fsck at 10^4 to 10^6 files, each at two sizes.

Every figure is measured at two sizes in the same run, so a path that grows faster than the work shows as a ratio
above the size ratio (a noisy, shared machine moves absolute times; it moves both sizes alike):

* **Import** of SMALL and LARGE small WAV files (0.3 s of 16 kHz mono audio, 9.6 KB each, written once to a
  temporary folder in the VoxCeleb layout) through the normal path: ``python -m core import DIR`` in a child
  process (``core.ingest.pipeline.import_path``, 16 threads, local storage), its own elapsed time, files per second,
  the large/small time ratio (target: <= 11x for 10x the files) and the child's peak RSS. Then ``python -m core
  fsck`` over what the import stored (a real folder: every object listed from disk), timed and its RSS.
  With ``--storage s3`` (or ``both``), the same imports into S3 served by moto behind ``bench/slow_s3.py`` (20 ms a request).
* **A catalogue** of SMALL_CATALOGUE then LARGE_CATALOGUE sounds (synthetic rows inserted in bulk, as
  ``bench/browse.py`` does: 10 datasets, metadata ``gender`` and ``speaker``, one annotation on every tenth sound,
  every row with its ``stored_files`` row), and at each size:
  - a balanced export of 10,000 sounds (``--balance gender``, as the Download page's link and ``python -m core
    export --balance gender --count 10000`` ask it): ``plan_export`` then ``stream_zip`` until its first chunk,
    i.e. the time until the HTTP response starts (target: 2 s); the 10,000 chosen objects are written to a local
    folder beforehand, the other sounds have no object;
  - ``jobs submit`` over every sound (``JobService.submit`` in one write transaction, as ``python -m core jobs
    submit`` runs it; target 30 s at a million);
  - fsck and purge (``consistency.check``; ``FileService.purge_expired`` then ``consistency.repair``, as ``python -m
    core purge``) in a child process over a storage whose listing yields one ObjectInfo per row (plus 1% foreign
    objects, journalled orphans and a few rows without objects) without any file behind it (a million real files
    would measure the file system, not Earmark), with the child's peak RSS against a child that only loads the same
    code;
  and at the large size, job items claimed per second by 1 then 4 worker processes (``core.jobs.queue.work`` as
  ``python -m core worker`` runs it, with an analyzer that does nothing, so only claiming and recording is timed),
  at the start of the job and with 90% of its items already done (a claim that reads the done items shows there).

Run: ``python bench/scale.py [--database-url postgresql+psycopg://...] [--quick] [--storage local|s3|both]``; without a URL on SQLite
files, with one in schemas of their own on that server (dropped afterwards). ``--quick`` uses small sizes (a smoke
test in about a minute); the full run takes about an hour on SQLite.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import io
import json
import os
import random
import re
import resource
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import free_port, run_measured, scratch_database  # noqa: E402
from sqlalchemy import delete, func, insert, select, text, update  # noqa: E402

from core.jobs import analyzers  # noqa: E402
from core.jobs.analyzers.base import Analyzer, Output  # noqa: E402
from core.store.db import Database  # noqa: E402
from core.store.ids import new_id  # noqa: E402
from core.store.models import (  # noqa: E402
    Annotation,
    AnnotationTag,
    Job,
    JobItem,
    JournalEntry,
    Sound,
    SoundField,
    StoredFile,
    User,
    utcnow,
)
from core.store.storage import ObjectInfo  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SECONDS, RATE = 0.3, 16_000  # each imported file: 0.3 s of 16 kHz mono 16-bit audio
OLD = dt.timedelta(days=2)  # the synthetic rows' age: past fsck's grace of a day, so they are really checked
EXPIRED_EVERY, MISSING_EVERY, ORPHAN_EVERY, FOREIGN_EVERY = 10_000, 100_000, 10_000, 100

# An analyzer that does nothing: the claims measurement times the queue, not an analysis.
NULL = Analyzer(name="bench-null", version="1", description="does nothing (bench/scale.py)", outputs="nothing", params={},
                runner=lambda storage, sound, params: Output())
analyzers.ANALYZERS[NULL.name] = NULL


def rss_mb() -> float:
    """This process's peak RSS in MB: VmHWM, which exec resets (ru_maxrss would carry over the high-water mark of
    the process that forked it, here the benchmark holding a catalogue's worth of rows)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# Runs a command and reports its peak RSS: started from this small process, the command's ru_maxrss is its own
# (a child's ru_maxrss starts from the high-water mark of the process it was forked from).
# -- import -----------------------------------------------------------------------------------------------

def write_wavs(folder: Path, count: int) -> int:
    """``count`` distinct small WAV files (the same noise, each with its number in its first samples) in the
    VoxCeleb layout ``idNNNNN/vN/NNNNNN.wav``; their total size."""
    samples = (np.random.default_rng(1).standard_normal(int(SECONDS * RATE)) * 3000).astype("<i2")
    buffer = io.BytesIO()
    sf.write(buffer, samples, RATE, subtype="PCM_16", format="WAV")
    header, data = buffer.getvalue()[: -samples.nbytes], samples.tobytes()
    for i in range(count):
        path = folder / f"id{i // 100:05d}" / f"v{i % 7}" / f"{i:06d}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(header + struct.pack("<I", i) + data[4:])
    return count * (len(header) + len(data))


def earmark_env(database_url: str, data_dir: Path, storage_url: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EARMARK_")}
    return env | {"EARMARK_DATABASE_URL": database_url, "EARMARK_DATA_DIR": str(data_dir), "EARMARK_STORAGE_URL": storage_url,
                  "PYTHONPATH": str(ROOT)} | (extra or {})


def import_run(database_url: str | None, folder: Path, count: int, work: Path, label: str, s3: dict[str, str] | None) -> dict:
    """``python -m core import`` of ``folder`` into a new database (and storage); then ``python -m core fsck``."""
    with scratch_database(database_url, f"scale_import_{label}") as db:
        data = work / f"data-{label}"
        storage_url = f"s3://bench/{label}" if s3 else f"file://{data}/objects"
        env = earmark_env(db.url, data, storage_url, s3)
        wall, rss, out, err, status, cpu = run_measured([sys.executable, "-m", "core", "import", str(folder), "--dataset", "bench", "--quiet"], env)
        if status != 0:
            raise SystemExit(f"import of {count} files failed ({status}): {err[-2000:]}")
        found = re.search(r"in ([\d.]+) s", out)
        seconds = float(found.group(1)) if found else wall
        with db.read() as session:
            stored = session.scalar(select(func.count()).select_from(Sound))
        fsck_wall, fsck_rss, fsck_out, fsck_err, fsck_status, _ = run_measured([sys.executable, "-m", "core", "fsck"], env)
        if fsck_status != 0:
            raise SystemExit(f"fsck after importing {count} files failed ({fsck_status}): {fsck_out[-500:]} {fsck_err[-1000:]}")
        shutil.rmtree(data, ignore_errors=True)
    return {"files": count, "stored": stored, "seconds": seconds, "wall": wall, "cpu": cpu, "rss_mb": rss, "summary": out.strip().splitlines()[-1],
            "fsck_wall": fsck_wall, "fsck_rss_mb": fsck_rss}


def import_figures(args: argparse.Namespace, work: Path, folders: dict[int, Path], s3: bool) -> list[dict]:
    sizes = tuple(folders)
    small, large = sizes
    # TODO(issue 25, register in place): time `python -m core import s3://bucket/prefix` (and `DIR --in-place`) at the
    # same two sizes here, beside the import: the same files put once into a bucket of bench/slow_s3.py, registered,
    # files per second, the large/small ratio (<= 11x) and the child's peak RSS (run_measured), on both databases.
    # bench/register.py measures it on its own for now (BENCHMARKS.md, "Registering files in place").
    results = []
    where = "s3 (slow_s3, 20 ms)" if s3 else "local"
    for count in sizes:
        with s3_server() if s3 else contextlib.nullcontext() as server:
            result = import_run(args.database_url, folders[count], count, work, f"{'s3' if s3 else 'local'}{count}", server)
            result["storage"] = where
            results.append(result)
            print(f"import {count:>7,} files ({where}): {result['seconds']:7.1f} s, {count / result['seconds']:6.0f} files/s, "
                  f"CPU {result['cpu']:.1f} s, "
                  f"peak RSS {result['rss_mb']:.0f} MB ({result['summary']}); fsck of them: {result['fsck_wall']:.1f} s, "
                  f"peak RSS {result['fsck_rss_mb']:.0f} MB", flush=True)
    ratio = results[1]["seconds"] / results[0]["seconds"]
    print(f"import {where}: {large:,} files / {small:,} files time ratio {ratio:.2f}x (target <= {1.1 * large / small:.0f}x), "
          f"CPU time ratio {results[1]['cpu'] / results[0]['cpu']:.2f}x; "
          f"fsck {results[1]['fsck_wall'] / results[0]['fsck_wall']:.2f}x", flush=True)
    return results


@contextlib.contextmanager
def s3_server(latency_ms: float = 20) -> Iterator[dict[str, str]]:
    """A fresh moto server behind bench/slow_s3.py with the bucket ``bench``: the environment for a child. Each run
    gets its own (moto slows down as it holds more objects; a real region does not). Stopped by its process id,
    given a minute: moto holding 100,000 objects takes more than import_s3.py's ten seconds to exit."""
    import boto3

    port = free_port()
    server = subprocess.Popen([sys.executable, str(ROOT / "bench" / "slow_s3.py"), "--port", str(port), "--latency-ms", str(latency_ms)],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, start_new_session=True)
    try:
        while (line := server.stdout.readline()) and line.strip() != "ready":
            pass
        env = {"EARMARK_S3_ENDPOINT_URL": f"http://127.0.0.1:{port}", "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
               "AWS_REGION": "us-east-1"}
        boto3.client("s3", endpoint_url=env["EARMARK_S3_ENDPOINT_URL"], aws_access_key_id="bench", aws_secret_access_key="bench",
                     region_name="us-east-1").create_bucket(Bucket="bench")
        yield env
    finally:
        server.terminate()
        try:
            server.wait(60)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        with contextlib.suppress(ProcessLookupError):  # its moto, if the proxy gave up waiting for it
            os.killpg(server.pid, signal.SIGKILL)


# -- the catalogue ------------------------------------------------------------------------------------------

def catalogue_key(i: int) -> str:
    return f"audio/ds{i % 10}/{catalogue_path(i)}"


def catalogue_path(i: int) -> str:
    return f"id{i // 50:05d}/v{i % 7}/{i:07d}.wav"


def orphan_key(i: int) -> str:
    return f"derived/orphan{i:07d}/peaks.bin"


def build(db: Database, owner_id: str, start: int, end: int) -> None:
    """Sounds ``start`` to ``end`` (exclusive), each with its stored_files row, two metadata fields, and one
    annotation on every tenth; every EXPIRED_EVERY-th file expired, every ORPHAN_EVERY-th an orphan in the journal."""
    rng = random.Random(start)
    old = utcnow() - OLD
    batch = 20_000
    for low in range(start, end, batch):
        files, sounds, fields, notes, note_tags, journal = [], [], [], [], [], []
        for i in range(low, min(end, low + batch)):
            sound_id, file_id = new_id(), new_id()
            files.append({"id": file_id, "key": catalogue_key(i), "category": "audio", "purpose": "ingestion",
                          "original_filename": f"{i:07d}.wav", "extra": {}, "size": 9644, "sha256": f"{i:064x}",
                          "created_by": owner_id, "date_created": old, "expires_at": old if i % EXPIRED_EVERY == 1 else None})
            sounds.append({"id": sound_id, "created_by": owner_id, "dataset": f"ds{i % 10}", "path": catalogue_path(i),
                           "title": f"{i:07d}", "file_id": file_id, "sha256": f"{i:064x}", "format": "WAV", "subtype": "PCM_16",
                           "sample_rate": RATE, "channels": 1, "frames": int(SECONDS * RATE), "duration_seconds": SECONDS,
                           "annotation_count": 1 if i % 10 == 0 else 0, "date_created": old})
            fields += [{"sound_id": sound_id, "name": "gender", "value": rng.choice("fm")},
                       {"sound_id": sound_id, "name": "speaker", "value": f"id{i // 50:05d}"}]
            if i % 10 == 0:
                note_id = new_id()
                notes.append({"id": note_id, "sound_id": sound_id, "created_by": owner_id, "start_seconds": 0.05,
                              "duration_seconds": 0.2, "version": 1})
                note_tags.append({"annotation_id": note_id, "tag": rng.choice(("speech", "noise", "music"))})
            if i % ORPHAN_EVERY == 5:
                journal.append({"key": orphan_key(i), "date_created": old})
        with db.write() as session:
            for model, rows in ((StoredFile, files), (Sound, sounds), (SoundField, fields), (Annotation, notes),
                                (AnnotationTag, note_tags), (JournalEntry, journal)):
                if rows:
                    session.execute(insert(model), rows)
    analyze(db, "stored_files", "sounds", "sound_fields", "annotations", "annotation_tags", "storage_journal")


def analyze(db: Database, *tables: str) -> None:
    """Fresh planner statistics for these tables only (a bare ANALYZE on PostgreSQL would visit every schema of the
    server, and fail on one a test run is dropping at the same moment)."""
    with db.write() as session:
        for table in tables:
            session.execute(text(f"ANALYZE {table}"))


class ListedStorage:
    """A storage whose listing yields the catalogue's objects (sounds 0 to ``count``) without files behind them:
    one ObjectInfo per row except every MISSING_EVERY-th (rows without objects), plus 1% foreign objects (not under
    Earmark's prefixes) and the journalled orphans. Deleting records the key in ``state`` (a file), so a later
    listing, in another process, leaves it out."""

    url = "bench://listed"

    def __init__(self, count: int, state: Path) -> None:
        self.count, self.state = count, state
        self.deleted = set(state.read_text().split()) if state.exists() else set()
        self.modified = utcnow() - OLD

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        for i in range(self.count):
            keys = [] if i % MISSING_EVERY == 3 else [catalogue_key(i)]
            if i % FOREIGN_EVERY == 0:
                keys.append(f"recordings/{i:07d}.wav")  # the user's own, beside Earmark's: never touched
            if i % ORPHAN_EVERY == 5:
                keys.append(orphan_key(i))
            for key in keys:
                if key.startswith(prefix) and key not in self.deleted:
                    yield ObjectInfo(key, 9644, modified=self.modified)

    def delete(self, key: str) -> None:
        self.deleted.add(key)
        with self.state.open("a") as out:
            out.write(key + "\n")

    def exists(self, key: str) -> bool:
        return False

    def sweep_partial(self, older_than: dt.datetime, prefixes: tuple[str, ...] = ("",)) -> int:
        return 0


# -- children (fsck, purge, workers): python bench/scale.py --child KIND ... ---------------------------------

def child(kind: str, url: str, arguments: list[str]) -> None:
    from core.catalogue import consistency
    from core.catalogue.files import FileService
    from core.jobs import queue
    from core.store.storage import LocalStorage

    db = Database(url)
    if kind in ("fsck", "purge", "baseline"):
        count, state = int(arguments[0]), Path(arguments[1])
        storage = ListedStorage(count, state)
        started = time.perf_counter()
        result: dict = {}
        if kind == "fsck":
            findings = consistency.check(db, storage)
            result = {"line": findings.line(), "foreign": findings.foreign, "orphans": len(findings.orphans),
                      "missing": len(findings.missing)}
        elif kind == "purge":  # as python -m core purge
            with db.write() as session:
                files, size = FileService(session, storage).purge_expired()
            expired_s = time.perf_counter() - started
            findings = consistency.repair(db, storage)
            result = {"expired": files, "expired_s": expired_s, "line": findings.line(), "foreign": findings.foreign}
        else:  # the same code loaded, and the listing alone: what the fake storage itself costs
            with db.read() as session:
                session.scalar(select(func.count()).select_from(StoredFile))
            result = {"listed": sum(1 for _ in storage.list())}
        print(json.dumps(result | {"seconds": time.perf_counter() - started, "rss_mb": rss_mb()}))
    elif kind == "worker":
        start_at, seconds = float(arguments[1]), float(arguments[2])
        storage = LocalStorage(arguments[0])
        claims: list[tuple[float, int]] = []
        original = queue._next_items

        def counted(*a, **k):  # type: ignore[no-untyped-def]
            taken = original(*a, **k)
            if taken[0]:
                claims.append((time.time(), len(taken[0])))
            return taken

        queue._next_items = counted
        stop = threading.Event()
        time.sleep(max(0.0, start_at - time.time()))
        threading.Timer(max(0.0, start_at + seconds - time.time()), stop.set).start()
        queue.work(db, storage, stop, poll_seconds=0.2)
        print(json.dumps(claims))
    db.dispose()


def child_json(kind: str, url: str, *arguments: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", kind, url, *arguments], cwd=ROOT, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"child {kind} failed: {out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def claims_per_second(db: Database, storage_dir: Path, workers: int, seconds: float) -> tuple[float, float]:
    """Items and claims per second of ``workers`` worker processes, counted over ``seconds`` once they have started."""
    warm = 6.0  # start-up (imports, the first claim) is outside the window
    start_at = time.time() + warm
    processes = [subprocess.Popen([sys.executable, __file__, "--child", "worker", db.url, str(storage_dir), str(start_at),
                                   str(seconds + 2)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(workers)]
    window = (start_at + 1, start_at + 1 + seconds)
    items = claims = 0
    for process in processes:
        out, err = process.communicate()
        if process.returncode != 0:
            raise SystemExit(f"worker failed: {err[-3000:]}")
        for at, count in json.loads(out.strip().splitlines()[-1]):
            if window[0] <= at < window[1]:
                items, claims = items + count, claims + 1
    return items / seconds, claims / seconds


# -- the catalogue's figures ----------------------------------------------------------------------------------

def export_first_bytes(db: Database, storage, export_count: int) -> dict:
    """A balanced export of ``export_count`` sounds: its objects written first (untimed), then plan_export and
    stream_zip to the first chunk (timed), the choice alone, the presence check alone (which plan_export makes only
    for on_missing="fail"), and the whole ZIP."""
    from core.catalogue.search import CatalogueQuery
    from core.export import subset

    request = subset.ExportRequest(query=CatalogueQuery(), count=export_count, seed=7, balance="gender", formats=("csv",))
    with db.read() as session:
        started = time.perf_counter()
        chosen = subset.choose(session, request)
        choose_s = time.perf_counter() - started
    wav = (SECONDS * RATE * 2 + 44)
    for sound in chosen:
        if not storage.exists(sound.file.key):
            storage.put(sound.file.key, b"RIFF" + bytes(int(wav) - 4))
    started = time.perf_counter()
    plan = subset.plan_export(db, storage, request)
    plan_s = time.perf_counter() - started
    chunks = iter(subset.stream_zip(plan, storage))
    first = next(chunks)
    first_s = time.perf_counter() - started
    total = len(first) + sum(len(chunk) for chunk in chunks)
    all_s = time.perf_counter() - started
    started = time.perf_counter()
    subset.present_keys(db, storage, chosen)  # the plan holds ids only now (core/export/outline.py)
    present_s = time.perf_counter() - started
    return {"first_s": first_s, "plan_s": plan_s, "choose_s": choose_s, "present_s": present_s, "zip_s": all_s,
            "zip_mb": total / 1e6, "included": plan.included}


def submit_all(db: Database, owner_id: str) -> tuple[float, str, int]:
    """``jobs submit`` over every sound: its time, the job's id and its number of items."""
    from core.catalogue.search import CatalogueQuery
    from core.jobs.queue import JobService

    started = time.perf_counter()
    with db.write() as session:
        job = JobService(session).submit(session.get(User, owner_id), NULL.name, query=CatalogueQuery())
        job_id, total = job.id, job.total
    return time.perf_counter() - started, job_id, total


def drop_job(db: Database, job_id: str) -> None:
    with db.write() as session:
        session.execute(delete(JobItem).where(JobItem.job_id == job_id))
        session.execute(delete(Job).where(Job.id == job_id))


def catalogue_figures(args: argparse.Namespace, work: Path, sizes: tuple[int, int], export_count: int,
                      worker_seconds: float) -> list[dict]:
    from core.store.storage import LocalStorage

    results = []
    with scratch_database(args.database_url, "scale_catalogue") as db:
        with db.write() as session:
            owner = User(user_name="bench", user_type="dataset", password_hash="!", is_admin=True)
            session.add(owner)
            session.flush()
            owner_id = owner.id
        storage_dir = work / "catalogue-objects"
        storage = LocalStorage(storage_dir)
        state = work / "listed-deleted.txt"
        built = 0
        for size in sizes:
            started = time.perf_counter()
            build(db, owner_id, built, size)
            built = size
            print(f"catalogue: {size:,} sounds (built in {time.perf_counter() - started:.0f} s)", flush=True)
            result: dict = {"sounds": size}
            result["export"] = export = export_first_bytes(db, storage, export_count)
            print(f"  balanced export of {export_count:,}: first bytes after {export['first_s']:.2f} s (plan {export['plan_s']:.2f} s; "
                  f"choosing alone {export['choose_s']:.2f} s; the presence check on_missing=fail adds {export['present_s']:.2f} s); whole ZIP "
                  f"{export['zip_mb']:.0f} MB in {export['zip_s']:.1f} s", flush=True)
            if args.only == "export":
                results.append(result)
                continue
            result["submit_s"], job_id, total = submit_all(db, owner_id)
            print(f"  jobs submit over all {total:,} sounds: {result['submit_s']:.1f} s", flush=True)
            if size == sizes[-1] and worker_seconds:
                one, one_claims = claims_per_second(db, storage_dir, 1, worker_seconds)
                four, four_claims = claims_per_second(db, storage_dir, 4, worker_seconds)
                with db.write() as session:  # 90% of the job done, as if the workers had run for a while
                    ninety = session.scalar(select(JobItem.sound_id).where(JobItem.job_id == job_id).order_by(JobItem.sound_id)
                                            .offset(int(total * 0.9)).limit(1))
                    session.execute(update(JobItem).where(JobItem.job_id == job_id, JobItem.sound_id < ninety)
                                    .values(state="done"))
                analyze(db, "job_items")
                deep, deep_claims = claims_per_second(db, storage_dir, 4, worker_seconds)
                result["claims"] = {"one": one, "four": four, "deep": deep, "one_claims": one_claims, "four_claims": four_claims,
                                    "deep_claims": deep_claims}
                print(f"  job items done per second: 1 worker {one:.0f} ({one_claims:.1f} claims/s), 4 workers {four:.0f} "
                      f"({four_claims:.1f} claims/s), 4 workers with 90% of the job done {deep:.0f} ({deep_claims:.1f} claims/s)",
                      flush=True)
            drop_job(db, job_id)
            result["listing"] = baseline = child_json("baseline", db.url, str(size), str(state))
            result["fsck"] = fsck = child_json("fsck", db.url, str(size), str(state))
            print(f"  fsck over {baseline['listed']:,} objects listed: {fsck['seconds']:.1f} s, peak RSS {fsck['rss_mb']:.0f} MB "
                  f"(the listing alone: {baseline['seconds']:.1f} s, {baseline['rss_mb']:.0f} MB); {fsck['line']}, "
                  f"{fsck['foreign']:,} foreign", flush=True)
            result["purge"] = purge = child_json("purge", db.url, str(size), str(state))
            print(f"  purge over {baseline['listed']:,} objects listed: {purge['seconds']:.1f} s (of which {purge['expired']} expired "
                  f"files removed in {purge['expired_s']:.1f} s), peak RSS {purge['rss_mb']:.0f} MB; {purge['line']}", flush=True)
            results.append(result)
        small, large = results
        factor = sizes[1] / sizes[0]
        if args.only == "export":
            print(f"catalogue {sizes[1]:,} / {sizes[0]:,}: export first bytes {large['export']['first_s'] / small['export']['first_s']:.2f}x, "
                  f"choosing {large['export']['choose_s'] / small['export']['choose_s']:.2f}x", flush=True)
            return results
        print(f"catalogue {sizes[1]:,} / {sizes[0]:,} ({factor:.0f}x the sounds): export first bytes "
              f"{large['export']['first_s'] / small['export']['first_s']:.2f}x, jobs submit {large['submit_s'] / small['submit_s']:.2f}x, "
              f"fsck {large['fsck']['seconds'] / small['fsck']['seconds']:.2f}x (the listing alone "
              f"{large['listing']['seconds'] / small['listing']['seconds']:.2f}x), purge {large['purge']['seconds'] / small['purge']['seconds']:.2f}x, "
              f"purge's expired files {large['purge']['expired_s'] / max(small['purge']['expired_s'], 1e-3):.2f}x "
              f"({large['purge']['expired']} vs {small['purge']['expired']} files)",
              flush=True)
    return results


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3], sys.argv[4:])
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", help="a PostgreSQL server to run on (default: SQLite files)")
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke test of about a minute")
    parser.add_argument("--storage", choices=("local", "s3", "both"), default="local",
                        help="where the imports store: a local folder, S3 (moto behind bench/slow_s3.py, 20 ms a request), or both")
    parser.add_argument("--only", choices=("import", "catalogue", "export"),
                        help="run one part only (export: the catalogue's balanced export alone)")
    parser.add_argument("--json", help="write every figure to this file")
    args = parser.parse_args()
    imports, catalogue = ((300, 3_000), (10_000, 50_000)) if args.quick else ((10_000, 100_000), (100_000, 1_000_000))
    export_count, worker_seconds = (1_000, 4.0) if args.quick else (10_000, 20.0)
    figures: dict = {"database": "postgresql" if args.database_url else "sqlite", "quick": args.quick}
    started = time.perf_counter()
    print(f"on {figures['database']}, {os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f}", flush=True)
    with tempfile.TemporaryDirectory(prefix="earmark-scale-") as tmp:
        work = Path(tmp)
        if args.only in (None, "import"):
            folders = {}
            for count in imports:
                folders[count] = work / f"wavs-{count}"
                began = time.perf_counter()
                size = write_wavs(folders[count], count)
                print(f"wrote {count:,} WAV files ({size / count / 1024:.1f} KB each) in {time.perf_counter() - began:.0f} s", flush=True)
            if args.storage in ("local", "both"):
                figures["import"] = import_figures(args, work, folders, s3=False)
            if args.storage in ("s3", "both"):
                figures["import_s3"] = import_figures(args, work, folders, s3=True)
            for folder in folders.values():
                shutil.rmtree(folder, ignore_errors=True)
        if args.only in (None, "catalogue", "export"):
            figures["catalogue"] = catalogue_figures(args, work, catalogue, export_count, worker_seconds)
    print(f"done in {time.perf_counter() - started:.0f} s; load average {os.getloadavg()[0]:.1f}", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
