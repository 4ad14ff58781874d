"""Agreement over a dataset annotated by three people (issue 27): the target is 10,000 sounds with 50 regions a
person in under 10 s on one core.

Builds, in a scratch database (SQLite, or PostgreSQL with --database-url), a dataset of N one-minute sounds, each
with 50 events that three people annotate with a little disagreement each: starts and ends off by ~40 ms, one event
in 25 missed, one in 30 split in two, one in 10 given another of five tags, one in 5 with a transcript of 3-8
words of which one in 12 is wrong. Rows go in with bulk INSERTs (the product's own writes are not what is measured).

Measured in the same run, on one core (the process is pinned to one CPU and numpy's threads to one):
  * baseline: reading the regions alone (core.team.regions.read_batches: the one ordered query per batch and
    its rows made arrays);
  * agreement(): the whole computation, reading included, and the same for the figures per sound
    (sound_figures), all at N and at 10 x N sounds to show the time grows linearly.

Run: ``nice -n 10 python bench/agreement.py [--sizes 1000 10000] [--database-url postgresql+psycopg://...]``.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before numpy: one core, as the target says
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import random  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import scratch_database  # noqa: E402
from sqlalchemy import insert, text  # noqa: E402

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


def measure(database_url: str | None, count: int) -> dict[str, tuple[float, float]]:
    with scratch_database(database_url, f"agreement_{count}") as db:
        build_s, _ = timed(lambda: build(db, count))
        with db.read() as session:
            regions = sum(batch.start.size for batch in read_batches(session, DATASET))
        with db.read() as session:
            read = timed(lambda: sum(batch.start.size for batch in read_batches(session, DATASET)))
        found = []
        with db.read() as session:
            total = timed(lambda: found.append(agreement(session, DATASET)))
        with db.read() as session:
            per_sound = timed(lambda: sum(1 for _ in sound_figures(session, DATASET)))
    figures = found[0].overall
    print(f"{count:,} sounds, {regions:,} regions (built in {build_s:.0f} s): read alone {read[0]:.2f} s wall / {read[1]:.2f} s CPU, "
          f"agreement() {total[0]:.2f} s / {total[1]:.2f} s CPU ({total[1] / read[1]:.1f}x the read's CPU), "
          f"per-sound figures {per_sound[0]:.2f} s / {per_sound[1]:.2f} s CPU")
    print(f"  dataset: segment F1 {figures.segment_f1:.3f}, start {figures.start_ms:.0f} ms, end {figures.end_ms:.0f} ms, "
          f"wer {figures.wer:.3f}, kappa speech {figures.kappa['speech']:.3f}")
    return {"read": read, "total": total, "per_sound": per_sound}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs=2, default=(1_000, 10_000), help="a small and a large dataset (sounds)")
    parser.add_argument("--database-url", help="a PostgreSQL URL (a scratch schema is made there); default SQLite")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    small, large = (measure(args.database_url, size) for size in args.sizes)
    ratio = args.sizes[1] / args.sizes[0]
    print(f"{args.sizes[1]:,} vs {args.sizes[0]:,} sounds ({ratio:.0f}x), CPU time: agreement() {large['total'][1] / small['total'][1]:.1f}x, "
          f"read {large['read'][1] / small['read'][1]:.1f}x, per-sound figures {large['per_sound'][1] / small['per_sound'][1]:.1f}x")


if __name__ == "__main__":
    main()
