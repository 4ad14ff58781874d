"""Agreement over a dataset annotated by three people (issue 27): the target is 10,000 sounds with 50 regions a
person in under 10 s on one core.

Builds, in a scratch database (SQLite, or PostgreSQL with --database-url), a dataset of N one-minute sounds, each
with 50 events that three people annotate with a little disagreement each: starts and ends off by ~40 ms, one event
in 25 missed, one in 30 split in two, one in 10 given another of five tags, one in 5 with a transcript of 3-8
words of which one in 12 is wrong. Rows go in with bulk INSERTs (the product's own writes are not what is measured).

Measured in the same run, on one core (the process is pinned to one CPU and numpy's threads to one):
  * baseline: reading the regions alone (core.team.regions.read_batches: the one streamed query cut into batches
    and its rows made arrays);
  * agreement(): the whole computation, reading included, and the same for the figures per sound
    (sound_figures), all at N and at 10 x N sounds to show the time grows linearly;
  * with --baseline REF: the same reading and agreement() by the code of REF (``git archive``, or a folder), in a
    child process pinned to the same CPU, on the same database: before against after.

Run: ``nice -n 10 python bench/agreement.py [--sizes 1000 10000] [--database-url postgresql+psycopg://...]
[--baseline c4e59fd]``. Building 10,000 sounds on PostgreSQL takes minutes (18 on a loaded machine): ``--build URL
N`` fills a database once and ``--urls SMALL LARGE`` measures on two such databases.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before numpy: one core, as the target says
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import contextlib  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import baseline_tree, scratch_database  # noqa: E402
from sqlalchemy import func, insert, select, text  # noqa: E402

from core.store import migrate  # noqa: E402
from core.store.db import Database  # noqa: E402
from core.store.ids import new_id  # noqa: E402
from core.store.models import Annotation, AnnotationTag, Sound, User  # noqa: E402
from core.team.agreement import agreement, sound_figures  # noqa: E402
from core.team.regions import read_batches  # noqa: E402

SECONDS = 60.0
EVENTS = 50
PEOPLE = ("ann", "ben", "cat")
TAGS = ("speech", "music", "dog", "car", "bird")
WORDS = ["the", "a", "cat", "dog", "sat", "ran", "on", "under", "mat", "rug", "and", "then", "quickly", "slowly", "home", "away"]
DATASET = "bench"


def _events(rng: random.Random) -> list[tuple[float, float, str, str | None]]:
    """The sound's true events: 50 in a minute, each 0.4-0.9 s in its own 1.2 s slot."""
    found = []
    for i in range(EVENTS):
        start = i * 1.2 + rng.uniform(0, 0.25)
        text_ = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 8))) if rng.random() < 0.2 else None
        found.append((start, start + rng.uniform(0.4, 0.9), rng.choice(TAGS), text_))
    return found


def _heard(rng: random.Random, event: tuple[float, float, str, str | None]) -> list[tuple[float, float, str, str | None]]:
    """One person's regions for one event: jittered, sometimes missed, split, mislabelled or misheard."""
    start, end, tag, text_ = event
    if rng.random() < 1 / 25:
        return []
    start, end = max(0.0, start + rng.gauss(0, 0.04)), end + rng.gauss(0, 0.04)
    if rng.random() < 1 / 10:
        tag = rng.choice(TAGS)
    if text_ and rng.random() < 0.5:
        text_ = " ".join(rng.choice(WORDS) if rng.random() < 1 / 12 else w for w in text_.split())
    if rng.random() < 1 / 30:
        middle = (start + end) / 2
        return [(start, middle, tag, text_), (middle, end, tag, None)]
    return [(start, end, tag, text_)]


