"""speaker-check: recordings whose voice is far from their speaker's other recordings (label noise, issue 29).

Per sound, Resemblyzer's voice embedding (core/jobs/analyzers/voice.py) is computed and kept (core/jobs/voices.py,
``keep`` runs in the transaction that marks the sound done). When the job completes, ``finish`` compares, within
each dataset the job touched, each of its sounds with its speaker's centroid: the mean embedding of the speaker's
other sounds in that dataset (the speaker is a metadata column, ``speaker_column``), leaving out the sound itself
and, where ``session_column`` names one, every sound of its own recording session, so a session's shared channel
and room do not pass for the voice. The score is the cosine distance to that centroid (0 the same direction);
above ``threshold`` the sound is flagged, with a sentence saying whose voice it differs from. With ``threshold`` 0
(the default) it is set from the dataset itself (:func:`automatic_threshold`): how far one voice's recordings
spread depends on their length, channel and language, so no one distance fits every dataset (bench/curation.py).

Linear in sounds: streamed passes over the dataset's embeddings, the first summing them per speaker and per
(speaker, session), then each sound scored against its speaker's sum less its own session's (or its own) vector,
twice with the automatic threshold (the scores, 8 bytes a sound, to set it; then the fields). A sound without a
speaker value, or whose speaker has no other sound outside its session, gets no score.
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
SPREAD = 4.0  # robust standard deviations over the median score that flag a file (automatic_threshold)


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


class Centroids:
    """Per-speaker and per-(speaker, session) sums of embeddings, from which any sound's leave-out centroid is one
    subtraction (the bench, bench/curation.py, uses it too)."""

    def __init__(self) -> None:
        self.speakers: dict[str, np.ndarray] = defaultdict(lambda: np.zeros(voice.DIM, np.float64))
        self.counts: dict[str, int] = defaultdict(int)
        self.sessions: dict[tuple[str, str], np.ndarray] = defaultdict(lambda: np.zeros(voice.DIM, np.float64))
        self.session_counts: dict[tuple[str, str], int] = defaultdict(int)

    def add(self, speaker: str, recording: str | None, vector: np.ndarray) -> None:
        self.speakers[speaker] += vector
        self.counts[speaker] += 1
        if recording:
            self.sessions[speaker, recording] += vector
            self.session_counts[speaker, recording] += 1

    def score(self, speaker: str, recording: str | None, vector: np.ndarray) -> float | None:
        """Cosine distance from ``vector`` (one that was added) to the mean of its speaker's other sounds outside
        its session; None when there are none."""
        if recording:
            left_out, n_left_out = self.sessions[speaker, recording], self.session_counts[speaker, recording]
        else:
            left_out, n_left_out = vector, 1
        others = self.speakers[speaker] - left_out
        if self.counts[speaker] - n_left_out <= 0 or not np.any(others):
            return None
        return 1.0 - float(np.dot(vector, others) / np.linalg.norm(others))


def _check_dataset(session: Session, dataset: str, done: Select[str],
                   params: dict[str, Any]) -> Iterator[tuple[str, dict[str, str]]]:
    query = _labelled(dataset, params)
    centroids = Centroids()
    for rows in voices.scan(session, query):
        for (_, speaker, recording, _), vector in zip(rows, voices.as_vectors([row[3] for row in rows]), strict=True):
            centroids.add(speaker, recording, vector)
    mine = query.where(Sound.id.in_(done))
    threshold = params["threshold"] or automatic_threshold(
        np.fromiter((score for _, _, score in _scores(session, mine, centroids)), np.float64))
    for sound_id, speaker, score in _scores(session, mine, centroids):
        yield sound_id, _fields(score, score > threshold, speaker)


def _scores(session: Session, query: Select[str, str, str | None, bytes], centroids: Centroids) -> Iterator[tuple[str, str, float]]:
    """(sound id, speaker, score) of the query's sounds that have a score, streamed."""
    for rows in voices.scan(session, query):
        for (sound_id, speaker, recording, _), vector in zip(rows, voices.as_vectors([row[3] for row in rows]), strict=True):
            score = centroids.score(speaker, recording, vector)
            if score is not None:
                yield sound_id, speaker, score


def automatic_threshold(scores: np.ndarray) -> float:
    """The median score plus SPREAD robust standard deviations (1.4826 median absolute deviations): most files
    are filed rightly, so the bulk of the scores says how far one voice spreads in this dataset (its recording
    conditions, its lengths, the encoder's range for these voices) and a wrongly filed file stands out of it."""
    if not scores.size:
        return float("inf")
    median = float(np.median(scores))
    return median + SPREAD * 1.4826 * float(np.median(np.abs(scores - median)))


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
     "threshold": Param(0.0, 0.0, 2.0, help="a sound further than this from its speaker's centroid is flagged; "
                                            "0: set from the dataset's own scores (median + 4 robust deviations)"),
     "max_seconds": Param(300.0, 2.0, 3600.0, help="only this much of each sound, from its start, is embedded")},
    embed, keep=keep, finish=finish, finish_fields=(SCORE, FLAGGED, NOTE))
