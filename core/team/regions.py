"""A dataset's regions as agreement figures need them (core/team/agreement.py): people's regions and the gold
version, sound by sound, read in batches of sounds as arrays.

Whose regions: people's. A machine suggestion (``source`` set: core/jobs/queue.py) is left out, and so is
anything a featurebot user saved; gold is the regions with ``is_gold`` set (core/team/review.py's copy of what the
reviewer accepted), whoever saved it, never a person's own version.

One ordered query per batch of sounds (keyset on the sound id, so no list of ids is sent), one row per region and
tag; the rows become arrays (put in order by numpy), so memory is bounded by the batch and the reading keeps up
with the arithmetic.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Row, Select, select
from sqlalchemy.orm import Session

from core.catalogue.files import live
from core.store.models import Annotation, AnnotationTag, Sound, User
from core.team import matching

GOLD = "(gold)"  # the gold version's name in the figures: no user name has parentheses (core/accounts/users.py)
SOUND_BATCH = 2_000


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


def _sound_batches(session: Session, dataset: str) -> Iterator[Sequence[Row[str, str, float]]]:
    """The dataset's live sounds (id, path, duration) in batches, by id."""
    after = ""
    while True:
        batch = session.execute(
            select(Sound.id, Sound.path, Sound.duration_seconds)
            .where(Sound.dataset == dataset, Sound.id > after, live(Sound.expires_at))
            .order_by(Sound.id).limit(SOUND_BATCH)).all()
        if not batch:
            return
        yield batch
        after = batch[-1].id


def _query(dataset: str, first: str, last: str) -> Select:
    """People's and gold regions of the dataset's live sounds from ``first`` to ``last`` (ids), one row per region
    and tag, by sound (the annotations' index on the sound; a region's rows come together, as the join reads
    them). Sides are put in order by :func:`_batch`: sorting in SQL cost a third of the reading."""
    return (select(Annotation.sound_id, Annotation.is_gold, User.user_name, Annotation.id, Annotation.start_seconds,
                   Annotation.duration_seconds, Annotation.text, AnnotationTag.tag)
            .join(Sound, Sound.id == Annotation.sound_id)
            .join(User, User.id == Annotation.created_by)
            .outerjoin(AnnotationTag, AnnotationTag.annotation_id == Annotation.id)
            .where(Sound.dataset == dataset, Annotation.sound_id >= first, Annotation.sound_id <= last,
                   live(Sound.expires_at), Annotation.source.is_(None), (User.user_type != "featurebot") | Annotation.is_gold)
            .order_by(Annotation.sound_id))


def read_batches(session: Session, dataset: str) -> Iterator[Batch]:
    """The dataset's regions, a batch of sounds at a time (a batch without regions is skipped)."""
    for sounds in _sound_batches(session, dataset):
        rows = session.connection().execute(_query(dataset, sounds[0].id, sounds[-1].id)).all()  # rows, not ORM results
        if rows:
            yield _batch(sounds, rows)


def _changes(*columns: np.ndarray) -> np.ndarray:
    """Where any of the columns differs from the row before (the first row counts as a change)."""
    changed = np.zeros(columns[0].size, dtype=bool)
    changed[:1] = True
    for column in columns:
        changed[1:] |= column[1:] != column[:-1]
    return changed


def _batch(sounds: Sequence[Row[str, str, float]], rows: Sequence[Row[Any]]) -> Batch:
    sound_col, gold_col, name_col, id_col, start_col, duration_col, text_col, tag_col = zip(*rows, strict=True)
    new_region = _changes(np.array(id_col, dtype=object))
    region_rows = np.flatnonzero(new_region)
    row_region = np.cumsum(new_region) - 1
    index = {row.id: i for i, row in enumerate(sounds)}
    sound = np.array([index[sound_col[i]] for i in region_rows.tolist()], dtype=np.int64)
    gold = np.array(gold_col, dtype=bool)[region_rows]
    names = np.array(name_col, dtype=object)[region_rows]
    names[gold] = GOLD  # gold saved by two reviewers is one gold version
    people = {name: i for i, name in enumerate(sorted(set(names.tolist())))}
    order = np.lexsort((np.array([people[name] for name in names.tolist()], dtype=np.int64), gold, sound))  # sound, gold last, name
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    sound, names = sound[order], names[order]
    start = np.array(start_col, dtype=np.float64)[region_rows][order]
    tags = np.array(tag_col, dtype=object)
    tagged = np.flatnonzero(tags != None)  # noqa: E711 (numpy's elementwise comparison)
    codes: dict[str, int] = {}
    item_tag = np.array([codes.setdefault(tag, len(codes)) for tag in tags[tagged].tolist()], dtype=np.int64)
    item_region = rank[row_region[tagged]]
    item_order = np.argsort(item_region, kind="stable")
    item_region, item_tag = item_region[item_order], item_tag[item_order]
    side_lo = np.flatnonzero(_changes(sound, names))
    side_hi = np.append(side_lo[1:], region_rows.size)
    return Batch(
        sound_ids=[row.id for row in sounds], paths=[row.path for row in sounds],
        frames=np.array([matching.frame_count(row.duration_seconds) for row in sounds], dtype=np.int64),
        start=start, end=start + np.array(duration_col, dtype=np.float64)[region_rows][order],
        text=np.array(text_col, dtype=object)[region_rows][order], item_region=item_region, item_tag=item_tag,
        tags=list(codes), side_sound=sound[side_lo], side_name=names[side_lo], side_lo=side_lo, side_hi=side_hi,
        side_item_lo=np.searchsorted(item_region, side_lo), side_item_hi=np.searchsorted(item_region, side_hi))
