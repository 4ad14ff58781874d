"""The record of the storage keys Earmark writes, so that purge, fsck and deletions touch only Earmark's objects.

A bucket or folder may hold objects Earmark did not write (the user's own files beside Earmark's, another tool's),
so "an object no row describes" is no proof that an object is Earmark's leftover. The proof is a record made
*before* the object could exist: every object Earmark writes is under one of its :data:`PREFIXES` and is named
either by its ``stored_files`` row or by this journal, which covers the two moments when no row does:

- between a write and the commit of the row describing it (a registry file, a computed peaks pyramid, an
  analyzer's output): :func:`record` before the write, :func:`settle` in the transaction that writes the row;
- between the commit that removes a row and the deletion of its object: :func:`record_in` in that transaction,
  :func:`clear` once the object is deleted.

A crash in either moment leaves the key in the journal, so fsck can remove the object; an object that no row and
no journal entry names, or that lies outside the prefixes, is foreign and is left alone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from core.store.db import Database, batched, insert_for
from core.store.models import JournalEntry, as_utc, utcnow

PREFIXES = ("audio/", "derived/", "files/", "exports/")  # Earmark writes nothing anywhere else in its storage


def under_prefixes(key: str) -> bool:
    """Whether ``key`` is where Earmark writes (necessary, not sufficient, for the object to be Earmark's)."""
    return key.startswith(PREFIXES)


def record(db: Database, keys: Iterable[str]) -> None:
    """Journal ``keys`` in a transaction of their own, committed before the objects are written."""
    keys = list(keys)
    if keys:
        with db.write() as session:
            record_in(session, keys)


def record_in(session: Session, keys: Iterable[str]) -> None:
    """Journal ``keys`` in the session's transaction (the one that removes their rows)."""
    now = utcnow()
    for batch in batched(dict.fromkeys(keys)):
        statement = insert_for(session, JournalEntry).values([{"key": key, "date_created": now} for key in batch])
        session.execute(statement.on_conflict_do_nothing(index_elements=["key"]))


def settle(session: Session, keys: Iterable[str]) -> None:
    """Take ``keys`` out of the journal in the session's transaction (the one that writes their rows)."""
    for batch in batched(keys):
        session.execute(delete(JournalEntry).where(JournalEntry.key.in_(batch)))


def clear(db: Database, keys: Iterable[str]) -> None:
    """Take ``keys`` out of the journal once their objects are deleted."""
    keys = list(keys)
    if keys:
        with db.write() as session:
            settle(session, keys)


def names(db: Database, key: str) -> bool:
    """Whether the journal names ``key`` (an object Earmark wrote or is deleting, whatever row there is)."""
    with db.read() as session:
        return session.get(JournalEntry, key) is not None


def entries(session: Session) -> dict[str, dt.datetime]:
    """Every journalled key and when it was journalled (a handful: writes and deletions in flight, crashes' leftovers)."""
    return {key: as_utc(when) for key, when in session.execute(select(JournalEntry.key, JournalEntry.date_created))}
