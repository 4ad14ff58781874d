"""Choosing a subset: a seeded random order over the matching sounds, worked out by the database.

Every sound has a ``sample_key``, a random whole number below :data:`MODULUS` drawn once when its row is written
(core/store/models.py; migration 0010 gave existing rows theirs). A seed picks an affine map ``k -> (a*k + b) mod
MODULUS`` (``a`` and ``b`` from the seed's sha256); the seed's order is the sounds sorted by the mapped key, then
by id. Because MODULUS is prime the map is a bijection, and the maps form a pairwise-independent family: every
sound is equally likely to come first under any seed, and two seeds' subsets overlap no more than two independent
random draws would (tests/test_core_sampling.py checks both).

The order is one SQL expression, so the database ranks the candidates in C: a random subset is ``ORDER BY ...
LIMIT n`` (a top-n sort, no row of the rest leaves the database); a balanced one is a window over the candidates
whose mapped key falls below a threshold chosen to hold about twice what the subset needs, widened until what it
holds decides the subset exactly (:func:`_turns`). Nothing per candidate runs in Python, so a balanced subset of
10,000 out of a million is chosen in well under a second (bench/scale.py).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import BigInteger, ColumnElement, Select, and_, cast, func, literal, select, text
from sqlalchemy.orm import Session, aliased

from core.catalogue.search import CatalogueQuery, narrowed, text_index
from core.store.db import batched, one_of
from core.store.models import SAMPLE_KEY_MODULUS as MODULUS
from core.store.models import Sound, SoundField, SoundTag, StoredFile

WIDEN = 8  # each pass that cannot decide the subset looks at this many times more of the order


@dataclass(frozen=True)
class SeededOrder:
    """The seed's permutation of sample keys: ``(a * key + b) mod MODULUS``, ties broken by the sound's id."""

    a: int
    b: int

    @classmethod
    def of(cls, seed: int) -> SeededOrder:
        digest = hashlib.sha256(f"earmark-sample:{seed}".encode()).digest()
        return cls(a=1 + int.from_bytes(digest[:8], "big") % (MODULUS - 1), b=int.from_bytes(digest[8:16], "big") % MODULUS)

    def place(self, sample_key: int) -> int:
        """A key's place in the order (what :meth:`column` computes in SQL)."""
        return (self.a * sample_key + self.b) % MODULUS

    def column(self) -> ColumnElement[int]:
        """The same in SQL: 64-bit arithmetic on both databases (a and the key are below 2**31)."""
        return (cast(Sound.sample_key, BigInteger) * literal(self.a, BigInteger) + literal(self.b, BigInteger)) % literal(MODULUS, BigInteger)


def candidates(session: Session, query: CatalogueQuery, viewer_id: str | None) -> Select:
    """The sounds a subset is chosen from: the filters, and audio present in the catalogue."""
    return narrowed(select(Sound), query.checked(), viewer_id, text_index(session)).where(Sound.file_id.is_not(None))


def count_candidates(session: Session, query: CatalogueQuery, viewer_id: str | None) -> int:
    return _count(session, candidates(session, query, viewer_id))


def _count(session: Session, pool: Select) -> int:
    return session.scalar(select(func.count()).select_from(pool.with_only_columns(Sound.id).subquery())) or 0


def first(session: Session, pool: Select, order: SeededOrder, count: int) -> list[str]:
    """The ids of the first ``count`` of ``pool`` in the seed's order."""
    ranked = pool.with_only_columns(Sound.id).order_by(order.column(), Sound.id).limit(count)
    return list(session.scalars(ranked))


