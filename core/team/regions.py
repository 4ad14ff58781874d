"""A dataset's regions as agreement figures need them (core/team/agreement.py): people's regions and the gold
version, sound by sound, read in batches of sounds as arrays.

Whose regions: people's. A machine suggestion (``source`` set: core/jobs/queue.py) is left out, and so is
anything a featurebot user saved; gold is the regions with ``is_gold`` set (core/team/review.py's copy of what the
reviewer accepted), whoever saved it, never a person's own version.

One streamed query over the dataset, ordered by sound (no list of ids is sent), one row per region and tag, cut
into batches at sounds' edges; each batch's rows become arrays (put in order by numpy), so memory is bounded by
the batch and the reading keeps up with the arithmetic.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Row, Select, select
from sqlalchemy.orm import Session

from core.catalogue.files import live
from core.store.models import Annotation, AnnotationTag, Sound, User, utcnow
from core.team import matching

GOLD = "(gold)"  # the gold version's name in the figures: no user name has parentheses (core/accounts/users.py)
BATCH_ROWS = 300_000  # rows (a region and tag each) figured at once: about 2,000 sounds of 150 regions
FETCH = 10_000  # rows taken from the driver at a time


@dataclass(frozen=True)
class Batch:
    """Regions of a batch of sounds. Regions are ordered by sound, side (each person by name, then gold) and id;
    a side is one person's (or gold's) regions on one sound, regions ``side_lo[i]`` to ``side_hi[i] - 1``. Each
    tag of each region is an item (``item_region``, ``item_tag``: a code into ``tags``), items in region order,
    a side's from ``side_item_lo`` to ``side_item_hi - 1``."""

    sound_ids: list[str]
    paths: list[str]
    frames: np.ndarray  # per sound: its 10 ms frames
    start: np.ndarray
    end: np.ndarray
    text: np.ndarray  # objects: str or None
    item_region: np.ndarray
    item_tag: np.ndarray
    tags: list[str]
    side_sound: np.ndarray
    side_name: np.ndarray  # objects: user names, GOLD for the gold version
    side_lo: np.ndarray
    side_hi: np.ndarray
    side_item_lo: np.ndarray
    side_item_hi: np.ndarray


def _sounds(session: Session, dataset: str, first: str, last: str, now: dt.datetime) -> Sequence[Row[str, str, float]]:
    """The dataset's live sounds (id, path, duration) from ``first`` to ``last`` (ids), by id: one batch's."""
    return session.execute(
        select(Sound.id, Sound.path, Sound.duration_seconds)
        .where(Sound.dataset == dataset, Sound.id >= first, Sound.id <= last, live(Sound.expires_at, now))
        .order_by(Sound.id)).all()


def _query(dataset: str, now: dt.datetime) -> Select:
    """People's and gold regions of the dataset's live sounds, one row per region and tag, by sound. On SQLite the
    sounds drive the join (their (dataset, id) index, then each sound's annotations by theirs), so the rows come in
    sound order without a sort (driven by the annotations' index, SQLite looked each row's sound up: 4.8 s
    against 3.7 s for 1.5 million rows); PostgreSQL hashes the tables once and sorts. Sides are put in order by
    :func:`_batch`: sorting them in SQL cost a third of the reading."""
    return (select(Annotation.sound_id, Annotation.is_gold, User.user_name, Annotation.id, Annotation.start_seconds,
                   Annotation.duration_seconds, Annotation.text, AnnotationTag.tag)
            .select_from(Sound)
            .join(Annotation, Annotation.sound_id == Sound.id)
            .join(User, User.id == Annotation.created_by)
            .outerjoin(AnnotationTag, AnnotationTag.annotation_id == Annotation.id)
            .where(Sound.dataset == dataset, live(Sound.expires_at, now), Annotation.source.is_(None),
                   (User.user_type != "featurebot") | Annotation.is_gold)
            .order_by(Sound.id))


