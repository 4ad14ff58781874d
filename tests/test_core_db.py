"""The SQLite settings the catalogue relies on, writes that survive concurrent writer processes, and
database URLs that never show their password."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from core.errors import ConfigError
from core.store import migrate
from core.store.db import Database, on_commit, on_rollback
from core.store.models import StoredFile, User
from tests.conftest import sqlite_only


@sqlite_only
def test_sqlite_runs_in_wal_mode_with_foreign_keys(db):
    with db.read() as session:
        assert session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert session.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert session.execute(text("PRAGMA busy_timeout")).scalar() >= 5000


def test_schema_is_created_on_first_start(tmp_path):
    database = Database(f"sqlite:///{tmp_path / 'new' / 'earmark.db'}")
    assert migrate.upgrade(database) == migrate.head()
    assert migrate.upgrade(database) == migrate.head()  # idempotent
    with database.read() as session:
        tables = {r[0] for r in session.execute(text("SELECT name FROM sqlite_master WHERE type='table'"))}
    assert {"users", "sounds", "annotations", "annotation_tags", "sound_tags", "sound_fields", "stored_files"} <= tables


def test_foreign_keys_are_enforced(db):
    with pytest.raises(IntegrityError), db.write() as session:
        session.add(StoredFile(key="k", category="data", original_filename="k", size=1, sha256="0" * 64,
                               created_by="no-such-user"))


def test_commit_and_rollback_hooks_run_once_and_only_on_their_outcome(db):
    ran: list[str] = []
    with db.write() as session:
        on_commit(session, lambda: ran.append("commit"))
        on_rollback(session, lambda: ran.append("rollback-1"))
    with pytest.raises(RuntimeError), db.write() as session:
        on_commit(session, lambda: ran.append("commit-2"))
        on_rollback(session, lambda: ran.append("rollback"))
        raise RuntimeError("boom")
    assert ran == ["commit", "rollback"]


def _writer(url: str, worker: int, rounds: int, report: str) -> None:
    """Read-then-write transactions, the pattern that fails with 'database is locked' when deferred.
    A failure's traceback goes to ``report`` so the test can say what went wrong in the child."""
    import traceback

    try:
        database = Database(url)
        for i in range(rounds):
            with database.write() as session:
                count = session.scalar(select(func.count()).select_from(User))
                session.add(User(user_name=f"w{worker}-{i}-{count}", user_type="human", password_hash="!"))
    except BaseException:
        Path(report).write_text(traceback.format_exc())
        raise


def test_concurrent_writer_processes_never_hit_database_is_locked(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'earmark.db'}"
    migrate.upgrade(Database(url))
    ctx = multiprocessing.get_context("spawn")
    reports = [tmp_path / f"writer{w}.err" for w in range(4)]
    workers = [ctx.Process(target=_writer, args=(url, w, 40, str(reports[w]))) for w in range(4)]
    for p in workers:
        p.start()
    for p in workers:
        p.join(120)
    errors = "\n".join(r.read_text() for r in reports if r.exists())
    assert [p.exitcode for p in workers] == [0, 0, 0, 0], errors or "a writer did not finish in 120 s"
    with Database(url).read() as session:
        assert session.scalar(select(func.count()).select_from(User)) == 160


@pytest.mark.parametrize("url", [
    "postgresql+psycopg://earmark:s3cret-pw@127.0.0.1:1/earmark",  # nothing listens on port 1
    "postgresql+nosuchdriver://earmark:s3cret-pw@127.0.0.1/earmark",
    "postgresql+psycopg://earmark:s3cret-pw@127.0.0.1:notaport/earmark",
])
def test_a_bad_database_url_is_named_without_its_password(url):
    with pytest.raises(ConfigError) as caught:
        migrate.upgrade(Database(url))
    message = str(caught.value)
    assert "EARMARK_DATABASE_URL" in message and "s3cret-pw" not in message, message


def test_starting_with_is_a_prefix_read_from_an_index(db):
    """Deleting a sound finds its derived files by key prefix: exactly those keys (not derived/ab0 or derived/abc/),
    and from an index, not a scan of every stored file (the query plan of each database says which)."""
    from core.store.db import starting_with

    owner = User(user_name="o", user_type="dataset", password_hash="x")
    keys = ["derived/ab/peaks.bin", "derived/ab/spectrogram-1.npy", "derived/ab0/peaks.bin", "derived/abc/x", "derived/a/b",
            "derived/ab", "derived/AB/x", "derived/ab/é.bin"]
    with db.write() as session:
        session.add(owner)
        session.flush()
        session.add_all(StoredFile(key=k, category="derived", original_filename="f", size=1, sha256="0" * 64, created_by=owner.id)
                        for k in keys)
    with db.write() as session:
        condition = starting_with(session, StoredFile.key, "derived/ab/")
        found = sorted(session.scalars(select(StoredFile.key).where(condition)))
        assert found == ["derived/ab/peaks.bin", "derived/ab/spectrogram-1.npy", "derived/ab/é.bin"]
        statement = select(StoredFile.id).where(condition)
        compiled = str(statement.compile(session.get_bind(), compile_kwargs={"literal_binds": True}))
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("SET LOCAL enable_seqscan = off"))  # a tiny table: ask whether an index *can* serve it
            plan = " ".join(session.scalars(text(f"EXPLAIN {compiled}")))
            assert "ix_stored_files_key_bytes" in plan, plan
        else:
            plan = " ".join(str(row[-1]) for row in session.execute(text(f"EXPLAIN QUERY PLAN {compiled}")))
            assert "USING INDEX" in plan and "(key>? AND key<?)" in plan, plan
