"""A chosen subset held as its sound ids alone, read back a window of sounds at a time.

An export of 100,000 sounds held every chosen sound with its file, metadata, tags, annotations and member name
from start to end: 141 MB by tracemalloc, a third of the training-format export's peak (BENCHMARKS.md, issue 28).
An :class:`Outline` keeps what must be known of the whole subset before the first byte is written, in a few bytes
a sound: the ids in (dataset, path) order (a numpy array of fixed-width bytes), whether it spans several datasets
(member names then start with the dataset), the few sounds whose annotation-file stem keeps its extension
(``a.wav`` beside ``a.flac``: core/export/subset.py's member_names), the metadata columns (a Parquet schema is
fixed at its first row); with ``on_missing="fail"`` every file is checked in storage first. :meth:`Outline.windows`
then reads each window's rows (sounds, files, metadata, tags, annotations, review) when the writer reaches it:
memory holds one window, whatever the subset's size. Every export is written so: the training formats
(core/export/formats/run.py) and the subset ZIP (core/export/subset.py, whose whole-subset tables wait on disk:
core/export/spools.py).

The order is the database's: ``ORDER BY dataset, path`` in byte order (``COLLATE "C"`` on PostgreSQL, SQLite's
default), the order Python sorts the same strings in, so a window sorted again in Python keeps it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from core.errors import NotFound
from core.export import sampling
from core.export.subset import (
    ExportRequest,
    Window,
    check_request,
    member_names,
    plan_of,
    present_keys,
    refuse_missing,
    without_suffix,
)
from core.store.db import Database, batched, one_of
from core.store.models import Sound, SoundField
from core.store.storage import Storage

WINDOW = 2000  # sounds read at a time (their rows, metadata, annotations; a few MB)
_STREAM = 5000  # rows fetched at a time while outlining


@dataclass
class Outline:
    request: ExportRequest
    ids: np.ndarray  # the chosen sounds' ids (ASCII, fixed-width bytes) in (dataset, path) order
    datasets: dict[str, int]  # dataset -> chosen sounds in it
    clashing: frozenset[str] = frozenset()  # sounds whose stem keeps its extension
    columns: list[str] = field(default_factory=list)  # metadata columns, in the order the sounds first show them

    @property
    def several(self) -> bool:
        return len(self.datasets) > 1

    @property
    def base_name(self) -> str:
        return self.request.query.dataset or (next(iter(self.datasets)) if len(self.datasets) == 1 else "earmark")

    @property
    def name(self) -> str:
        """``<dataset><N>.zip`` as the subset ZIP is named, N the sounds chosen."""
        return f"{self.base_name}{len(self.ids)}.zip"

    def __len__(self) -> int:
        return len(self.ids)

    def windows(self, db: Database, storage: Storage, size: int | None = None) -> Iterator[Window]:
        """The subset as windows of at most ``size`` (WINDOW) sounds each, in order; each names its members as the
        whole subset does."""
        size = size or WINDOW
        for low in range(0, len(self.ids), size):
            yield self._window(db, storage, [i.decode() for i in self.ids[low:low + size]])

    def _window(self, db: Database, storage: Storage, ids: list[str]) -> Window:
        with db.read() as session:
            sounds = sampling.load(session, ids)
            names, stems = member_names(sounds, several=self.several, clashing=self.clashing)
            plan = plan_of(session, self.request, sounds, names, stems)
        present = present_keys(db, storage, sounds, check=False)
        plan.missing_ids = {s.id for s in sounds if s.audio.key not in present}
        return plan


def outline(db: Database, storage: Storage, request: ExportRequest) -> Outline:
    """Choose the subset (as core/export/subset.py's choose does) and outline it; nothing is written. NotFound when
    nothing matches; with ``on_missing="fail"``, StorageError naming the files missing from storage."""
    request = check_request(request)
    with db.read() as session:
        ids, datasets, stem_hashes = _ordered(session, request)
    if not len(ids):
        raise NotFound("No sounds match these filters.")
    result = Outline(request, ids, datasets)
    with db.read() as session:
        result.clashing = _clashing(session, ids, stem_hashes, result.several)
        result.columns = _columns(session, ids)
    if request.on_missing == "fail":
        _check_present(db, storage, result)
    return result


def _ordered(session: Session, request: ExportRequest) -> tuple[np.ndarray, dict[str, int], np.ndarray]:
    """The chosen ids in (dataset, path) order, the count per dataset and a hash of each one's stem (streamed)."""
    chunks, hashes, datasets = [], [], Counter[str]()
    for rows in _chosen_rows(session, request):
        chunks.append(np.array([r[0].encode() for r in rows]))
        hashes.append(np.array([hash(without_suffix(f"{r[1]}/{r[2]}")) for r in rows], dtype=np.int64))
        datasets.update(r[1] for r in rows)
    if not chunks:
        return np.array([], dtype="S1"), {}, np.array([], dtype=np.int64)
    width = max(c.dtype.itemsize for c in chunks)
    return np.concatenate([c.astype(f"S{width}") for c in chunks]), dict(datasets), np.concatenate(hashes)


def _chosen_rows(session: Session, request: ExportRequest) -> Iterator[list[tuple[str, str, str]]]:
    """(id, dataset, path) of the chosen sounds in (dataset, path) order, a few thousand at a time. A random subset
    is ranked and ordered by the database alone; a balanced one's ids come from core/export/sampling.py's turns
    and are ordered here."""
    pool = sampling.candidates(session, request.query, request.viewer_id)
    order = sampling.SeededOrder.of(request.seed)
    if request.balance:
        ids = sampling.balanced(session, pool, order, request.balance, request.count, request.cap)
        rows = sorted(((i, d, p) for batch in batched(ids) for i, d, p in session.execute(
            select(Sound.id, Sound.dataset, Sound.path).where(one_of(session, Sound.id, batch)))), key=lambda r: (r[1], r[2]))
        yield from batched(rows, _STREAM)
        return
    ranked = pool.with_only_columns(Sound.id).order_by(order.column(), Sound.id).limit(request.count).subquery()
    statement: Select = select(Sound.id, Sound.dataset, Sound.path).join(ranked, ranked.c.id == Sound.id)
    if session.get_bind().dialect.name == "postgresql":
        statement = statement.order_by(Sound.dataset.collate("C"), Sound.path.collate("C"))
    else:
        statement = statement.order_by(Sound.dataset, Sound.path)
    result = session.execute(statement.execution_options(yield_per=_STREAM))
    for part in result.partitions():
        yield [tuple(row) for row in part]


def _clashing(session: Session, ids: np.ndarray, stem_hashes: np.ndarray, several: bool) -> frozenset[str]:
    """Sounds whose shortened stem another chosen sound shares: only those whose stem's hash repeats are read
    again (usually none) and compared exactly, as member_names does."""
    values, counts = np.unique(stem_hashes, return_counts=True)
    repeated = np.isin(stem_hashes, values[counts > 1])
    if not repeated.any():
        return frozenset()
    suspects = [i.decode() for i in ids[repeated]]
    sounds = [s for batch in batched(suspects) for s in sampling.load(session, batch)]
    names, stems = member_names(sounds, several=several)
    return frozenset(sound_id for sound_id, stem in stems.items() if stem == names[sound_id])


def _columns(session: Session, ids: np.ndarray) -> list[str]:
    """The chosen sounds' metadata columns, in the order the sounds (in subset order) first show them."""
    columns: dict[str, None] = {}
    for batch in batched([i.decode() for i in ids]):
        by_sound: dict[str, list[str]] = {}
        for sound_id, name in session.execute(select(SoundField.sound_id, SoundField.name)
                                              .where(one_of(session, SoundField.sound_id, batch))):
            by_sound.setdefault(sound_id, []).append(name)
        for sound_id in batch:
            columns.update(dict.fromkeys(by_sound.get(sound_id, ())))
    return list(columns)


def _check_present(db: Database, storage: Storage, result: Outline) -> None:
    """Every chosen file checked in storage a window at a time (a dataset's folder listed once, when listing it
    takes fewer requests than a HEAD per file); StorageError naming the missing ones."""
    missing: list[str] = []
    listed: dict[str, set[str]] = {}
    for low in range(0, len(result.ids), WINDOW):
        with db.read() as session:
            sounds = sampling.load(session, [i.decode() for i in result.ids[low:low + WINDOW]])
        names, _ = member_names(sounds, several=result.several, clashing=result.clashing)
        present = present_keys(db, storage, sounds, check=True, wanted=result.datasets, listed=listed)
        missing += [names[s.id] for s in sounds if s.audio.key not in present]
    if missing:
        refuse_missing(missing)
