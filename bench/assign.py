"""Assigning a filter's sounds to annotators (issue 27): the time must grow linearly with the sounds.

Builds, in a scratch database (SQLite, or PostgreSQL with --database-url), a dataset of N sounds (bulk INSERTs: the
product's own writes are not what is measured) and three annotators, then measures in the same run:
  * baseline: reading the dataset's sound ids in id order (one streamed query), the least any assigning can cost;
  * assign(): the dataset's sounds to the three, two people for a seeded 10 % share and one for the rest (the
    figures of BENCHMARKS.md's issue 27 section), committed;
  * assign() again: nothing left to hand out (the idempotent re-run reads the filter and writes nothing).
at N and 10 x N sounds, so the ratios show whether each grows linearly.

Run: ``nice -n 10 python bench/assign.py [--sizes 10000 100000] [--database-url postgresql+psycopg://...]``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import scratch_database  # noqa: E402
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


def _assign(db: Database) -> object:
    with db.write() as session:
        owner = session.scalar(select(User).where(User.user_name == "owner"))
        return assign(session, owner, AssignRequest(CatalogueQuery(dataset=DATASET), PEOPLE, per_sound=2, share=0.1, seed=1))


def measure(database_url: str | None, count: int) -> dict[str, tuple[float, float]]:
    with scratch_database(database_url, f"assign_{count}") as db:
        build_s, _, _ = timed(lambda: build(db, count))
        read = timed(lambda: _read(db))
        first = timed(lambda: _assign(db))
        again = timed(lambda: _assign(db))
        with db.read() as session:
            rows = session.scalar(select(func.count()).select_from(Assignment))
    summary = first[2]
    print(f"{count:,} sounds (built in {build_s:.0f} s): read ids {read[0]:.2f} s wall / {read[1]:.2f} s CPU; "
          f"assign() {first[0]:.2f} s / {first[1]:.2f} s CPU ({first[0] / read[0]:.1f}x the read); "
          f"again (nothing new) {again[0]:.2f} s / {again[1]:.2f} s CPU")
    print(f"  {summary.line()}  {rows:,} rows")  # type: ignore[attr-defined]
    return {"read": read[:2], "assign": first[:2], "again": again[:2]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs=2, default=(10_000, 100_000), help="a small and a large dataset (sounds)")
    parser.add_argument("--database-url", help="a PostgreSQL URL (a scratch schema is made there); default SQLite")
    args = parser.parse_args()
    small, large = (measure(args.database_url, size) for size in args.sizes)
    ratio = args.sizes[1] / args.sizes[0]
    print(f"{args.sizes[1]:,} vs {args.sizes[0]:,} sounds ({ratio:.0f}x), wall time: assign() "
          f"{large['assign'][0] / small['assign'][0]:.1f}x, again {large['again'][0] / small['again'][0]:.1f}x, "
          f"read {large['read'][0] / small['read'][0]:.1f}x")


if __name__ == "__main__":
    main()