def balanced(session: Session, pool: Select, order: SeededOrder, balance: str, count: int, cap: int | None) -> list[str]:
    """Equal numbers per value of the metadata column ``balance`` (sounds without it: the value ""), taken in
    turn from each value's sounds in the seed's order (values in their sorted order), at most ``cap`` per value.

    The first pass looks at the candidates placed below a threshold that holds about twice ``count`` of them; if
    what it shows cannot decide the subset (a value showed fewer sounds than its turns would take), the threshold
    widens WIDEN times, up to the whole order."""
    keep = min(count, cap or count)  # no value can give more than this
    values = _values(session, balance)
    total = _count(session, pool)
    threshold = min(MODULUS, MODULUS * 2 * count // max(total, 1) + 1)
    while True:
        groups = _firsts(session, pool, order, balance, keep, threshold)
        picked = _turns(groups, values | set(groups), count, keep, complete=threshold >= MODULUS)
        if picked is not None:
            return picked
        threshold = min(MODULUS, threshold * WIDEN)


def _values(session: Session, balance: str) -> set[str]:
    """Every value the column has in the catalogue (a superset of the candidates' values), read by skipping
    along the (name, value) index in one recursive query: a lookup per distinct value, not a row per sound; and
    "" when some sound has no such field."""
    step = text("WITH RECURSIVE seen(value) AS ("
                " SELECT min(value) FROM sound_fields WHERE name = :name"
                " UNION ALL SELECT (SELECT min(value) FROM sound_fields WHERE name = :name AND value > seen.value)"
                " FROM seen WHERE seen.value IS NOT NULL"
                ") SELECT value FROM seen WHERE value IS NOT NULL")
    found = set(session.scalars(step, {"name": balance}))
    with_field = session.scalar(select(func.count()).select_from(SoundField).where(SoundField.name == balance)) or 0
    if with_field < (session.scalar(select(func.count()).select_from(Sound)) or 0):
        found.add("")
    return found


def _firsts(session: Session, pool: Select, order: SeededOrder, balance: str, keep: int, threshold: int) -> dict[str, list[str]]:
    """Per value, the first ``keep`` ids (in the seed's order) among the candidates placed below ``threshold``."""
    field = aliased(SoundField)
    value = func.coalesce(field.value, "")
    place = order.column()
    numbered = (pool.outerjoin(field, and_(field.sound_id == Sound.id, field.name == balance))
                .where(place < threshold)
                .with_only_columns(Sound.id.label("id"), value.label("value"),
                                   func.row_number().over(partition_by=value, order_by=(place, Sound.id)).label("n"))
                .subquery())
    with _looked_up_by_key(session, narrow=threshold * 4 < MODULUS):
        rows = session.execute(select(numbered.c.id, numbered.c.value).where(numbered.c.n <= keep)
                               .order_by(numbered.c.value, numbered.c.n)).all()
    groups: dict[str, list[str]] = defaultdict(list)
    for sound_id, group in rows:
        groups[group].append(sound_id)
    return groups


@contextlib.contextmanager
def _looked_up_by_key(session: Session, narrow: bool) -> Iterator[None]:
    """On PostgreSQL, join the candidates below a narrow threshold to their field by key, not by hashing every
    sound's field: the planner cannot know the seed's map and guesses a third of the sounds pass (at a million,
    the hash join took 1.2 s where looking up the 20,000 that pass took 0.7 s)."""
    postgres = narrow and session.get_bind().dialect.name == "postgresql"
    if postgres:
        session.execute(text("SET LOCAL enable_hashjoin = off"))
    try:
        yield
    finally:
        if postgres:
            session.execute(text("SET LOCAL enable_hashjoin = DEFAULT"))


def _turns(groups: dict[str, list[str]], values: set[str], count: int, keep: int, complete: bool) -> list[str] | None:
    """Each value's sounds taken in turn (the first of each value, in the values' order, then the second, ...)
    until ``count``: the subset, or None if a turn falls on a value that showed fewer than ``keep`` sounds while
    more of the order is unseen (``complete`` false): it may have a sound beyond the threshold."""
    order, index = sorted(values), 0
    picked: list[str] = []
    while len(picked) < count:
        took = False
        for value in order:
            if len(picked) == count:
                break
            shown = groups.get(value, [])
            if index < len(shown):
                picked.append(shown[index])
                took = True
            elif not complete and len(shown) < keep:
                return None
        if not took:
            break
        index += 1
    return picked


@dataclass(frozen=True)
class ChosenFile:
    key: str
    size: int | None
    missing_since: dt.datetime | None


@dataclass(frozen=True)
class Chosen:
    """A chosen sound as an export needs it, read as plain values: ORM objects for 10,000 sounds and their files
    took half a second of the two an export may take to start at a million sounds (bench/scale.py)."""

    id: str
    dataset: str
    path: str
    duration_seconds: float
    sha256: str | None
    date_created: dt.datetime
    file: ChosenFile

    @property
    def audio(self) -> ChosenFile:
        return self.file


def load(session: Session, ids: list[str]) -> list[Chosen]:
    """The chosen sounds with their files, in batches (no IN list of them all), in (dataset, path) order; their
    tags and metadata: :func:`described`."""
    columns = select(Sound.id, Sound.dataset, Sound.path, Sound.duration_seconds, Sound.sha256, Sound.date_created,
                     StoredFile.key, StoredFile.size, StoredFile.missing_since).join(StoredFile, Sound.file_id == StoredFile.id)
    chosen = [Chosen(*row[:6], file=ChosenFile(*row[6:]))
              for batch in batched(ids) for row in session.execute(columns.where(one_of(session, Sound.id, batch)))]
    return sorted(chosen, key=lambda s: (s.dataset, s.path))


def described(session: Session, ids: list[str]) -> tuple[dict[str, dict[str, str]], dict[str, list[str]]]:
    """Per sound id: its metadata (name -> value) and its tags (sorted), read in batches."""
    metadata: dict[str, dict[str, str]] = {sound_id: {} for sound_id in ids}
    tags: dict[str, list[str]] = {sound_id: [] for sound_id in ids}
    for batch in batched(ids):
        for sound_id, name, value in session.execute(
                select(SoundField.sound_id, SoundField.name, SoundField.value).where(one_of(session, SoundField.sound_id, batch))):
            metadata[sound_id][name] = value
        for sound_id, tag in session.execute(select(SoundTag.sound_id, SoundTag.tag).where(one_of(session, SoundTag.sound_id, batch))):
            tags[sound_id].append(tag)
    return metadata, {sound_id: sorted(names) for sound_id, names in tags.items()}