def build(db: Database, count: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    with db.write() as session:
        people = {name: new_id() for name in ("owner", *PEOPLE)}
        session.execute(insert(User), [{"id": uid, "user_name": name, "user_type": "dataset" if name == "owner" else "human",
                                        "password_hash": "x"} for name, uid in people.items()])
    for low in range(0, count, 500):
        sounds, notes, tags = [], [], []
        for i in range(low, min(count, low + 500)):
            sound_id = new_id()
            sounds.append({"id": sound_id, "created_by": people["owner"], "dataset": DATASET, "path": f"s{i:06d}.wav",
                           "title": f"s{i:06d}", "duration_seconds": SECONDS, "annotation_count": 0})
            events = _events(rng)
            for person in PEOPLE:
                for event in events:
                    for start, end, tag, text_ in _heard(rng, event):
                        note_id = new_id()
                        notes.append({"id": note_id, "sound_id": sound_id, "created_by": people[person], "start_seconds": start,
                                      "duration_seconds": min(end, SECONDS) - start, "text": text_, "version": 1})
                        tags.append({"annotation_id": note_id, "tag": tag})
        with db.write() as session:
            for model, rows in ((Sound, sounds), (Annotation, notes), (AnnotationTag, tags)):
                session.execute(insert(model), rows)
    with db.write() as session:
        for table in ("users", "sounds", "annotations", "annotation_tags"):
            session.execute(text(f"ANALYZE {table}"))


def timed(fn) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """Wall and CPU seconds of one call (the machine is shared: CPU time is what the code itself costs)."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


# The baseline's side: the same two figures by another tree's code, printed as JSON (run with that tree first on
# the path, pinned to the given CPU).
_CHILD = """
import json, os, sys, time
os.sched_setaffinity(0, {int(sys.argv[2])})
from core.store.db import Database
from core.team.agreement import agreement
from core.team.regions import read_batches
db = Database(sys.argv[1])
def timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu
with db.read() as session:
    read = timed(lambda: sum(batch.start.size for batch in read_batches(session, "bench")))
with db.read() as session:
    total = timed(lambda: agreement(session, "bench"))
print(json.dumps({"read": read, "total": total}))
"""


def baseline(tree: Path, url: str) -> dict[str, tuple[float, float]]:
    env = dict(os.environ, PYTHONPATH=str(tree))
    cpu = str(min(os.sched_getaffinity(0))) if hasattr(os, "sched_getaffinity") else "0"
    out = subprocess.run([sys.executable, "-c", _CHILD, url, cpu], cwd=tree, env=env, check=True, capture_output=True, text=True)
    return {k: tuple(v) for k, v in json.loads(out.stdout.strip().splitlines()[-1]).items()}  # type: ignore[misc]


@contextlib.contextmanager
def database(database_url: str | None, count: int, url: str | None) -> Iterator[tuple[Database, str, float]]:
    """A database holding the bench dataset of ``count`` sounds: ``url``, built earlier (--build), or a scratch one
    built now; with its URL and the seconds the building took."""
    if url:
        db = Database(url)
        try:
            yield db, url, 0.0
        finally:
            db.dispose()
        return
    with scratch_database(database_url, f"agreement_{count}") as db:
        build_s, _ = timed(lambda: build(db, count))
        yield db, db.engine.url.render_as_string(hide_password=False), build_s


def measure(database_url: str | None, count: int, url: str | None, tree: Path | None) -> dict[str, tuple[float, float]]:
    with database(database_url, count, url) as (db, db_url, build_s):
        with db.read() as session:
            regions = sum(batch.start.size for batch in read_batches(session, DATASET))
            sounds = session.scalar(select(func.count()).select_from(Sound).where(Sound.dataset == DATASET)) or 0
        before = baseline(tree, db_url) if tree else None
        with db.read() as session:
            read = timed(lambda: sum(batch.start.size for batch in read_batches(session, DATASET)))
        found = []
        with db.read() as session:
            total = timed(lambda: found.append(agreement(session, DATASET)))
        with db.read() as session:
            per_sound = timed(lambda: sum(1 for _ in sound_figures(session, DATASET)))
    figures = found[0].overall
    print(f"{sounds:,} sounds, {regions:,} regions (built in {build_s:.0f} s): read alone {read[0]:.2f} s wall / {read[1]:.2f} s CPU, "
          f"agreement() {total[0]:.2f} s / {total[1]:.2f} s CPU ({total[1] / read[1]:.1f}x the read's CPU), "
          f"per-sound figures {per_sound[0]:.2f} s / {per_sound[1]:.2f} s CPU")
    if before:
        print(f"  baseline code: read alone {before['read'][0]:.2f} s / {before['read'][1]:.2f} s CPU, agreement() "
              f"{before['total'][0]:.2f} s / {before['total'][1]:.2f} s CPU; now/baseline CPU: agreement() "
              f"{total[1] / before['total'][1]:.2f}x, read {read[1] / before['read'][1]:.2f}x")
    print(f"  dataset: segment F1 {figures.segment_f1:.3f}, start {figures.start_ms:.0f} ms, end {figures.end_ms:.0f} ms, "
          f"wer {figures.wer:.3f}, kappa speech {figures.kappa['speech']:.3f}")
    return {"read": read, "total": total, "per_sound": per_sound}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs=2, default=(1_000, 10_000), help="a small and a large dataset (sounds)")
    parser.add_argument("--database-url", help="a PostgreSQL URL (a scratch schema is made there); default SQLite")
    parser.add_argument("--baseline", help="a git ref or folder whose code is measured on the same data too")
    parser.add_argument("--urls", nargs=2, help="measure on these two databases (--build made them), small then large")
    parser.add_argument("--build", nargs=2, metavar=("URL", "N"), help="only fill this database with N sounds")
    args = parser.parse_args()
    if args.build:
        db = Database(args.build[0])
        migrate.upgrade(db)
        build(db, int(args.build[1]))
        return
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    urls = args.urls or (None, None)
    with tempfile.TemporaryDirectory() as scratch, baseline_tree(args.baseline, Path(scratch)) as tree:
        small, large = (measure(args.database_url, size, url, tree) for size, url in zip(args.sizes, urls, strict=True))
    ratio = args.sizes[1] / args.sizes[0]
    print(f"{args.sizes[1]:,} vs {args.sizes[0]:,} sounds ({ratio:.0f}x), CPU time: agreement() {large['total'][1] / small['total'][1]:.1f}x, "
          f"read {large['read'][1] / small['read'][1]:.1f}x, per-sound figures {large['per_sound'][1] / small['per_sound'][1]:.1f}x")


if __name__ == "__main__":
    main()
