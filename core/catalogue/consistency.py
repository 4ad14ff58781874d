"""Whether storage and the database agree: every object has its row and every row its object (``fsck``).

A crash can leave either behind: an object written before its transaction (a sound's peaks), the temporary file of
a write cut short, or a row whose object was lost. Anything younger than the grace period is left alone, since an
upload in progress looks the same: its peaks exist before its rows, its rows a moment before its audio.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import inspect, select

from core.catalogue.files import FileService
from core.store.db import Database
from core.store.models import StoredFile, as_utc, utcnow
from core.store.storage import Storage

GRACE = dt.timedelta(days=1)


@dataclass
class Findings:
    orphans: list[str] = field(default_factory=list)  # objects no row describes
    missing: list[str] = field(default_factory=list)  # rows whose object is gone
    partial: int = 0  # interrupted writes swept (only with repair)

    def line(self) -> str:
        return (f"{len(self.orphans):,} object(s) without a row, {len(self.missing):,} row(s) without an object"
                + (f", {self.partial:,} interrupted write(s) swept" if self.partial else ""))


def check(db: Database, storage: Storage, now: dt.datetime | None = None, grace: dt.timedelta = GRACE) -> Findings:
    """What disagrees, ignoring what changed within ``grace`` of ``now``."""
    before = (now or utcnow()) - grace
    with db.read() as session:
        rows = {key: as_utc(created) for key, created in session.execute(select(StoredFile.key, StoredFile.date_created))}
    findings, seen = Findings(), set()
    for info in storage.list():
        seen.add(info.key)
        if info.key not in rows and (info.modified is None or as_utc(info.modified) < before):
            findings.orphans.append(info.key)
    findings.missing = sorted(key for key, created in rows.items() if key not in seen and created < before)
    return findings


def repair(db: Database, storage: Storage, now: dt.datetime | None = None, grace: dt.timedelta = GRACE) -> Findings:
    """Remove what :func:`check` finds: orphan objects, rows without objects (with their sounds and
    annotations, which point at audio that is gone), and interrupted writes."""
    findings = check(db, storage, now, grace)
    for key in findings.orphans:
        storage.delete(key)
    if findings.missing:
        with db.write() as session:
            files = FileService(session, storage)
            for stored in list(session.scalars(select(StoredFile).where(StoredFile.key.in_(findings.missing)))):
                if not inspect(stored).was_deleted:  # a sound's peaks go with its audio
                    files.remove(stored)
    findings.partial = storage.sweep_partial((now or utcnow()) - grace)
    return findings
