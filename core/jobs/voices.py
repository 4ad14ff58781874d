"""Sounds' voice embeddings (table voice_embeddings, migration 0014): kept, read back, and searched by voice.

The speaker-check analyzer (core/jobs/analyzers/speaker_check.py) stores one embedding per sound and encoder
version (core/jobs/analyzers/voice.py) with an upsert, so a re-run replaces it and two workers never collide.
"Sounds like this" on Browse is :func:`nearest`: an exact search, one matrix-vector product over the dataset's
embeddings and an argpartition for the best ``limit``. Reading 100,000 embeddings row by row took 6-8 s on every
call (bench/curation.py's voice-search, BENCHMARKS.md), so they are kept in memory as one float32 matrix per
dataset (:class:`Matrices`, the CACHED_DATASETS most recently searched, 1 kB a sound), checked on every call
against a stamp read from indexes and the jobs table (:func:`dataset_stamp`): a sound added, deleted, expired or
embedded changes it and the matrix is read again.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from core.catalogue.files import live
from core.catalogue.sounds import SoundFilter, live_count
from core.errors import NotFound
from core.jobs.analyzers.voice import DIM, MODEL_VERSION
from core.store.db import get_or_not_found, insert_for
from core.store.models import Job, Sound, VoiceEmbedding, utcnow

SCAN_BATCH = 5_000
WRITER = "speaker-check"  # the one analyzer that keeps embeddings (core/jobs/analyzers/speaker_check.py)
CACHED_DATASETS = 4  # matrices kept per process: 100 MB each at 100,000 sounds


@dataclass(frozen=True)
class Neighbour:
    sound_id: str
    path: str
    similarity: float  # cosine similarity of the two voices, 1 for the same


def as_bytes(vector: np.ndarray) -> bytes:
    """How a vector is stored: DIM little-endian float32s."""
    return np.asarray(vector, "<f4").reshape(DIM).tobytes()


def as_vectors(blobs: list[bytes]) -> np.ndarray:
    """[n, DIM] float32 from stored bytes, in one copy."""
    return np.frombuffer(b"".join(blobs), "<f4").reshape(len(blobs), DIM) if blobs else np.zeros((0, DIM), np.float32)


def keep(session: Session, vectors: list[tuple[str, bytes]], model: str = MODEL_VERSION) -> None:
    """Store each sound's embedding, replacing the one this encoder version stored before (one upsert)."""
    if not vectors:
        return
    statement = insert_for(session, VoiceEmbedding)
    session.execute(statement.on_conflict_do_update(
        index_elements=[VoiceEmbedding.sound_id, VoiceEmbedding.model],
        set_={"vector": statement.excluded.vector, "date_created": statement.excluded.date_created}),
        [{"sound_id": sound_id, "model": model, "vector": vector, "date_created": utcnow()} for sound_id, vector in vectors])


def of_dataset(dataset: str, model: str = MODEL_VERSION) -> Select[str, str, bytes]:
    """(sound id, path, vector) of a dataset's live sounds that have an embedding (in no particular order)."""
    return _rows(select(Sound.id, Sound.path, VoiceEmbedding.vector), dataset, model)


def _rows(columns: Select[*tuple[Any, ...]], dataset: str, model: str) -> Select[*tuple[Any, ...]]:
    """``columns`` over the dataset's live sounds joined with their embeddings of this encoder version."""
    return (columns.select_from(Sound)
            .join(VoiceEmbedding, (VoiceEmbedding.sound_id == Sound.id) & (VoiceEmbedding.model == model))
            .where(Sound.dataset == dataset, live(Sound.expires_at)))


def scan(session: Session, query: Select[*tuple[Any, ...]], size: int = SCAN_BATCH) -> Iterator[Sequence[Any]]:
    """The rows of ``query`` in lists of ``size``, streamed from the database (never all in memory at once)."""
    yield from session.execute(query.execution_options(yield_per=size)).partitions(size)


def nearest(session: Session, sound_id: str, limit: int = 10, model: str = MODEL_VERSION) -> list[Neighbour]:
    """The ``limit`` sounds of the same dataset whose voices are most like this sound's, most alike first;
    NotFound, saying what to run, for a sound without an embedding."""
    found = like_this(session, sound_id, limit, model)
    if found is None:
        sound = get_or_not_found(session, Sound, sound_id, "sound")
        raise NotFound(f"{sound.path} has no voice embedding yet: run the speaker-check analyzer on dataset {sound.dataset}.")
    return found


