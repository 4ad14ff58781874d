"""The running app's resources: settings, database and storage, opened and checked once at start.

Every interface (pages, HTTP, command line) opens one :class:`Earmark` and hands its ``db`` and ``storage``
to the services; nothing else holds a global.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from core.accounts.users import UserService
from core.errors import ConfigError
from core.store import migrate
from core.store.config import Settings
from core.store.config import settings as current_settings
from core.store.db import Database
from core.store.sources import CatalogueStorage, SourceReader
from core.store.storage import open_storage


@dataclass
class Earmark:
    settings: Settings
    db: Database
    storage: CatalogueStorage  # Earmark's own storage, and the registered sources read in place


def open_earmark(settings: Settings, *, check_storage: bool = True) -> Earmark:
    """Open and check the database (brought to the code's schema revision) and storage; create the admin from
    settings if needed.

    Raises :class:`core.errors.ConfigError` naming the setting when something is wrong.
    """
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.database_url)
    migrate.upgrade(db)
    storage = CatalogueStorage(open_storage(settings), SourceReader(settings.source_access))  # registered files read in place
    if check_storage:
        storage.check()
    if settings.admin_user and settings.admin_password:
        with db.write() as session:
            UserService(session).ensure_admin(settings.admin_user, settings.admin_password)
    return Earmark(settings, db, storage)


def check_settings_or_exit() -> None:
    """Open database and storage once before serving; on a bad setting print why and exit with status 1."""
    try:
        earmark = open_earmark(current_settings())
        earmark.db.dispose()
    except ConfigError as exc:
        print(f"Earmark cannot start: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
