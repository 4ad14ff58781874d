"""A new test database reaches the newest revision by replaying what the real migration did once this session.

Running every Alembic revision for each of a thousand tests cost a third of a second each on SQLite and more on
PostgreSQL (a large share of the suite's time). The first empty database of the session is migrated for real by
core/store/migrate.py, with every statement it sends recorded; every later empty database brought to the newest
revision gets the same statements, in order, in one transaction that first takes the same lock the migration takes.
A database that is not empty, or a migration to any other revision, goes through core/store/migrate.py unchanged, so
tests/test_core_migrations.py still exercises real upgrades of old databases.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, event, inspect, text
from sqlalchemy.engine.interfaces import DBAPICursor, ExecutionContext

from core.store import migrate
from core.store.db import Database

Recorded = list[tuple[str, Any]]
TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK")


class FreshSchema:
    """Per database dialect, the statements that take an empty database to the newest revision."""

    def __init__(self, real_upgrade: Callable[[Database, str], str]) -> None:
        self.real_upgrade = real_upgrade
        self.recorded: dict[str, Recorded] = {}

    def upgrade(self, db: Database, revision: str = "head") -> str:
        """core.store.migrate._upgrade, taking the recorded path when it gives the same result."""
        dialect = db.engine.dialect.name
        if revision != "head":
            return self.real_upgrade(db, revision)
        if dialect not in self.recorded:
            return self._record(db, dialect)
        with db.write_engine.begin() as connection:
            if not db.is_sqlite:
                connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": migrate.LOCK_ID})
            if _is_empty(connection):
                for statement, parameters in self.recorded[dialect]:
                    connection.exec_driver_sql(statement, parameters)
                return migrate.head()
        return self.real_upgrade(db, revision)

    def _record(self, db: Database, dialect: str) -> str:
        with db.write_engine.connect() as probe:
            empty = _is_empty(probe)
        statements: Recorded = []

        def remember(conn: Connection, cursor: DBAPICursor, statement: str, parameters: Any,
                     context: ExecutionContext | None, executemany: bool) -> None:
            if not statement.lstrip().upper().startswith(TRANSACTION_CONTROL):
                statements.append((statement, parameters))  # the replay runs in a transaction of its own

        event.listen(db.engine, "before_cursor_execute", remember)
        try:
            found = self.real_upgrade(db, "head")
        finally:
            event.remove(db.engine, "before_cursor_execute", remember)
        if empty and not _names_own_schema(db, statements):
            self.recorded[dialect] = statements
        return found


def _names_own_schema(db: Database, statements: Recorded) -> bool:
    """Whether a statement names the schema it ran in (e.g. an operator class of an extension that the migration
    found there): replayed in another test's schema it would point at one that is gone, so such a recording is not
    kept and every database migrates for real."""
    if db.is_sqlite:
        return False
    with db.engine.connect() as connection:
        schema = connection.execute(text("SELECT current_schema()")).scalar_one()
    return any(schema in statement for statement, _ in statements)


def _is_empty(connection: Connection) -> bool:
    """No tables at all: neither Alembic's nor one made before migrations existed."""
    return not inspect(connection).get_table_names()
