"""A listing's ``total_count`` in a large catalogue: the count the API has made since migration 0005 (all matches
less the expired ones, each from an index) against the one before (one count of the live matches, "no expiry or
an expiry ahead"), in the same run on the same SQLite file.

Builds N sounds with the product's schema (10 datasets; one in a thousand expired, one in a thousand expiring
later), then times both statements unfiltered, for one dataset and for one uploader, and checks they agree.
Run: ``python bench/live_count.py [--sounds 1000000] [--database-url postgresql+psycopg://...]`` (PostgreSQL: in
a schema of its own, dropped afterwards).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import best_of, scratch_database  # noqa: E402
from paging import build  # noqa: E402
from sqlalchemy import func, select, text, update  # noqa: E402

from core.catalogue.sounds import SoundFilter, filtered, live_count  # noqa: E402
from core.store.db import Database  # noqa: E402
from core.store.models import Sound  # noqa: E402


def expire_some(db: Database, ids: list[str]) -> None:
    """One sound in a thousand expired yesterday, one in a thousand expires tomorrow."""
    now = dt.datetime.now(dt.UTC)
    with db.write() as session:
        for n, sound_id in enumerate(ids[::500]):
            when = now - dt.timedelta(days=1) if n % 2 else now + dt.timedelta(days=1)
            session.execute(update(Sound).where(Sound.id == sound_id).values(expires_at=when))


def before(filters: SoundFilter):
    """The count as paginate made it for every listing before: over the filtered query of live sounds."""
    return select(func.count()).select_from(filtered(select(*Sound.__table__.columns), filters).order_by(None).subquery())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sounds", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--database-url", help="a PostgreSQL database to run on (default: a SQLite file)")
    args = parser.parse_args()
    with scratch_database(args.database_url, "live_count") as db:
        started = time.perf_counter()
        ids = build(db, args.sounds)
        expire_some(db, ids)
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.execute(text("VACUUM ANALYZE sounds"))  # as autovacuum would: statistics, visibility map
        print(f"built {args.sounds:,} sounds on {db.engine.dialect.name} in {time.perf_counter() - started:.1f} s")
        with db.read() as session:
            owner = session.scalar(select(Sound.created_by).limit(1))
            for name, filters in (("every sound", SoundFilter()), ("one dataset", SoundFilter(dataset="ds3")),
                                  ("one uploader", SoundFilter(created_by=owner))):
                old, new = session.scalar(before(filters)), session.scalar(live_count(filters))
                old_s = best_of(args.repeats, lambda: session.scalar(before(filters)))  # noqa: B023
                new_s = best_of(args.repeats, lambda: session.scalar(live_count(filters)))  # noqa: B023
                print(f"{name:>13}: {old:>9,} live; before {old_s * 1000:8.2f} ms, now {new_s * 1000:7.2f} ms "
                      f"({old_s / new_s:6.1f}x), same count: {old == new}")


if __name__ == "__main__":
    main()