def _chunks(session: Session, statement: Select) -> Iterator[Sequence[Any]]:
    """The statement's rows as the driver gives them (plain tuples, not SQLAlchemy rows: those cost as much again
    as the query at 1.5 million rows), FETCH at a time, streamed: on PostgreSQL through psycopg's server-side
    cursor (SQLAlchemy's streaming result keeps a row of its own ahead of its cursor, so its cursor cannot be read
    directly) in binary (floats as text cost the client half its fetching: 1.8 against 0.85 s at 1.5 million rows),
    planned for reading every row (a cursor's default plan, for the first tenth, cost the server 4.5 against 3.5 s);
    on SQLite from its cursor, which steps the query as rows are fetched."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        compiled = statement.compile(dialect=connection.dialect)
        connection.exec_driver_sql("SET LOCAL cursor_tuple_fraction = 1")  # every row is read: plan for all of them
        with connection.connection.driver_connection.cursor(name=f"earmark_regions_{id(statement):x}", binary=True) as cursor:  # type: ignore[union-attr]
            cursor.execute(str(compiled), compiled.params)
            while chunk := cursor.fetchmany(FETCH):
                yield chunk
        return
    result = connection.execute(statement)
    try:
        while chunk := result.cursor.fetchmany(FETCH):
            yield chunk
    finally:
        result.close()


def _row_batches(session: Session, dataset: str, now: dt.datetime) -> Iterator[list[Any]]:
    """The rows of :func:`_query` in batches of at least BATCH_ROWS rows (the last may be smaller), each ending
    at a sound's last row, so that no sound is split between two batches."""
    rows: list[Any] = []
    for chunk in _chunks(session, _query(dataset, now)):
        rows.extend(chunk)
        if len(rows) >= BATCH_ROWS:
            cut = len(rows) - 1
            while cut > 0 and rows[cut - 1][0] == rows[-1][0]:
                cut -= 1  # the last sound's rows may go on in the next chunk: kept for the next batch
            if cut > 0:
                yield rows[:cut]
                rows = rows[cut:]
    if rows:
        yield rows


def read_batches(session: Session, dataset: str) -> Iterator[Batch]:
    """The dataset's regions in batches of sounds: one streamed query over the whole dataset (no list of ids is
    sent), cut into batches of some 300,000 rows at sounds' edges, so memory is bounded by a batch and each row
    is read once. Each batch's sounds (path, duration) come from one more query over the batch's range of ids."""
    now = utcnow()
    for rows in _row_batches(session, dataset, now):
        table = np.empty((len(rows), 8), dtype=object)  # not zip(*rows): an iterator per row sets off the
        table[:] = rows  # garbage collector's full passes (3 s of 12 at 10,000 sounds; bench/agreement.py)
        yield _batch(_sounds(session, dataset, rows[0][0], rows[-1][0], now), table)


def _changes(*columns: np.ndarray) -> np.ndarray:
    """Where any of the columns differs from the row before (the first row counts as a change)."""
    changed = np.zeros(columns[0].size, dtype=bool)
    changed[:1] = True
    for column in columns:
        changed[1:] |= column[1:] != column[:-1]
    return changed


def _codes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each value's number, in the order values first appear, and the values so numbered: pandas' hash table (a
    dict lookup per row cost 0.6 s of 1.5 million). Imported here, not at the top, so that commands that never
    figure agreement start without pandas (core.cli's import stays small; see core/team/matching.py's SciPy)."""
    import pandas as pd

    codes, uniques = pd.factorize(values)
    return codes.astype(np.int64), np.asarray(uniques, dtype=object)


def _regions(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row's region (numbered in the order regions first appear) and each region's first row: by the
    annotation id, so a region's tag rows need not come one after the other."""
    row_region = _codes(ids)[0]
    seen = np.maximum.accumulate(np.concatenate([[-1], row_region]))
    return row_region, np.flatnonzero(seen[1:] > seen[:-1])  # a region's number first appears at its first row


def _batch(sounds: Sequence[Row[str, str, float]], rows: np.ndarray) -> Batch:
    sound_col, gold_col, name_col, id_col, start_col, duration_col, text_col, tag_col = rows.T
    row_region, region_rows = _regions(id_col)
    index = {row.id: i for i, row in enumerate(sounds)}
    sound = np.array([index[i] for i in sound_col[region_rows].tolist()], dtype=np.int64)
    gold = gold_col[region_rows].astype(bool)
    names = name_col[region_rows]
    names[gold] = GOLD  # gold saved by two reviewers is one gold version
    people = {name: i for i, name in enumerate(sorted(set(names.tolist())))}
    order = np.lexsort((np.array([people[name] for name in names.tolist()], dtype=np.int64), gold, sound))  # sound, gold last, name
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    sound, names = sound[order], names[order]
    start = start_col[region_rows][order].astype(np.float64)
    tagged = np.flatnonzero(tag_col != None)  # noqa: E711 (numpy's elementwise comparison)
    item_tag, tags = _codes(tag_col[tagged])
    item_region = rank[row_region[tagged]]
    item_order = np.argsort(item_region, kind="stable")
    item_region, item_tag = item_region[item_order], item_tag[item_order]
    side_lo = np.flatnonzero(_changes(sound, names))
    side_hi = np.append(side_lo[1:], region_rows.size)
    return Batch(
        sound_ids=[row.id for row in sounds], paths=[row.path for row in sounds],
        frames=np.array([matching.frame_count(row.duration_seconds) for row in sounds], dtype=np.int64),
        start=start, end=start + duration_col[region_rows][order].astype(np.float64),
        text=text_col[region_rows][order], item_region=item_region, item_tag=item_tag,
        tags=tags.tolist(), side_sound=sound[side_lo], side_name=names[side_lo], side_lo=side_lo, side_hi=side_hi,
        side_item_lo=np.searchsorted(item_region, side_lo), side_item_hi=np.searchsorted(item_region, side_hi))
