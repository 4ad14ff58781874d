"""duplicates: copies that are not byte-identical (re-encoded, resampled, louder or quieter, excerpts of 3 s or more).

Three steps, on the job framework's per-sound and dataset-level hooks (core/jobs/analyzers/base.py):

1. ``run`` (any worker, in parallel): the sound's landmark fingerprint (core/audio/fingerprint.py); the stored one
   on the frame grid from the sound's start, the query one pooled over quarter-hop shifts of it.
2. ``keep`` (in the transaction that marks the sound done): the sound's last fingerprint is deleted (its landmarks
   and matches go with it), its rarest query hashes are looked up in the hash index (at most POSTINGS_BUDGET
   rows, never every sound: ``lookup``), each fingerprint found is verified by a consistent time difference
   (core.audio.fingerprint.best_offsets) and kept as a match if at least MIN_KEPT landmarks agree, then its own
   landmarks are added. Lookup and insert
   happen under one lock (SQLite's single writer; on PostgreSQL a table lock that only fingerprint writers take), so
   of two copies analyzed at once the second always sees the first.
3. ``finish`` (once per job): the matches touching the job's sounds with at least ``min_landmarks`` votes are joined
   into groups; each of the job's sounds in a group gets ``duplicates.group`` (the group's earliest sound id),
   and, unless it is that earliest sound, ``duplicates.of`` (the earliest sound it matches directly) and
   ``duplicates.offset_seconds`` (where this sound's start is in that one; negative: that one starts this far into
   this sound).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Integer, Select, delete, insert, literal, select, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session, aliased

from core.audio import fingerprint as fp
from core.jobs.analyzers.base import Analyzer, Output, Param, mono, require_audio
from core.store.db import batched
from core.store.models import AudioFingerprint, FingerprintHash, FingerprintMatch, Sound
from core.store.storage import Storage

POSTINGS_BUDGET = 4_000  # index rows one lookup reads at most (its rarest hashes first: ``rarest``)
COMMON = 512  # a hash in more landmarks than this is not read at all: one agreeing landmark for 512 rows
MIN_KEPT = 6  # matches with fewer agreeing landmarks are not kept (a job's min_landmarks is at least this)
PREFIX = "duplicates."
FIELDS = (PREFIX + "group", PREFIX + "of", PREFIX + "offset_seconds")


@dataclass(frozen=True)
class Prints:
    stored: fp.Landmarks
    query: fp.Landmarks


def fingerprint(storage: Storage, sound: Sound, _params: dict[str, Any]) -> Output:
    """The sound's fingerprints, for ``keep``; no fields of its own (they come at the job's end)."""
    rate = require_audio(sound)
    samples = fp.to_rate(mono(storage, sound), rate)
    return Output(data=Prints(stored=fp.fingerprint(samples, fp.RATE), query=fp.query_landmarks(samples, fp.RATE)))


def keep(session: Session, outputs: list[tuple[str, Output]], _params: dict[str, Any]) -> None:
    """Replace each sound's fingerprint, recording its matches among those stored before (see the module's step 2)."""
    if session.get_bind().dialect.name == "postgresql":  # lookups and inserts one writer at a time; readers go on
        session.execute(text("LOCK TABLE audio_fingerprints IN SHARE ROW EXCLUSIVE MODE"))
    for sound_id, output in outputs:
        prints: Prints = output.data
        session.execute(delete(AudioFingerprint).where(AudioFingerprint.sound_id == sound_id))
        new_id = session.scalars(insert(AudioFingerprint).values(sound_id=sound_id, version=fp.VERSION,
                                                                 landmarks=len(prints.stored)).returning(AudioFingerprint.id)).one()
        found = {other: best for other, best in lookup(session, prints.query).items() if best[1] >= MIN_KEPT}
        current = _of_this_version(session, list(found))
        matches = [{"fingerprint_id": new_id, "other_id": other, "offset_frames": delta, "votes": votes}
                   for other, (delta, votes) in found.items() if other in current]
        if matches:
            session.execute(insert(FingerprintMatch), matches)
        _add_landmarks(session, new_id, prints.stored)


def lookup(session: Session, query: fp.Landmarks, budget: int | None = None) -> dict[int, tuple[int, int]]:
    """The stored fingerprints sharing landmarks with ``query``: id -> (best offset in frames, agreeing landmarks).
    Reads the index rows of the query's rarest hashes only (:func:`rarest`), at most ``budget`` (POSTINGS_BUDGET)
    of them whatever the catalogue's size, in batches (one array parameter each on PostgreSQL), and nothing else:
    joined with audio_fingerprints (for the version), SQLite walked every fingerprint and probed the hashes of
    each (0.9 s at 100,000 sounds, bench/curation.py); the few that match are checked afterwards."""
    owners, hashes, frames = [], [], []
    for batch in batched(rarest(session, np.unique(query.hashes).tolist(), budget or POSTINGS_BUDGET)):
        rows = [tuple(row) for row in session.execute(select(FingerprintHash.fingerprint_id, FingerprintHash.hash,
                                                             FingerprintHash.frame).where(_hash_in(session, batch)))]
        if rows:  # plain tuples: numpy asked each Row for an array interface first (10x the query's time)
            found = np.array(rows, dtype=np.int64)
            owners.append(found[:, 0])
            hashes.append(found[:, 1])
            frames.append(found[:, 2])
    if not owners:
        return {}
    return fp.best_offsets(query, np.concatenate(owners), np.concatenate(hashes).astype(np.uint32), np.concatenate(frames))


def rarest(session: Session, hashes: list[int], budget: int) -> list[int]:
    """The hashes to read: the rarest in the index first, as many as fit in ``budget`` index rows, none held by
    more than COMMON sounds' landmarks. Every hash's index rows grow with the catalogue (20 bits of hash), so
    reading all of them made a lookup linear in the sounds (86 ms at 100,000 on SQLite, 10 at 10,000); a copy
    shares a third of its hashes with its original, so a few hundred rare ones still give it tens of agreeing
    landmarks while an unrelated sound gets two or three (BENCHMARKS.md, issue 29). The counts read at most COMMON
    index entries per hash (a LIMIT inside the count), so they too stay bounded."""
    counts: list[tuple[int, int]] = []
    for batch in batched(hashes):
        counts += [(int(n), int(h)) for h, n in session.execute(*_counting(session, batch)) if 0 < n < COMMON]
    chosen, total = [], 0
    for n, h in sorted(counts):
        if total + n > budget:
            break
        chosen.append(h)
        total += n
    return chosen


def _counting(session: Session, values: list[int]) -> tuple[Any, dict[str, Any]]:
    """(statement, parameters): each of ``values`` with its index rows counted up to COMMON."""
    count = "(SELECT count(*) FROM (SELECT 1 FROM fingerprint_hashes f WHERE f.hash = q.h LIMIT :cap) AS c)"
    if session.get_bind().dialect.name == "postgresql":
        return text(f"SELECT q.h, {count} FROM unnest(CAST(:hashes AS integer[])) AS q(h)"), {"hashes": values, "cap": COMMON}
    rows = ", ".join(f"(:h{i})" for i in range(len(values)))
    return text(f"WITH q(h) AS (VALUES {rows}) SELECT q.h, {count} FROM q"), {f"h{i}": v for i, v in enumerate(values)} | {"cap": COMMON}


def _of_this_version(session: Session, ids: list[int]) -> set[int]:
    """Which of the fingerprints ``ids`` (a lookup's few matches) were made by this version of the fingerprint."""
    if not ids:
        return set()
    return set(session.scalars(select(AudioFingerprint.id).where(AudioFingerprint.id.in_(ids), AudioFingerprint.version == fp.VERSION)))


def _hash_in(session: Session, values: list[int]) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return FingerprintHash.hash == literal(values, postgresql.ARRAY(Integer)).any_()
    return FingerprintHash.hash.in_(values)


def _add_landmarks(session: Session, fingerprint_id: int, stored: fp.Landmarks) -> None:
    """The fingerprint's (hash, frame) rows, each once, in multi-row INSERTs."""
    unique = np.unique(stored.hashes.astype(np.int64) << 32 | stored.frames.astype(np.int64))
    rows = ({"fingerprint_id": fingerprint_id, "hash": int(v >> 32), "frame": int(v & 0xFFFFFFFF)} for v in unique.tolist())
    for batch in batched(rows):
        session.execute(insert(FingerprintHash), batch)


def groups(session: Session, done: Select[str], params: dict[str, Any]) -> Iterator[tuple[str, dict[str, str]]]:
    """The job's sounds that have copies, with their group, earliest original and offset (module step 3)."""
    edges, in_job = _edges(session, done, params["min_landmarks"])
    parent: dict[str, str] = {}

    def root(node: str) -> str:
        parent.setdefault(node, node)
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    neighbours: dict[str, list[tuple[str, int]]] = {}
    for (a, b), offset in edges.items():
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)  # ids sort by creation time: the root is the earliest
        neighbours.setdefault(a, []).append((b, offset))  # a's start is ``offset`` frames into b
        neighbours.setdefault(b, []).append((a, -offset))
    for sound_id in sorted(in_job):
        fields = {PREFIX + "group": root(sound_id)}
        if earlier := [(other, offset) for other, offset in neighbours[sound_id] if other < sound_id]:
            other, offset = min(earlier)
            fields |= {PREFIX + "of": other, PREFIX + "offset_seconds": f"{offset * fp.FRAME_SECONDS:.2f}"}
        yield sound_id, fields


