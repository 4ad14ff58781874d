"""A catalogue bigger than one IN list: PostgreSQL's driver refuses a statement of more than 65,535 parameters
(older SQLite builds 32,766), so a balanced export and a job over 70,000 explicit sound ids must send their ids in
batches. The rows are bulk inserts (as bench/browse.py makes them), not imported audio."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import func, select, text

from core.errors import NotFound
from core.export.sampling import described
from core.export.subset import ExportRequest, choose
from core.jobs.queue import JobService
from core.store.db import IN_BATCH
from core.store.ids import new_id
from core.store.models import Job, JobItem, Sound, SoundField, StoredFile, utcnow
from tests.conftest import ON_POSTGRES, make_user

SOUNDS = 70_000


def many_sounds(db, owner_id: str, count: int) -> list[str]:
    """``count`` sounds with a stored file row each (no object) and a ``gender`` field, in a few statements."""
    ids, now = [new_id() for _ in range(count)], utcnow()
    files = [{"id": f"f{sound_id}", "key": f"audio/big/{i:06d}.wav", "category": "audio", "purpose": "ingestion",
              "original_filename": f"{i:06d}.wav", "extra": {}, "size": 1, "sha256": "0" * 64, "created_by": owner_id,
              "date_created": now}
             for i, sound_id in enumerate(ids)]
    sounds = [{"id": sound_id, "created_by": owner_id, "dataset": "big", "path": f"{i:06d}.wav", "title": f"{i:06d}",
               "file_id": f"f{sound_id}", "duration_seconds": 1.0, "date_created": now, "annotation_count": 0} for i, sound_id in enumerate(ids)]
    fields = [{"sound_id": sound_id, "name": "gender", "value": "fm"[i % 2]} for i, sound_id in enumerate(ids)]
    with db.write() as session:
        for model, rows in ((StoredFile, files), (Sound, sounds), (SoundField, fields)):
            session.execute(model.__table__.insert(), rows)  # Core: no ORM bookkeeping per row
    return ids


def test_a_balanced_subset_and_a_job_over_70000_explicit_sound_ids(local_earmark):
    earmark, vox = local_earmark, make_user(local_earmark.db, "vox", "dataset")
    ids = many_sounds(earmark.db, vox.id, SOUNDS)  # built once: 210,000 rows take a while on a busy machine
    assert SOUNDS > 65_535 > IN_BATCH
    with earmark.db.read() as session:
        picked = choose(session, ExportRequest(count=SOUNDS, seed=4, balance="gender"))
        metadata, _ = described(session, [s.id for s in picked])
    assert len(picked) == SOUNDS and {s.id for s in picked} == set(ids)
    assert Counter(fields["gender"] for fields in metadata.values()) == {"f": SOUNDS // 2, "m": SOUNDS // 2}

    with earmark.db.write() as session:
        job = JobService(session).submit(vox, "audio-stats", sound_ids=ids + ids[:10])  # repeats counted once
    with earmark.db.read() as session:
        assert session.get(Job, job.id).total == SOUNDS
        assert session.scalar(select(func.count()).select_from(JobItem).where(JobItem.job_id == job.id)) == SOUNDS
    with earmark.db.write() as session, pytest.raises(NotFound, match=r"No sound with id 'nope' \(and 1 more\)\."):
        JobService(session).submit(vox, "audio-stats", sound_ids=ids + ["nope", "nix"])


def test_a_job_over_a_query_copies_its_sounds_in_one_statement(local_earmark):
    """`jobs submit` over a query (a million sounds at most) makes its items with one INSERT ... SELECT: the ids go
    from table to table, never through Python in batches (which took 19 s of the 30 s allowed at a million)."""
    from sqlalchemy import event

    from core.catalogue.search import CatalogueQuery

    earmark, vox = local_earmark, make_user(local_earmark.db, "vox", "dataset")
    ids = many_sounds(earmark.db, vox.id, 12_000)
    statements: list[str] = []

    def seen(_connection, _cursor, statement, *_):
        statements.append(" ".join(statement.split()).lower())

    event.listen(earmark.db.engine, "before_cursor_execute", seen)
    try:
        with earmark.db.write() as session:
            job_id = JobService(session).submit(vox, "audio-stats", query=CatalogueQuery(dataset="big")).id
    finally:
        event.remove(earmark.db.engine, "before_cursor_execute", seen)
    inserts = [s for s in statements if s.startswith("insert into job_items")]
    assert len(inserts) == 1 and "select" in inserts[0], inserts
    with earmark.db.read() as session:
        assert session.get(Job, job_id).total == 12_000
        if ON_POSTGRES:  # the planner knows the items are there (a claim planned on an "empty" table read them all)
            assert session.scalar(text("SELECT reltuples FROM pg_class WHERE oid = 'job_items'::regclass")) >= 12_000
        assert set(session.scalars(select(JobItem.sound_id).where(JobItem.job_id == job_id))) == set(ids)
        assert all(state == "pending" for state in session.scalars(select(JobItem.state).where(JobItem.job_id == job_id)))
    with earmark.db.write() as session, pytest.raises(NotFound, match="nothing matches"):
        JobService(session).submit(vox, "audio-stats", query=CatalogueQuery(dataset="none"))
    with earmark.db.read() as session:
        assert session.scalar(select(func.count()).select_from(Job)) == 1  # the empty one left nothing behind
