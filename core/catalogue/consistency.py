"""Whether storage and the database agree: every object has its row and every row its object (``fsck``).

A crash can leave either behind: an object written before its transaction (a registry file, a sound's peaks), an
object whose row was removed but which was not deleted yet, the temporary file of a write cut short, or a row whose
object was lost. Anything younger than the grace period is left alone, since an upload in progress looks the same.

Only Earmark's own objects are ever removed. The storage root may be shared (a bucket that also holds the user's
recordings, another tool's files), so an object without a row is Earmark's leftover only if the storage journal
names it (core.store.journal: keys are journalled before such writes and when their rows are removed); any other
object is foreign: counted, named in the report, never deleted.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import inspect, select

from core.catalogue.files import FileService
from core.store import journal
from core.store.db import Database, batched
from core.store.models import StoredFile, as_utc, utcnow
from core.store.storage import Storage

GRACE = dt.timedelta(days=1)
EXAMPLES = 3  # foreign keys named in the report


@dataclass
class Findings:
    orphans: list[str] = field(default_factory=list)  # Earmark's objects no row describes (journalled)
    missing: list[str] = field(default_factory=list)  # rows whose object is gone
    foreign: int = 0  # objects Earmark did not write: left alone
    foreign_examples: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)  # journal entries whose object is gone or has a row again
    partial: int = 0  # interrupted writes swept (only with repair)

    def line(self) -> str:
        return (f"{len(self.orphans):,} object(s) without a row, {len(self.missing):,} row(s) without an object"
                + (f", {self.partial:,} interrupted write(s) swept" if self.partial else ""))

    def foreign_line(self) -> str | None:
        """One sentence on the objects Earmark did not write, or None if there are none."""
        if not self.foreign:
            return None
        more = ", ..." if self.foreign > len(self.foreign_examples) else ""
        return (f"Found {self.foreign:,} object(s) Earmark did not write ({', '.join(self.foreign_examples)}{more}) "
                "and left them alone.")


def check(db: Database, storage: Storage, now: dt.datetime | None = None, grace: dt.timedelta = GRACE) -> Findings:
    """What disagrees, ignoring what changed within ``grace`` of ``now``; foreign objects counted apart."""
    before = (now or utcnow()) - grace
    with db.read() as session:
        rows = {key: as_utc(created) for key, created in  # files registered in place are not in Earmark's storage
                session.execute(select(StoredFile.key, StoredFile.date_created).where(StoredFile.source.is_(None)))}
        journalled = journal.entries(session)
    findings, seen = Findings(), set()
    for info in storage.list():
        seen.add(info.key)
        if info.key in rows:
            continue
        if info.key in journalled and journal.under_prefixes(info.key):
            if info.modified is None or as_utc(info.modified) < before:  # else maybe a write in progress
                findings.orphans.append(info.key)
        else:
            _foreign(findings, info.key)
    findings.missing = sorted(key for key, created in rows.items() if key not in seen and created < before)
    findings.stale = sorted(key for key, created in journalled.items()
                            if created < before and (key in rows or key not in seen))
    return findings


def _foreign(findings: Findings, key: str) -> None:
    findings.foreign += 1
    if len(findings.foreign_examples) < EXAMPLES:
        findings.foreign_examples.append(key)


def repair(db: Database, storage: Storage, now: dt.datetime | None = None, grace: dt.timedelta = GRACE) -> Findings:
    """Remove what :func:`check` finds of Earmark's own: its orphan objects, rows without objects (with their
    sounds and annotations, which point at audio that is gone), stale journal entries and interrupted writes
    under its prefixes. Foreign objects are left as they are."""
    findings = check(db, storage, now, grace)
    for key in findings.orphans:
        storage.delete(key)
    journal.clear(db, findings.orphans + findings.stale)
    for keys in batched(findings.missing):
        with db.write() as session:
            files = FileService(session, storage)
            for stored in list(session.scalars(select(StoredFile).where(StoredFile.key.in_(keys)))):
                if not inspect(stored).was_deleted:  # a sound's peaks go with its audio
                    files.remove(stored)
    findings.partial = storage.sweep_partial((now or utcnow()) - grace, journal.PREFIXES)
    return findings
