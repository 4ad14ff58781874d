"""The SQL database: engine, sessions, schema creation.

Two kinds of session: :meth:`Database.read` for reading, :meth:`Database.write` for anything that changes
data. On SQLite a write transaction starts with ``BEGIN IMMEDIATE``, which takes the write lock up front: a
deferred transaction that reads and then writes fails with "database is locked" under concurrent writers no
matter the busy timeout, an immediate one just waits its turn.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from core.errors import ConfigError, NotFound
from core.store.models import Base

BUSY_TIMEOUT_MS = 60_000


TEXT_INDEX = (
    "CREATE VIRTUAL TABLE sound_search USING fts5(path, title, content='sounds', content_rowid='rowid', tokenize='trigram')",
    "CREATE TRIGGER sound_search_insert AFTER INSERT ON sounds BEGIN "
    "INSERT INTO sound_search(rowid, path, title) VALUES (new.rowid, new.path, new.title); END",
    "CREATE TRIGGER sound_search_delete AFTER DELETE ON sounds BEGIN "
    "INSERT INTO sound_search(sound_search, rowid, path, title) VALUES ('delete', old.rowid, old.path, old.title); END",
    "CREATE TRIGGER sound_search_update AFTER UPDATE OF path, title ON sounds BEGIN "
    "INSERT INTO sound_search(sound_search, rowid, path, title) VALUES ('delete', old.rowid, old.path, old.title); "
    "INSERT INTO sound_search(rowid, path, title) VALUES (new.rowid, new.path, new.title); END",
    "INSERT INTO sound_search(sound_search) VALUES ('rebuild')",
)


M = TypeVar("M")


def get_or_not_found(session: Session, model: type[M], ident: Any, what: str, options: Sequence[Any] = ()) -> M:
    """The row of ``model`` with this primary key, or NotFound naming ``what`` was looked for and by which id
    (every service's ``get`` says "No sound with id 'x'." the same way). ``options``: loader options."""
    row = session.get(model, ident, options=options)
    if row is None:
        raise NotFound(f"No {what} with id {ident!r}.")
    return row


def on_commit(session: Session, action: Callable[[], None]) -> None:
    """Run ``action`` once the session's transaction has committed (e.g. delete an object whose row is gone)."""
    session.info.setdefault("_on_commit", []).append(action)


def on_rollback(session: Session, action: Callable[[], None]) -> None:
    """Run ``action`` if the transaction rolls back (e.g. delete an object written for rows never committed)."""
    session.info.setdefault("_on_rollback", []).append(action)


def _run_hooks(session: Session, mine: str, other: str) -> None:
    actions = session.info.pop(mine, [])
    session.info.pop(other, None)
    for action in actions:
        action()


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    _run_hooks(session, "_on_commit", "_on_rollback")


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    _run_hooks(session, "_on_rollback", "_on_commit")


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:  # type: ignore[no-untyped-def]
        mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")


class Database:
    """An engine plus the two ways to open a session on it."""

    def __init__(self, url: str) -> None:
        self.url = url
        parsed = make_url(url)
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        if self.is_sqlite and parsed.database and parsed.database != ":memory:":
            folder = Path(parsed.database).parent
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise ConfigError(
                    "EARMARK_DATABASE_URL",
                    f"EARMARK_DATABASE_URL folder {folder} cannot be created: {exc.strerror or exc}.",
                ) from exc
        connect_args = {"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False} if self.is_sqlite else {}
        self.engine = create_engine(url, connect_args=connect_args, pool_pre_ping=not self.is_sqlite)
        if self.is_sqlite:
            _configure_sqlite(self.engine)
        self._write_engine = self.engine.execution_options(sqlite_begin="IMMEDIATE")

    def create_schema(self) -> None:
        """Create missing tables (and, on SQLite, the text-search index); safe to call on every start."""
        try:
            Base.metadata.create_all(self.engine)
            if self.is_sqlite:
                self._create_text_index()
        except OperationalError as exc:
            raise ConfigError(
                "EARMARK_DATABASE_URL", f"EARMARK_DATABASE_URL {self.url} cannot be opened: {exc.orig}."
            ) from exc

    def _create_text_index(self) -> None:
        """FTS5 with trigrams over sounds' path and title: ``%text%`` search without scanning every row.

        Kept in step with ``sounds`` by triggers; filled from the table when first created.
        """
        with self._write_engine.begin() as connection:
            if connection.exec_driver_sql("SELECT 1 FROM sqlite_master WHERE name = 'sound_search'").first():
                return
            for statement in TEXT_INDEX:
                connection.exec_driver_sql(statement)

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reading; objects stay usable after it closes."""
        with Session(self.engine, expire_on_commit=False) as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A write transaction: committed when the block ends, rolled back if it raises."""
        with Session(self._write_engine, expire_on_commit=False) as session:
            with session.begin():
                yield session

    def dispose(self) -> None:
        self.engine.dispose()