def _edges(session: Session, done: Select[str], min_votes: int) -> tuple[dict[tuple[str, str], int], set[str]]:
    """The kept matches with at least ``min_votes`` that touch the job's sounds, as {(a, b): a's start in b}, and
    which of their sounds are the job's. Two joins with the job's items (a subquery), never a list of ids."""
    mine, theirs = aliased(AudioFingerprint), aliased(AudioFingerprint)
    base = (select(mine.sound_id, theirs.sound_id, FingerprintMatch.offset_frames)
            .join(mine, mine.id == FingerprintMatch.fingerprint_id).join(theirs, theirs.id == FingerprintMatch.other_id)
            .where(FingerprintMatch.votes >= min_votes))
    edges: dict[tuple[str, str], int] = {}
    in_job: set[str] = set()
    for side, column in ((0, mine.sound_id), (1, theirs.sound_id)):
        for a, b, offset in session.execute(base.where(column.in_(done))):
            edges[(a, b)] = offset
            in_job.add((a, b)[side])
    return edges, in_job


ANALYZER = Analyzer(
    "duplicates", "1",
    "Copies that are not byte-identical: re-encoded (MP3, OGG), resampled, louder or quieter, or an excerpt of 3 s "
    "or more, found by landmark fingerprints kept in an index.",
    "metadata fields duplicates.group (shared by copies of each other), duplicates.of (the earliest sound it "
    "copies), duplicates.offset_seconds (where it starts in that sound)",
    {"min_landmarks": Param(12, float(MIN_KEPT), 10_000.0,
                            help="landmarks that must agree at one time difference to call two sounds copies")},
    fingerprint, keep=keep, finish=groups, finish_fields=FIELDS)
