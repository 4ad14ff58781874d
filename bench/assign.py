"""Assigning a filter's sounds to annotators (issue 27): the time must grow linearly with the sounds.

Builds, in a scratch database (SQLite, or PostgreSQL with --database-url), a dataset of N sounds (bulk INSERTs: the
product's own writes are not what is measured) and three annotators, then measures in the same run:
  * baseline: reading the dataset's sound ids in id order (one streamed query), the least any assigning can cost;
  * with --baseline REF: assign() by the code of REF (``git archive``, or a folder) in a child process, on the
    same database, rolled back afterwards: the before figure;
  * assign(): the dataset's sounds to the three, two people for a seeded 10 % share and one for the rest (the
    figures of BENCHMARKS.md's issue 27 section), rolled back, then again committed;
  * assign() once more: nothing left to hand out (the idempotent re-run reads the filter and writes nothing).
at N and 10 x N sounds, so the ratios show whether each grows linearly.

Run: ``nice -n 10 python bench/assign.py [--sizes 10000 100000] [--database-url postgresql+psycopg://...]
[--baseline c4e59fd]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import baseline_tree, scratch_database  # noqa: E402
from sqlalchemy import func, insert, select, text  # noqa: E402

from core.catalogue.search import CatalogueQuery  # noqa: E402
from core.store.db import Database  # noqa: E402
from core.store.ids import new_id  # noqa: E402
from core.store.models import Assignment, Sound, User, new_sample_key  # noqa: E402
from core.team.assignments import AssignRequest, assign  # noqa: E402

DATASET = "bench"
PEOPLE = ("ann", "ben", "cat")


def build(db: Database, count: int) -> None:
    with db.write() as session:
        people = {name: new_id() for name in ("owner", *PEOPLE)}
        session.execute(insert(User), [{"id": uid, "user_name": name, "user_type": "dataset" if name == "owner" else "human",
                                        "password_hash": "x"} for name, uid in people.items()])
    for low in range(0, count, 5_000):
        rows = [{"id": new_id(), "created_by": people["owner"], "dataset": DATASET, "path": f"s{i:07d}.wav", "title": f"s{i:07d}",
                 "duration_seconds": 10.0, "annotation_count": 0, "sample_key": new_sample_key()}
                for i in range(low, min(count, low + 5_000))]
        with db.write() as session:
            session.execute(insert(Sound), rows)
    with db.write() as session:
        for table in ("users", "sounds", "assignments"):
            session.execute(text(f"ANALYZE {table}"))


def timed(fn) -> tuple[float, float, object]:  # type: ignore[no-untyped-def]
    """Wall and CPU seconds of one call (the machine is shared: CPU time is what this process itself costs;
    on PostgreSQL the server's work is in the wall time only), and what it returned."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def _read(db: Database) -> int:
    with db.read() as session:
        return sum(1 for _ in session.execute(select(Sound.id).where(Sound.dataset == DATASET).order_by(Sound.id)
                                              .execution_options(yield_per=5_000)))


class _Undo(Exception):
    """Raised to roll a measured hand-out back."""


def _assign(db: Database, keep: bool = True) -> object:
    try:
        with db.write() as session:
            owner = session.scalar(select(User).where(User.user_name == "owner"))
            summary = assign(session, owner, AssignRequest(CatalogueQuery(dataset=DATASET), PEOPLE, per_sound=2, share=0.1, seed=1))
            if not keep:
                raise _Undo
    except _Undo:
        pass
    return summary


# The baseline's side: the same hand-out by another tree's code, rolled back, its wall and CPU seconds as JSON.
_CHILD = """
import json, sys, time
from sqlalchemy import select
from core.catalogue.search import CatalogueQuery
from core.store.db import Database
from core.store.models import User
from core.team.assignments import AssignRequest, assign
class Undo(Exception):
    pass
db = Database(sys.argv[1])
wall, cpu = time.perf_counter(), time.process_time()
try:
    with db.write() as session:
        owner = session.scalar(select(User).where(User.user_name == "owner"))
        assign(session, owner, AssignRequest(CatalogueQuery(dataset="bench"), ("ann", "ben", "cat"), per_sound=2, share=0.1, seed=1))
        raise Undo
except Undo:
    pass
print(json.dumps([time.perf_counter() - wall, time.process_time() - cpu]))
"""


def baseline(tree: Path, url: str) -> tuple[float, float]:
    env = dict(os.environ, PYTHONPATH=str(tree))
    out = subprocess.run([sys.executable, "-c", _CHILD, url], cwd=tree, env=env, check=True, capture_output=True, text=True)
    wall, cpu = json.loads(out.stdout.strip().splitlines()[-1])
    return wall, cpu


def measure(database_url: str | None, count: int, tree: Path | None) -> dict[str, tuple[float, float]]:
    with scratch_database(database_url, f"assign_{count}") as db:
        build_s, _, _ = timed(lambda: build(db, count))
        read = timed(lambda: _read(db))
        before = baseline(tree, db.engine.url.render_as_string(hide_password=False)) if tree else None
        undone = timed(lambda: _assign(db, keep=False))
        first = timed(lambda: _assign(db))
        again = timed(lambda: _assign(db))
        with db.read() as session:
            rows = session.scalar(select(func.count()).select_from(Assignment))
    summary = first[2]
    print(f"{count:,} sounds (built in {build_s:.0f} s): read ids {read[0]:.2f} s wall / {read[1]:.2f} s CPU; "
          f"assign() {undone[0]:.2f} s / {undone[1]:.2f} s CPU rolled back, {first[0]:.2f} s / {first[1]:.2f} s CPU committed; "
          f"again (nothing new) {again[0]:.2f} s / {again[1]:.2f} s CPU")
    if before:
        print(f"  baseline code: assign() {before[0]:.2f} s wall / {before[1]:.2f} s CPU rolled back; now/baseline wall "
              f"{undone[0] / before[0]:.2f}x")
    print(f"  {summary.line()}  {rows:,} rows")  # type: ignore[attr-defined]
    return {"read": read[:2], "assign": undone[:2], "again": again[:2], "before": before or (0.0, 0.0)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs=2, default=(10_000, 100_000), help="a small and a large dataset (sounds)")
    parser.add_argument("--database-url", help="a PostgreSQL URL (a scratch schema is made there); default SQLite")
    parser.add_argument("--baseline", help="a git ref or folder whose assign() is measured on the same data too")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch, baseline_tree(args.baseline, Path(scratch)) as tree:
        small, large = (measure(args.database_url, size, tree) for size in args.sizes)
    ratio = args.sizes[1] / args.sizes[0]
    print(f"{args.sizes[1]:,} vs {args.sizes[0]:,} sounds ({ratio:.0f}x), wall time: assign() "
          f"{large['assign'][0] / small['assign'][0]:.1f}x, again {large['again'][0] / small['again'][0]:.1f}x, "
          f"read {large['read'][0] / small['read'][0]:.1f}x"
          + (f", baseline code's assign() {large['before'][0] / small['before'][0]:.1f}x" if args.baseline else ""))


if __name__ == "__main__":
    main()