def like_this(session: Session, sound_id: str, limit: int = 10, model: str = MODEL_VERSION) -> list[Neighbour] | None:
    """As :func:`nearest`, or None for a sound without an embedding (Browse then shows nothing)."""
    sound = get_or_not_found(session, Sound, sound_id, "sound")
    mine = session.scalar(select(VoiceEmbedding.vector).where(VoiceEmbedding.sound_id == sound_id, VoiceEmbedding.model == model))
    if mine is None:
        return None
    matrix = MATRICES.get(session, sound.dataset, model)
    scores = matrix.vectors @ as_vectors([mine])[0]
    if (at := matrix.index.get(sound_id)) is not None:
        scores[at] = -np.inf  # not itself
    count = min(limit, len(scores) - (at is not None))
    if count <= 0:
        return []
    top = np.argpartition(-scores, count - 1)[:count]
    top = top[np.argsort(-scores[top], kind="stable")]
    chosen = [str(matrix.ids[i]) for i in top]
    paths = {i: path for i, path in session.execute(select(Sound.id, Sound.path).where(Sound.id.in_(chosen), live(Sound.expires_at)))}
    return [Neighbour(i, paths[i], float(scores[k])) for i, k in zip(chosen, top, strict=True) if i in paths]


@dataclass(frozen=True)
class Matrix:
    """A dataset's embeddings as one [n, DIM] float32 matrix, row k the sound ``ids[k]``, as of ``stamp``."""

    stamp: tuple[Any, ...]
    ids: np.ndarray  # [n] str
    vectors: np.ndarray
    index: dict[str, int]  # sound id -> row


class Matrices:
    """The matrices of the CACHED_DATASETS datasets searched last in this process (Streamlit's sessions are threads
    of one process, so every page shares them), each read again when its dataset's stamp changes."""

    def __init__(self, size: int = CACHED_DATASETS) -> None:
        self.size = size
        self.kept: OrderedDict[tuple[str, str, str], Matrix] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, session: Session, dataset: str, model: str = MODEL_VERSION) -> Matrix:
        key = (session.get_bind().engine.url.render_as_string(hide_password=True), dataset, model)
        stamp = dataset_stamp(session, dataset)
        with self.lock:
            kept = self.kept.get(key)
            if kept is not None and kept.stamp == stamp:
                self.kept.move_to_end(key)
                return kept
        matrix = read_matrix(session, dataset, model, stamp)
        with self.lock:
            self.kept[key] = matrix
            self.kept.move_to_end(key)
            while len(self.kept) > self.size:
                self.kept.popitem(last=False)
        return matrix

    def clear(self) -> None:
        with self.lock:
            self.kept.clear()


MATRICES = Matrices()


def dataset_stamp(session: Session, dataset: str) -> tuple[Any, ...]:
    """What changes whenever the dataset's live embeddings can have: its live sounds' count and newest id (a sound
    added, deleted or expired; read from indexes alone, core.catalogue.sounds.live_count) and the sounds that
    speaker-check jobs have done (its ``keep`` writes embeddings in the transaction that counts them done,
    core/jobs/queue.py). Reading the embeddings' own count and latest date instead read the whole 100 MB table
    at 100,000 sounds (210 ms on SQLite, bench/curation.py)."""
    sounds = session.scalar(live_count(SoundFilter(dataset=dataset)))
    newest = session.scalar(select(func.max(Sound.id)).where(Sound.dataset == dataset))
    jobs = session.execute(select(func.count(), func.sum(Job.done)).where(Job.analyzer == WRITER)).one()
    return sounds, newest, *jobs


def read_matrix(session: Session, dataset: str, model: str, stamp: tuple[Any, ...]) -> Matrix:
    """The dataset's embeddings read in batches of SCAN_BATCH into one preallocated matrix (its row count from the
    stamp; grown if sounds arrived in between)."""
    ids: list[str] = []
    vectors = np.empty((max(int(stamp[0] or 0), 1), DIM), np.float32)
    for rows in scan(session, _rows(select(Sound.id, VoiceEmbedding.vector), dataset, model)):
        if len(ids) + len(rows) > len(vectors):
            vectors = np.concatenate([vectors, np.empty((len(ids) + len(rows), DIM), np.float32)])
        vectors[len(ids): len(ids) + len(rows)] = as_vectors([row[1] for row in rows])
        ids += [row[0] for row in rows]
    return Matrix(stamp, np.array(ids, dtype=object), vectors[: len(ids)], {sound_id: k for k, sound_id in enumerate(ids)})
