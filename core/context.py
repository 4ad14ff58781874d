"""The running app's resources: settings, database and storage, opened and checked once at start.

Every interface (pages, HTTP, command line) opens one :class:`Earmark` and hands its ``db`` and ``storage``
to the services; nothing else holds a global.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.config import Settings
from core.db import Database
from core.storage import Storage, open_storage
from core.users import UserService


@dataclass
class Earmark:
    settings: Settings
    db: Database
    storage: Storage


def open_earmark(settings: Settings, *, check_storage: bool = True) -> Earmark:
    """Open and check the database and storage; create the schema and the admin from settings if needed.

    Raises :class:`core.errors.ConfigError` naming the setting when something is wrong.
    """
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.database_url)
    db.create_schema()
    storage = open_storage(settings)
    if check_storage:
        storage.check()
    if settings.admin_user and settings.admin_password:
        with db.write() as session:
            UserService(session).ensure_admin(settings.admin_user, settings.admin_password)
    return Earmark(settings, db, storage)
