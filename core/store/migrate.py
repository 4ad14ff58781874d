"""Schema migrations with Alembic: the database is brought to the code's revision on every start.

The app, the command line (``python -m core db upgrade|current|history``) and the tests all call :func:`upgrade`
on the database they opened. A database made by a release before migrations existed (tables, no
``alembic_version``) is stamped with the baseline revision first, so it upgrades in place with its data. A
database whose revision this code does not know (made by a newer Earmark) is refused with one sentence rather
than used half-understood. Two replicas starting together take turns: on PostgreSQL an advisory lock, on SQLite
the write lock of ``BEGIN IMMEDIATE``.
"""

from __future__ import annotations

import functools
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, text
from sqlalchemy.exc import InterfaceError, OperationalError

from core.errors import ConfigError
from core.store.db import Database, scrub

MIGRATIONS = Path(__file__).with_name("migrations")
BASELINE = "0001"
LOCK_ID = 0x4561726D61726B  # "Earmark": the advisory lock held while migrating on PostgreSQL


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


@functools.cache
def scripts() -> ScriptDirectory:
    """The revisions shipped with this code, read once per process (Alembic executes every revision file to read it,
    which on each start would cost more than checking a database that is already at the newest revision)."""
    return ScriptDirectory.from_config(_config())


def head() -> str:
    newest = scripts().get_current_head()
    assert newest is not None, "core/store/migrations has revisions"
    return newest


def current(db: Database) -> str | None:
    """The database's revision (None for an empty database)."""
    with db.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def history() -> list[tuple[str, str]]:
    """(revision, what it does) from the first to the newest."""
    return [(s.revision, (s.doc or "").strip().splitlines()[0]) for s in reversed(list(scripts().walk_revisions()))]


def upgrade(db: Database, revision: str = "head") -> str:
    """Bring the database to ``revision``; returns the revision it is at afterwards.

    :class:`ConfigError` naming EARMARK_DATABASE_URL (password masked) if the database cannot be reached.
    """
    try:
        return _upgrade(db, revision)
    except (OperationalError, InterfaceError) as exc:
        raise ConfigError("EARMARK_DATABASE_URL", f"EARMARK_DATABASE_URL {db.safe_url} cannot be opened: "
                                                  f"{scrub(' '.join(str(exc.orig or exc).split()), db.url).rstrip('.')}.") from None


def _upgrade(db: Database, revision: str) -> str:
    with db.write_engine.begin() as connection:
        if not db.is_sqlite:
            connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": LOCK_ID})
        found = MigrationContext.configure(connection).get_current_revision()
        if found is not None and found == head() and revision == "head":
            return found
        known = {s.revision for s in scripts().walk_revisions()}
        if found is not None and found not in known:
            raise ConfigError("EARMARK_DATABASE_URL", f"The database is at revision {found}, newer than this Earmark knows "
                                                      f"(its newest is {head()}): upgrade Earmark before using it.")
        config = _config(connection)
        if found is None and inspect(connection).has_table("users"):
            command.stamp(config, BASELINE)  # made before migrations: its tables are the baseline's
        command.upgrade(config, revision)
        now = MigrationContext.configure(connection).get_current_revision()
        assert now is not None, "an upgrade leaves the database at a revision"
        return now
