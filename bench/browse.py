"""Browse at scale: a catalogue of 1,000,000 sounds and 5,000,000 annotations, filtered pages timed.

Builds the catalogue with the product's schema (tags, metadata fields, annotation counts, the trigram text
index), then times ``core.catalogue.search.search`` as the Browse page calls it on a big catalogue (the page without
the count) for a set of filters and sorts, on the first page and on deep pages (cursors near 10%, 50% and 90% of
the matches), and prints p50/p95 per case, with the cost of the capped count (made when asked) beside it.
Baseline in the same run: the same page by OFFSET. Run: ``python bench/browse.py [--sounds 1000000]`` on
SQLite, or with ``--database-url postgresql+psycopg://...`` on a PostgreSQL database (in a schema of its own,
dropped afterwards).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import scratch_database, times_ms  # noqa: E402
from sqlalchemy import insert, select, text  # noqa: E402

from core.catalogue.search import (  # noqa: E402
    COUNT_CAP,
    SORTS,
    CatalogueQuery,
    narrowed,
    search,
    text_index,
)
from core.store.db import Database  # noqa: E402
from core.store.ids import new_id  # noqa: E402
from core.store.models import (  # noqa: E402
    Annotation,
    AnnotationTag,
    Sound,
    SoundField,
    SoundTag,
    User,
)

TAGS = [f"tag{i:02d}" for i in range(20)]


def build(db: Database, sounds: int, per_sound: float) -> tuple[User, User]:
    rng = random.Random(1)
    with db.write() as session:
        owner, viewer = User(user_name="bench", user_type="dataset", password_hash="!"), User(user_name="me", user_type="human", password_hash="!")
        session.add_all([owner, viewer])
        session.flush()
    batch = 50_000
    for start in range(0, sounds, batch):
        rows, fields, tags, notes, note_tags = [], [], [], [], []
        for i in range(start, min(sounds, start + batch)):
            sound_id = new_id()
            count = min(20, int(rng.expovariate(1 / per_sound))) if rng.random() > 0.1 else 0
            rows.append({"id": sound_id, "created_by": owner.id, "dataset": f"ds{i % 10}", "path": f"id{i // 50:05d}/v{i % 7}/{i:07d}.wav",
                         "title": f"{i:07d}", "duration_seconds": round(1 + rng.random() * 9, 3), "annotation_count": count})
            fields += [{"sound_id": sound_id, "name": "gender", "value": rng.choice("fm")},
                       {"sound_id": sound_id, "name": "set", "value": rng.choice(["dev", "dev", "dev", "test"])}]
            tags.append({"sound_id": sound_id, "tag": rng.choice(TAGS)})
            for _ in range(count):
                note_id = new_id()
                notes.append({"id": note_id, "sound_id": sound_id, "created_by": viewer.id if rng.random() < 0.05 else owner.id,
                              "start_seconds": 0.0, "duration_seconds": 0.5, "version": 1})
                note_tags.append({"annotation_id": note_id, "tag": rng.choice(TAGS)})
        with db.write() as session:
            for model, data in ((Sound, rows), (SoundField, fields), (SoundTag, tags), (Annotation, notes), (AnnotationTag, note_tags)):
                if data:
                    session.execute(insert(model), data)
    with db.write() as session:
        session.execute(text("ANALYZE"))
    return owner, viewer


def cursor_at(session, spec: CatalogueQuery, viewer, fraction: float, total: int) -> str | None:
    """The cursor of the row at ``fraction`` of the matches (found with OFFSET once, outside the timing)."""
    column = SORTS[spec.sort]
    order = [column.desc(), Sound.id.desc()] if spec.descending else [column, Sound.id]
    row = session.execute(narrowed(select(column, Sound.id), spec, viewer.id, text_index(session)).order_by(*order)
                          .offset(int(total * fraction)).limit(1)).first()
    if row is None:
        return None
    return json.dumps([None if spec.sort == "date" else row[0], row[1]])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sounds", type=int, default=1_000_000)
    parser.add_argument("--annotations-per-sound", type=float, default=5.0)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--database-url", help="a PostgreSQL database to run on (default: a SQLite file)")
    args = parser.parse_args()
    with scratch_database(args.database_url, "browse") as db:
        print(f"on {db.engine.dialect.name}")
        t0 = time.perf_counter()
        _, viewer = build(db, args.sounds, args.annotations_per_sound / 0.9)
        with db.read() as session:
            counts = session.execute(text("SELECT (SELECT count(*) FROM sounds), (SELECT count(*) FROM annotations)")).one()
        print(f"built {counts[0]:,} sounds and {counts[1]:,} annotations in {time.perf_counter() - t0:.0f} s")
        cases = {
            "everything, newest first": CatalogueQuery(sort="date", descending=True),
            "one dataset, by name": CatalogueQuery(dataset="ds3", sort="name"),
            "one tag": CatalogueQuery(tags=("tag07",)),
            "gender=f and set=test": CatalogueQuery(where=(("gender", "f"), ("set", "test"))),
            "duration 5-6 s, by duration": CatalogueQuery(min_duration=5, max_duration=6, sort="duration"),
            "not annotated": CatalogueQuery(annotated="no"),
            "most annotated first": CatalogueQuery(sort="annotations", descending=True),
            "annotated by me": CatalogueQuery(annotated="mine"),
            "dataset + tag + gender": CatalogueQuery(dataset="ds1", tags=("tag02",), where=(("gender", "m"),)),
            "text search 'id01234'": CatalogueQuery(text="id01234"),
        }
        all_times = []
        with db.read() as session:
            for name, spec in cases.items():
                fts = text_index(session)
                total = session.execute(select(text("count(*)")).select_from(narrowed(select(Sound.id), spec, viewer.id, fts).subquery())).scalar()
                times = []
                for fraction in (0.0, 0.1, 0.5, 0.9):
                    cursor = cursor_at(session, spec, viewer, fraction, total) if fraction else None
                    times += times_ms(lambda spec=spec, cursor=cursor: search(session, spec, viewer, page_size=50, cursor=cursor, count=False), args.repeats)
                counting = times_ms(lambda spec=spec: search(session, spec, viewer, page_size=50, count=True), 3)
                offset = times_ms(lambda spec=spec, fts=fts, total=total: session.execute(narrowed(select(Sound), spec, viewer.id, fts).order_by(SORTS[spec.sort], Sound.id)
                                                       .offset(int(total * 0.9)).limit(51)).all(), 3)
                all_times += times
                p95 = statistics.quantiles(times, n=20)[-1]
                print(f"{name:30s} {total:>9,} matches: page p50 {statistics.median(times):6.1f} ms, p95 {p95:6.1f} ms; "
                      f"with the count (up to {COUNT_CAP:,}) {min(counting):6.1f} ms; OFFSET to 90%: {min(offset):7.1f} ms")
        print(f"all cases: p95 {statistics.quantiles(all_times, n=20)[-1]:.1f} ms over {len(all_times)} pages")


if __name__ == "__main__":
    main()
