"""Splitting a catalogue grouped by speaker (issue 28: 1,000,000 sounds within 30 s): N sounds of N/50 speakers
(each with ``speaker_id`` and ``gender``) bulk-inserted into a scratch database, then ``train=0.8,dev=0.1,test=0.1``
grouped by speaker placed and stored (core/export/splits.py's assign, timed by its three steps: read, place,
store; every sound's ``split`` field written), then
the same again (every split already stored: what a re-run or an export of a grown dataset costs), then the leakage
report a split export carries (core/export/splits.py's leakage); and the check that the sounds have the rule's
columns (check_columns, which assign runs first). Baseline in the same run: reading the rule's
columns of every sound once (the query assign starts with), the least any placement costs.

    python bench/splits.py [--sizes 100000,1000000] [--database-url postgresql+psycopg://...]

Sounds have no stored files (placing reads only the catalogue).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import scratch_database  # noqa: E402
from sqlalchemy import func, insert, select  # noqa: E402

from core.accounts.users import UserService  # noqa: E402
from core.catalogue.search import CatalogueQuery  # noqa: E402
from core.export import splits  # noqa: E402
from core.store.db import Database  # noqa: E402
from core.store.ids import new_id  # noqa: E402
from core.store.models import Sound, SoundField, utcnow  # noqa: E402

DATASET = "bench"
PER_SPEAKER = 50
CHUNK = 50_000


def build(db: Database, count: int) -> None:
    """``count`` sounds, a speaker per PER_SPEAKER of them, alternating gender; no files."""
    with db.write() as session:
        owner = UserService(session).create(None, "bench", "bench-password-1", "dataset", is_admin=True).id
    now = utcnow()
    for low in range(0, count, CHUNK):
        sounds, fields = [], []
        for i in range(low, min(count, low + CHUNK)):
            sound_id, speaker = new_id(), i // PER_SPEAKER
            sounds.append({"id": sound_id, "created_by": owner, "dataset": DATASET, "path": f"spk{speaker:06d}/{i:07d}.wav",
                           "title": f"{i:07d}", "duration_seconds": 2.0 + (i % 7), "sample_key": (i * 7_919) % 2_147_483_629,
                           "date_created": now, "annotation_count": 0})
            fields += [{"sound_id": sound_id, "name": "speaker_id", "value": f"spk{speaker:06d}"},
                       {"sound_id": sound_id, "name": "gender", "value": "fm"[speaker % 2]}]
        with db.write() as session:
            session.connection().execute(insert(Sound.__table__), sounds)
            session.connection().execute(insert(SoundField.__table__), fields)


def measure(count: int, database_url: str | None) -> None:
    with scratch_database(database_url, f"splits_{count}") as db:
        started = time.perf_counter()
        build(db, count)
        where = db.engine.dialect.name
        print(f"{where}, {count:,} sounds: built in {time.perf_counter() - started:.1f} s", flush=True)
        query = CatalogueQuery(dataset=DATASET)
        rule = splits.SplitRule(splits.parse_shares("train=0.8,dev=0.1,test=0.1"), group_by=("speaker_id",), seed=1)
        with db.read() as session:
            started = time.perf_counter()
            members = splits._members(session, query, None, rule)
            baseline = time.perf_counter() - started
        del members
        print(f"{where}, {count:,} sounds: reading the rule's columns of every sound {baseline:.1f} s (baseline)", flush=True)
        with db.read() as session:
            started = time.perf_counter()
            splits.check_columns(session, query, rule)
            checked = time.perf_counter() - started
        print(f"{where}, {count:,} sounds: checking that the sounds have the rule's columns (assign's first step) "
              f"{checked * 1000:.0f} ms = {checked / baseline:.3f}x the baseline", flush=True)
        for run in ("first (every split new)", "again (every split stored)"):
            with db.write() as session:
                started = time.perf_counter()
                members = splits._members(session, query, None, rule)
                read = time.perf_counter()
                placement = splits.place(members, rule)
                placed = time.perf_counter()
                splits.store(session, members, placement, rule)
                del members
            seconds = time.perf_counter() - started
            print(f"{where}, {count:,} sounds: placed and stored, {run}: {seconds:.1f} s = {seconds / baseline:.1f}x the baseline "
                  f"(read {read - started:.1f} s, place {placed - read:.1f} s, store and commit {time.perf_counter() - placed:.1f} s; "
                  f"{placement.new_groups:,} groups placed, {placement.new_sounds:,} splits written)", flush=True)
        with db.read() as session:
            stored = session.scalar(select(func.count()).select_from(SoundField).where(SoundField.name == "split"))
            started = time.perf_counter()
            report = splits.leakage(session, query, rule)
            seconds = time.perf_counter() - started
        shares = splits.shares_met(report, rule)
        print(f"{where}, {count:,} sounds: leakage report {seconds:.1f} s = {seconds / baseline:.1f}x the baseline; {stored:,} splits "
              f"stored; shares met {shares}; groups across splits {report['groups_across_splits']['count']}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--database-url", help="a PostgreSQL server URL (a scratch schema is made and dropped); default SQLite")
    args = parser.parse_args()
    for size in (int(s) for s in args.sizes.split(",")):
        measure(size, args.database_url)


if __name__ == "__main__":
    main()
