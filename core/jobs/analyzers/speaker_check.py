"""speaker-check: recordings whose voice is far from their speaker's other recordings (label noise, issue 29).

Per sound, Resemblyzer's voice embedding (core/jobs/analyzers/voice.py) is computed and kept (core/jobs/voices.py,
``keep`` runs in the transaction that marks the sound done). When the job completes, ``finish`` compares, within
each dataset the job touched, each of its sounds with its speaker's centroid: the mean embedding of the speaker's
other sounds in that dataset (the speaker is a metadata column, ``speaker_column``), leaving out the sound itself
and, where ``session_column`` names one, every sound of its own recording session, so a session's shared channel
and room do not pass for the voice. The score is the cosine distance to that centroid (0 the same direction);
above ``threshold`` the sound is flagged, with a sentence saying whose voice it differs from.

Linear in sounds: two streamed passes over the dataset's embeddings, the first summing them per speaker and per
(speaker, session), the second scoring each sound against its speaker's sum less its own session's (or its own)
vector. A sound without a speaker value, or whose speaker has no other sound outside its session, gets no score.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import numpy as np
from sqlalchemy import Select, and_, null, select
from sqlalchemy.orm import Session, aliased

from core.catalogue.files import live
from core.jobs import voices
from core.jobs.analyzers import voice
from core.jobs.analyzers.base import Analyzer, Output, Param, blocks, require_audio
from core.store.models import Sound, SoundField, VoiceEmbedding
from core.store.storage import Storage

NAME = "speaker-check"
PREFIX = "speaker_check."
SCORE, FLAGGED, NOTE = PREFIX + "score", PREFIX + "flagged", PREFIX + "note"


def embed(storage: Storage, sound: Sound, params: dict[str, Any]) -> Output:
    """The sound's voice embedding from at most its first ``max_seconds`` (read a block at a time)."""
    rate = require_audio(sound)
    wanted = int(params["max_seconds"] * rate)
    pieces, have = [], 0
    for block in blocks(storage, sound):
        pieces.append(block.mean(axis=1)[: wanted - have])
        have += len(pieces[-1])
        if have >= wanted:
            break
    samples = np.concatenate(pieces) if pieces else np.zeros(0, np.float32)
    return Output(data=voices.as_bytes(voice.embed(samples, rate)))


def keep(session: Session, outputs: list[tuple[str, Output]], params: dict[str, Any]) -> None:
    voices.keep(session, [(sound_id, output.data) for sound_id, output in outputs])


def finish(session: Session, done: Select[str], params: dict[str, Any]) -> Iterator[tuple[str, dict[str, str]]]:
    """Each done sound's score and flag, dataset by dataset (see the module's docstring)."""
    datasets = session.scalars(select(Sound.dataset).where(Sound.id.in_(done)).distinct()).all()
    for dataset in datasets:
        yield from _check_dataset(session, dataset, done, params)


def _labelled(dataset: str, params: dict[str, Any]) -> Select[str, str, str | None, bytes]:
    """(sound id, speaker, session or None, vector) of the dataset's live sounds with an embedding and a speaker."""
    speaker = aliased(SoundField)
    recording = aliased(SoundField)
    query = (select(Sound.id, speaker.value, recording.value if params["session_column"] else null(), VoiceEmbedding.vector)
             .join(VoiceEmbedding, and_(VoiceEmbedding.sound_id == Sound.id, VoiceEmbedding.model == voice.MODEL_VERSION))
             .join(speaker, and_(speaker.sound_id == Sound.id, speaker.name == params["speaker_column"]))
             .where(Sound.dataset == dataset, live(Sound.expires_at)))
    if params["session_column"]:
        query = query.outerjoin(recording, and_(recording.sound_id == Sound.id, recording.name == params["session_column"]))
    return query


def _check_dataset(session: Session, dataset: str, done: Select[str],
                   params: dict[str, Any]) -> Iterator[tuple[str, dict[str, str]]]:
    query = _labelled(dataset, params)
    speakers: dict[str, np.ndarray] = defaultdict(lambda: np.zeros(voice.DIM, np.float64))
    counts: dict[str, int] = defaultdict(int)
    sessions: dict[tuple[str, str], np.ndarray] = defaultdict(lambda: np.zeros(voice.DIM, np.float64))
    session_counts: dict[tuple[str, str], int] = defaultdict(int)
    for rows in voices.scan(session, query):
        vectors = voices.as_vectors([row[3] for row in rows])
        for (_, speaker, recording, _), vector in zip(rows, vectors, strict=True):
            speakers[speaker] += vector
            counts[speaker] += 1
            if recording:
                sessions[speaker, recording] += vector
                session_counts[speaker, recording] += 1
    for rows in voices.scan(session, query.where(Sound.id.in_(done))):
        vectors = voices.as_vectors([row[3] for row in rows])
        for (sound_id, speaker, recording, _), vector in zip(rows, vectors, strict=True):
            left_out, n_left_out = (sessions[speaker, recording], session_counts[speaker, recording]) if recording else (vector, 1)
            others, n_others = speakers[speaker] - left_out, counts[speaker] - n_left_out
            if n_others <= 0 or not np.any(others):
                continue
            score = 1.0 - float(np.dot(vector, others) / np.linalg.norm(others))
            yield sound_id, _fields(score, score > params["threshold"], speaker)


def _fields(score: float, flagged: bool, speaker: str) -> dict[str, str]:
    fields = {SCORE: f"{score:.3f}", FLAGGED: "true" if flagged else "false"}
    if flagged:
        fields[NOTE] = f"voice differs from {speaker}'s: {score:.2f}"
    return fields


ANALYZER = Analyzer(
    NAME, "1",
    "Flags recordings whose voice differs from their speaker's other recordings (Resemblyzer's speaker encoder); "
    "keeps each sound's voice embedding for 'sounds like this' on Browse.",
    "metadata fields speaker_check.score (cosine distance to the speaker's other sounds), speaker_check.flagged "
    "(true or false) and, when flagged, speaker_check.note",
    {"speaker_column": Param("speaker_id", help="the metadata column naming each sound's speaker"),
     "session_column": Param("", help="a metadata column naming the recording session, left out of the comparison "
                                      "(empty: only the sound itself is left out)"),
     "threshold": Param(0.25, 0.0, 2.0, help="a sound further than this from its speaker's centroid is flagged"),
     "max_seconds": Param(300.0, 2.0, 3600.0, help="only this much of each sound, from its start, is embedded")},
    embed, keep=keep, finish=finish, finish_fields=(SCORE, FLAGGED, NOTE))
