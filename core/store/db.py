"""The SQL database: engine, sessions and the few statements that differ between SQLite and PostgreSQL.

Two kinds of session: :meth:`Database.read` for reading, :meth:`Database.write` for anything that changes
data. On SQLite a write transaction starts with ``BEGIN IMMEDIATE``, which takes the write lock up front: a
deferred transaction that reads and then writes fails with "database is locked" under concurrent writers no
matter the busy timeout, an immediate one just waits its turn. That lock is SQLite's alone: code that must be
correct with several writers says so in its statements (conditional updates, SQL increments, ``INSERT ... ON
CONFLICT`` through :func:`insert_for`, ``FOR UPDATE SKIP LOCKED``), which PostgreSQL honours under READ COMMITTED.
"""

from __future__ import annotations

import itertools
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar, cast

from sqlalchemy import ColumnElement, CursorResult, Engine, Result, String, and_, any_, create_engine, event, literal, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.pool import NullPool

from core.errors import ConfigError, NotFound

BUSY_TIMEOUT_MS = 60_000
# Values in one IN list: psycopg refuses a statement of more than 65,535 parameters (older SQLite builds 32,766),
# so a list that grows with the catalogue (a job's explicit sound ids, a subset) is sent in batches of this many.
IN_BATCH = 5_000


M = TypeVar("M")
T = TypeVar("T")


def batched(values: Iterable[T], size: int = IN_BATCH) -> Iterator[list[T]]:
    """``values`` in lists of at most ``size``, in order: an ``IN`` list built from the catalogue goes in these."""
    items = iter(values)
    while batch := list(itertools.islice(items, size)):
        yield batch


def one_of(session: Session, column: InstrumentedAttribute[str], values: list[str]) -> ColumnElement[bool]:
    """``column IN values`` for a batch of ids; on PostgreSQL one array parameter (``= ANY(...)``): psycopg
    rewrites a statement of 5,000 placeholders anew each time it is sent (20 ms a batch, bench/scale.py)."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(literal(values, postgresql.ARRAY(String)))
    return column.in_(values)


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


def _switch_to_wal(cursor: Any) -> None:
    """``PRAGMA journal_mode = WAL``, retried: on a new file, processes starting at the same moment race to switch
    it, and the loser gets "database is locked" at once (SQLite does not wait on the busy timeout for this)."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def rowcount(result: Result[Any]) -> int:
    """The rows an INSERT, UPDATE or DELETE matched. ``Session.execute`` is typed as returning a plain Result;
    for those statements it is a CursorResult, which has the count."""
    return cast("CursorResult[Any]", result).rowcount


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        _switch_to_wal(cursor)
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")


def redact_url(url: str) -> str:
    """A database URL fit to print: ``postgresql://earmark:***@host/db``."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not even a URL: show its scheme only, it may hold anything
        return url.split("://", 1)[0] + "://..." if "://" in url else "(not a URL)"


def scrub(message: str, url: str) -> str:
    """``message`` (a driver's error, say) with the URL's password taken out wherever it appears."""
    try:
        password = make_url(url).password
    except (ArgumentError, ValueError):
        return message.replace(url, redact_url(url))
    return message.replace(str(password), "***") if password else message


def starting_with(session: Session, column: Any, prefix: str) -> Any:
    """``column`` starts with ``prefix``, as a range of values in bytewise order, which an index answers on both
    databases (a ``LIKE 'prefix%'`` is a scan of the table on SQLite, and on PostgreSQL unless the index has
    pattern operators): SQLite compares bytewise already, PostgreSQL with ``COLLATE "C"`` (migration 0009)."""
    upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    ordered = column.collate("C") if session.get_bind().dialect.name == "postgresql" else column
    return and_(ordered >= prefix, ordered < upper)


def insert_for(session: Session, model: type) -> Any:
    """``INSERT`` for ``model`` in the session's dialect, so ``.on_conflict_do_nothing()`` /
    ``.on_conflict_do_update()`` can make a get-or-create or an upsert one race-free statement on both databases."""
    dialect = sqlite if session.get_bind().dialect.name == "sqlite" else postgresql
    return dialect.insert(model)


@contextmanager
def scratch_schema(server_url: str, name: str) -> Iterator[str]:
    """A new empty schema ``name`` on a PostgreSQL server, for a test or a benchmark: yields the URL whose
    connections use it (with ``public`` after it, where extensions live). Afterwards every connection still open
    on it is ended (they carry ``name`` as their application name) and the schema is dropped."""
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{name}"')
    url = make_url(server_url).update_query_dict({"options": f"-csearch_path={name},public", "application_name": name})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = :n"), {"n": name})
            connection.exec_driver_sql(f'DROP SCHEMA "{name}" CASCADE')
        admin.dispose()


class Database:
    """An engine plus the two ways to open a session on it."""

    def __init__(self, url: str) -> None:
        self.url = url
        try:
            parsed = make_url(url)
        except (ArgumentError, ValueError):
            raise ConfigError("EARMARK_DATABASE_URL", f"EARMARK_DATABASE_URL {redact_url(url)} is not a SQLAlchemy URL "
                                                      "(e.g. postgresql+psycopg://user:password@host/db).") from None
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
        try:
            self.engine = create_engine(url, connect_args=connect_args, pool_pre_ping=not self.is_sqlite)
        except (ArgumentError, NoSuchModuleError, ImportError) as exc:
            raise ConfigError("EARMARK_DATABASE_URL", f"EARMARK_DATABASE_URL {redact_url(url)} cannot be used: "
                                                      f"{scrub(str(exc), url)}.") from None
        if self.is_sqlite:
            _configure_sqlite(self.engine)
        self.write_engine = self.engine.execution_options(sqlite_begin="IMMEDIATE")

    @property
    def safe_url(self) -> str:
        """The URL with its password masked: the only form that goes into messages and logs."""
        return redact_url(self.url)

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reading; objects stay usable after it closes."""
        with Session(self.engine, expire_on_commit=False) as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A write transaction: committed when the block ends, rolled back if it raises."""
        with Session(self.write_engine, expire_on_commit=False) as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()
