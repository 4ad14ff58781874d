"""Sounds' voice embeddings (table voice_embeddings, migration 0014): kept, read back, and searched by voice.

The speaker-check analyzer (core/jobs/analyzers/speaker_check.py) stores one embedding per sound and encoder
version (core/jobs/analyzers/voice.py) with an upsert, so a re-run replaces it and two workers never collide.
"Sounds like this" on Browse is :func:`nearest`: an exact search, the dataset's embeddings read in batches of
SCAN_BATCH and scored with one matrix product each, keeping the best ``limit`` so far (memory bounded by the batch,
time linear in the dataset and all but the reading of the rows: bench/curation.py's voice-search, BENCHMARKS.md).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from core.catalogue.files import live
from core.errors import NotFound
from core.jobs.analyzers.voice import DIM, MODEL_VERSION
from core.store.db import get_or_not_found, insert_for
from core.store.models import Sound, VoiceEmbedding, utcnow

SCAN_BATCH = 5_000


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
    return (select(Sound.id, Sound.path, VoiceEmbedding.vector)
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
    target = as_vectors([mine])[0]
    best: list[Neighbour] = []
    for rows in scan(session, of_dataset(sound.dataset, model)):
        others = [row for row in rows if row[0] != sound_id]
        if not others:
            continue
        scores = as_vectors([row[2] for row in others]) @ target
        top = np.argsort(-scores)[:limit]
        best = sorted(best + [Neighbour(others[i][0], others[i][1], float(scores[i])) for i in top],
                      key=lambda n: -n.similarity)[:limit]
    return best
