"""Keyset paging (``low_id``) against OFFSET paging (``page_number``), deep into a large catalogue.

Builds a SQLite catalogue of N sounds with the product's own schema, then times fetching one page of 100 at
several depths both ways through :func:`core.store.paging.paginate` (the code the services use), and prints one
line per depth with the ratio. Run: ``python bench/paging.py [--sounds 1000000]``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import best_of  # noqa: E402
from sqlalchemy import func, insert, select  # noqa: E402

from core.store import migrate  # noqa: E402
from core.store.db import Database  # noqa: E402
from core.store.ids import new_id  # noqa: E402
from core.store.models import Sound, User  # noqa: E402
from core.store.paging import PageRequest, paginate  # noqa: E402

PAGE = 100


def build(db: Database, count: int) -> list[str]:
    with db.write() as session:
        owner = User(user_name="bench", user_type="dataset", password_hash="!")
        session.add(owner)
        session.flush()
        owner_id = owner.id
    ids = []
    batch = 20_000
    for start in range(0, count, batch):
        rows = []
        for i in range(start, min(count, start + batch)):
            sound_id = new_id()
            ids.append(sound_id)
            rows.append({"id": sound_id, "created_by": owner_id, "dataset": f"ds{i % 10}", "path": f"id{i:07d}/v/{i}.wav",
                         "title": str(i), "duration_seconds": 1.0 + i % 7})
        with db.write() as session:
            session.execute(insert(Sound), rows)
    return ids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sounds", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{tmp}/bench.db")
        migrate.upgrade(db)
        t0 = time.perf_counter()
        ids = build(db, args.sounds)
        print(f"built {args.sounds:,} sounds in {time.perf_counter() - t0:.1f} s")
        query = select(Sound)
        with db.read() as session:
            count = best_of(args.repeats, lambda: session.scalar(select(func.count()).select_from(Sound)))
        print(f"total_count alone (COUNT(*) over every row, part of each page below): {count * 1000:.2f} ms")
        for depth in (0.001, 0.1, 0.5, 0.99):
            position = int(args.sounds * depth) // PAGE * PAGE
            with db.read() as session:
                offset = best_of(args.repeats, lambda session=session, position=position: paginate(
                    session, query, Sound.id, PageRequest(PAGE, position // PAGE + 1), {}))
                keyset = best_of(args.repeats, lambda session=session, position=position: paginate(
                    session, query, Sound.id, PageRequest(PAGE, 1, ids[position - 1] if position else None), {}))
                same = [s.id for s in paginate(session, query, Sound.id, PageRequest(PAGE, position // PAGE + 1), {}).items] == \
                       [s.id for s in paginate(session, query, Sound.id, PageRequest(PAGE, 1, ids[position - 1] if position else None), {}).items]
            print(f"page at row {position:>9,}: offset {offset * 1000:8.2f} ms, keyset {keyset * 1000:8.2f} ms, "
                  f"offset/keyset {offset / keyset:6.1f}x, same rows: {same}")


if __name__ == "__main__":
    main()
