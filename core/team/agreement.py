"""How far two people agree on a dataset's sounds, and each person with the reviewer's gold version (issue 27,
item 4): segment F1, start and end deviation, frame-level kappa per tag and word error rate, per sound, per pair
of people, per person against gold, per tag and for the whole dataset.

Whose regions count: people's. A machine suggestion (a featurebot's, ``source`` set: core/jobs/queue.py) is left
out, and so is anything a featurebot user saved; gold is the regions with ``is_gold`` set (core/team/review.py's
copy of what the reviewer accepted), never a person's own version. Any two people who annotated the same sound
are compared, whether or not the sound was assigned to them.

The figures, with the arithmetic in core/team/matching.py:

- segment F1: 2 x matches / (regions of one + regions of the other), segments matched one to one at IoU >= 0.5.
  The overall figure matches on time alone and the per-tag figures among the regions carrying that tag. Requiring
  equal tags overall would count one naming disagreement as a miss and a false alarm at once, so the overall
  figure would mix "did they find the same events" with "did they name them alike"; kept apart, the overall
  figure answers the first and the per-tag figures (and kappa) the second.
- start_ms, end_ms: the mean absolute difference of the starts (ends) of matched segments, in milliseconds.
- kappa: Cohen's kappa per tag over 10 ms frames, each frame marked or not by each person. Pooled figures (a
  pair, the dataset) count every frame of every sound both people annotated, including sounds where neither
  used the tag; a figure is None where it is undefined (neither person marked any frame, or both every frame).
- wer: word error rate between the transcripts of matched segments where both have text (jiwer's default
  normalisation: spaces only). The reference is the gold version against gold, and the first of the pair (by
  user name) between two people. Pooled as jiwer pools: all errors over all reference words.

Everything is read with one ordered query per batch of sounds (keyset on the sound id), so memory stays bounded
by the batch, and a dataset's figures are sums of per-sound counts: the pooled figures are computed from the
counts, not averaged from the per-sound figures.
"""

from __future__ import annotations

import csv
import heapq
import io
import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import jiwer
import numpy as np
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from core.accounts.permissions import Action
from core.catalogue.files import live
from core.errors import NotFound
from core.store.models import Annotation, AnnotationTag, Sound, User
from core.team import matching
from core.team.assignments import require_dataset

GOLD = "(gold)"  # the gold version's name in the figures: no user name has parentheses (core/accounts/users.py)
SOUND_BATCH = 2_000
WORST = 20  # sounds where people disagree most, kept by agreement()

# The columns of a tally's per-tag rows (Tally.by_tag).
_REGIONS_A, _REGIONS_B, _MATCHED, _START, _END, _BOTH, _ONLY_A, _ONLY_B = range(8)


@dataclass(frozen=True)
class TagFigures:
    """Agreement on one tag: its regions on each side, their segment F1 and deviations, and frame kappa."""

    tag: str
    regions_first: int
    regions_second: int
    matched: int
    segment_f1: float | None
    start_ms: float | None
    end_ms: float | None
    kappa: float | None


@dataclass(frozen=True)
class Figures:
    """Agreement between two sets of regions, over ``sounds`` sounds: over all regions whatever their tags
    (``segment_f1``, ``start_ms``, ``end_ms``, ``wer``) and per tag (``tags``; ``kappa`` the same per tag)."""

    sounds: int
    regions_first: int
    regions_second: int
    matched: int
    segment_f1: float | None
    start_ms: float | None
    end_ms: float | None
    wer: float | None
    transcripts: int  # matched pairs of transcripts the wer is over
    tags: tuple[TagFigures, ...]

    @property
    def kappa(self) -> dict[str, float | None]:
        return {t.tag: t.kappa for t in self.tags}


@dataclass(frozen=True)
class PairFigures:
    """Two people (``second`` is :data:`GOLD` for a person against the gold version) and their figures."""

    first: str
    second: str
    figures: Figures


@dataclass(frozen=True)
class SoundFigures:
    """Two people's agreement on one sound."""

    sound_id: str
    path: str
    first: str
    second: str
    figures: Figures


@dataclass(frozen=True)
class Agreement:
    """A dataset's agreement: ``overall`` pools every pair of people (not gold) on every sound; ``pairs`` each
    pair of people; ``gold`` each person against the gold version; ``worst`` the sounds where two people agree
    least (lowest segment F1 first)."""

    dataset: str
    sounds: int  # sounds with regions of two people, or of a person and gold
    people: tuple[str, ...]
    overall: Figures
    pairs: tuple[PairFigures, ...]
    gold: tuple[PairFigures, ...]
    worst: tuple[SoundFigures, ...]


@dataclass
class Tally:
    """Counts that add up: a sound's, a pair's over sounds, the dataset's over pairs. ``by_tag`` has a row per
    tag of ``tags`` (the columns _REGIONS_A ... _ONLY_B)."""

    sounds: int = 0
    frames: int = 0
    segments: np.ndarray = field(default_factory=lambda: np.zeros(5))  # regions a, regions b, matched, |d start|, |d end|
    words: np.ndarray = field(default_factory=lambda: np.zeros(3))  # errors, reference words, transcripts
    tags: dict[str, np.ndarray] = field(default_factory=dict)

    def add(self, other: Tally) -> None:
        self.sounds += other.sounds
        self.frames += other.frames
        self.segments += other.segments
        self.words += other.words
        for tag, row in other.tags.items():
            mine = self.tags.get(tag)
            if mine is None:
                self.tags[tag] = row.copy()
            else:
                mine += row

    def figures(self, swap: bool = False) -> Figures:
        """The figures of these counts (``swap``: the second side's regions are named first)."""
        a, b, matched, start, end = self.segments
        if swap:
            a, b = b, a
        errors, words, transcripts = self.words
        rows = [(tag, self.tags[tag]) for tag in sorted(self.tags)]
        counts = np.array([row for _tag, row in rows]).reshape(-1, 8)
        both, only_a, only_b = counts[:, _BOTH], counts[:, _ONLY_A], counts[:, _ONLY_B]
        kappas = matching.kappa(both, only_a, only_b, np.full(len(rows), float(self.frames)))
        tags = tuple(_tag_figures(tag, row, kappas[i], swap) for i, (tag, row) in enumerate(rows))
        return Figures(sounds=self.sounds, regions_first=int(a), regions_second=int(b), matched=int(matched),
                       segment_f1=_f1(matched, a, b), start_ms=_mean_ms(start, matched), end_ms=_mean_ms(end, matched),
                       wer=float(errors / words) if words else None, transcripts=int(transcripts), tags=tags)


def _f1(matched: float, a: float, b: float) -> float | None:
    return float(2 * matched / (a + b)) if a + b else None


def _mean_ms(total_seconds: float, matched: float) -> float | None:
    return float(total_seconds / matched * 1000) if matched else None


def _number(value: float) -> float | None:
    return None if np.isnan(value) else float(value)


def _tag_figures(tag: str, row: np.ndarray, kappa: float, swap: bool) -> TagFigures:
    a, b = (row[_REGIONS_B], row[_REGIONS_A]) if swap else (row[_REGIONS_A], row[_REGIONS_B])
    matched = row[_MATCHED]
    return TagFigures(tag=tag, regions_first=int(a), regions_second=int(b), matched=int(matched),
                      segment_f1=_f1(matched, a, b), start_ms=_mean_ms(row[_START], matched),
                      end_ms=_mean_ms(row[_END], matched), kappa=_number(kappa))


# Reading -----------------------------------------------------------------------------------------------------------


@dataclass
class Regions:
    """One side's regions on one sound: a person's, or the gold version."""

    who: str
    start: np.ndarray
    end: np.ndarray
    tags: list[tuple[str, ...]]
    text: list[str | None]


@dataclass
class SoundRegions:
    sound_id: str
    path: str
    duration: float
    people: list[Regions]  # by user name
    gold: Regions | None


def _sound_batches(session: Session, dataset: str) -> Iterator[list[tuple[str, str, float]]]:
    """The dataset's live sounds (id, path, duration) in batches, by id."""
    after = ""
    while True:
        batch = session.execute(
            select(Sound.id, Sound.path, Sound.duration_seconds)
            .where(Sound.dataset == dataset, Sound.id > after, live(Sound.expires_at))
            .order_by(Sound.id).limit(SOUND_BATCH)).all()
        if not batch:
            return
        yield [(row.id, row.path, row.duration_seconds) for row in batch]
        after = batch[-1].id


def _regions_query(dataset: str, first: str, last: str) -> Select:
    """People's and gold regions of the dataset's sounds from ``first`` to ``last`` (ids), one row per region and
    tag, ordered by sound, gold last, person, region."""
    return (select(Annotation.sound_id, Annotation.is_gold, User.user_name, Annotation.id, Annotation.start_seconds,
                   Annotation.duration_seconds, Annotation.text, AnnotationTag.tag)
            .join(Sound, Sound.id == Annotation.sound_id)
            .join(User, User.id == Annotation.created_by)
            .outerjoin(AnnotationTag, AnnotationTag.annotation_id == Annotation.id)
            .where(Sound.dataset == dataset, Annotation.sound_id >= first, Annotation.sound_id <= last,
                   Annotation.source.is_(None), (User.user_type != "featurebot") | Annotation.is_gold)
            .order_by(Annotation.sound_id, Annotation.is_gold, User.user_name, Annotation.id, AnnotationTag.tag))


def _regions(who: str, rows: list[Any]) -> Regions:
    """One side's regions from its rows (one per region and tag, a region's rows together)."""
    starts: list[float] = []
    ends: list[float] = []
    tags: list[tuple[str, ...]] = []
    texts: list[str | None] = []
    for _id, group in itertools.groupby(rows, key=lambda row: row.id):
        region = list(group)
        row = region[0]
        starts.append(row.start_seconds)
        ends.append(row.start_seconds + row.duration_seconds)
        tags.append(tuple(r.tag for r in region if r.tag is not None))
        texts.append(row.text)
    return Regions(who, np.array(starts, dtype=np.float64), np.array(ends, dtype=np.float64), tags, texts)


def read_sounds(session: Session, dataset: str) -> Iterator[list[SoundRegions]]:
    """The dataset's sounds that two sides annotated (two people, or a person and gold), batch by batch."""
    for batch in _sound_batches(session, dataset):
        sounds = {sound_id: (path, duration) for sound_id, path, duration in batch}
        rows = session.execute(_regions_query(dataset, batch[0][0], batch[-1][0])).all()
        found: list[SoundRegions] = []
        for sound_id, sound_rows in itertools.groupby(rows, key=lambda row: row.sound_id):
            if sound_id not in sounds:
                continue  # expired since the batch was read
            people: list[Regions] = []
            gold: Regions | None = None
            for (is_gold, name), side in itertools.groupby(sound_rows, key=lambda row: (row.is_gold, row.user_name)):
                if is_gold:
                    gold = _merge(gold, _regions(GOLD, list(side)))
                else:
                    people.append(_regions(name, list(side)))
            if len(people) + (gold is not None) >= 2:
                path, duration = sounds[sound_id]
                found.append(SoundRegions(sound_id, path, duration, people, gold))
        yield found


def _merge(one: Regions | None, other: Regions) -> Regions:
    """Gold regions saved by two reviewers are one gold version."""
    if one is None:
        return other
    return Regions(GOLD, np.concatenate([one.start, other.start]), np.concatenate([one.end, other.end]),
                   one.tags + other.tags, one.text + other.text)


# Comparing ---------------------------------------------------------------------------------------------------------


@dataclass
class _Pair:
    """One comparison on one sound: ``a`` is the reference side (the gold version, or the first by name)."""

    sound: SoundRegions
    a: Regions
    b: Regions
    tally: Tally


def _pairs(sound: SoundRegions) -> Iterator[tuple[Regions, Regions]]:
    yield from itertools.combinations(sound.people, 2)
    if sound.gold is not None:
        for person in sound.people:
            yield sound.gold, person


def _expanded(regions: Regions, codes: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    """(region index, tag code) for each tag of each region: a region with two tags is in both tags' matching."""
    index = [i for i, tags in enumerate(regions.tags) for _tag in tags]
    tag_codes = [codes.setdefault(tag, len(codes)) for tags in regions.tags for tag in tags]
    return np.array(index, dtype=np.int64), np.array(tag_codes, dtype=np.int64)


def _words(a: Regions, b: Regions, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Word errors, reference words and transcripts of matched segments where both sides have text."""
    pairs = [(a.text[i], b.text[j]) for i, j in zip(rows.tolist(), cols.tolist(), strict=True)]
    pairs = [(ref, hyp) for ref, hyp in pairs if ref and ref.strip() and hyp and hyp.strip()]
    if not pairs:
        return np.zeros(3)
    out = jiwer.process_words([ref for ref, _ in pairs], [hyp for _, hyp in pairs])
    errors = out.substitutions + out.deletions + out.insertions
    return np.array([errors, out.hits + out.substitutions + out.deletions, len(pairs)], dtype=np.float64)


class _FrameGroups:
    """The frames each side covers per (comparison, tag), gathered over a batch and counted at once
    (matching.covered): a comparison's both/only-a/only-b counts come from |A|, |B| and |A or B|."""

    def __init__(self) -> None:
        self.parts: dict[str, list[tuple[int, np.ndarray, np.ndarray, np.ndarray]]] = {"a": [], "b": []}

    def add(self, k: int, side: str, regions: Regions, index: np.ndarray, tags: np.ndarray, count: int) -> None:
        first, stop = matching.frames(regions.start[index], regions.end[index], count)
        self.parts[side].append((k, tags, first, stop))

    def count(self, comparisons: int, tags: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Frames covered by A, by B and by either, as (comparison, tag) matrices."""
        size = comparisons * tags
        a, b = self._flat(self.parts["a"], tags), self._flat(self.parts["b"], tags)
        either = (np.concatenate([a[0], b[0]]), np.concatenate([a[1], b[1]]), np.concatenate([a[2], b[2]]))
        by_a, by_b, by_either = (matching.covered(*side, size).reshape(comparisons, tags) for side in (a, b, either))
        return by_a, by_b, by_either

    @staticmethod
    def _flat(parts: list[tuple[int, np.ndarray, np.ndarray, np.ndarray]], tags: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(group, first frame, stop frame) of every region of one side, its group (comparison, tag) numbered."""
        if not parts:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, empty
        return (np.concatenate([k * tags + codes for k, codes, _first, _stop in parts]),
                np.concatenate([p[2] for p in parts]), np.concatenate([p[3] for p in parts]))


def _compare(k: int, a: Regions, b: Regions, count: int, codes: dict[str, int], frames: _FrameGroups) -> tuple[Tally, np.ndarray]:
    """One comparison's counts but its frames (added to ``frames`` under ``k``), and its per-tag segment counts
    (rows: tag codes so far; columns _REGIONS_A ... _END)."""
    tally = Tally(sounds=1, frames=count)
    rows, cols = matching.match(matching.iou(a.start, a.end, b.start, b.end))
    tally.segments[:] = (a.start.size, b.start.size, rows.size, np.abs(a.start[rows] - b.start[cols]).sum(),
                         np.abs(a.end[rows] - b.end[cols]).sum())
    tally.words = _words(a, b, rows, cols)
    a_index, a_tags = _expanded(a, codes)
    b_index, b_tags = _expanded(b, codes)
    overlap = matching.iou(a.start[a_index], a.end[a_index], b.start[b_index], b.end[b_index])
    overlap[a_tags[:, None] != b_tags[None, :]] = 0.0
    rows, cols = matching.match(overlap)
    size = len(codes)
    matched_tags = a_tags[rows]
    per_tag = np.stack([
        np.bincount(a_tags, minlength=size), np.bincount(b_tags, minlength=size),
        np.bincount(matched_tags, minlength=size),
        np.bincount(matched_tags, weights=np.abs(a.start[a_index[rows]] - b.start[b_index[cols]]), minlength=size),
        np.bincount(matched_tags, weights=np.abs(a.end[a_index[rows]] - b.end[b_index[cols]]), minlength=size)], axis=1)
    frames.add(k, "a", a, a_index, a_tags, count)
    frames.add(k, "b", b, b_index, b_tags, count)
    return tally, per_tag


def compare_batch(sounds: list[SoundRegions]) -> list[_Pair]:
    """Every comparison on these sounds with its counts, frames included."""
    codes: dict[str, int] = {}
    frames = _FrameGroups()
    found: list[tuple[SoundRegions, Regions, Regions, Tally, np.ndarray]] = []
    for sound in sounds:
        count = matching.frame_count(sound.duration)
        for a, b in _pairs(sound):
            tally, per_tag = _compare(len(found), a, b, count, codes, frames)
            found.append((sound, a, b, tally, per_tag))
    names = list(codes)
    covered_a, covered_b, covered_either = frames.count(len(found), len(names))
    pairs = []
    for k, (sound, a, b, tally, per_tag) in enumerate(found):
        for code in np.flatnonzero(per_tag[:, _REGIONS_A] + per_tag[:, _REGIONS_B]):
            both = covered_a[k, code] + covered_b[k, code] - covered_either[k, code]
            tally.tags[names[code]] = np.concatenate([
                per_tag[code], [both, covered_a[k, code] - both, covered_b[k, code] - both]])
        pairs.append(_Pair(sound, a, b, tally))
    return pairs


def sound_figures(session: Session, dataset: str) -> Iterator[SoundFigures]:
    """Each comparison on each sound of the dataset (two people, or a person and gold), sound by sound."""
    for batch in read_sounds(session, dataset):
        for pair in compare_batch(batch):
            yield _sound_figures(pair)


def _sound_figures(pair: _Pair) -> SoundFigures:
    if pair.a.who == GOLD:
        return SoundFigures(pair.sound.sound_id, pair.sound.path, pair.b.who, GOLD, pair.tally.figures(swap=True))
    return SoundFigures(pair.sound.sound_id, pair.sound.path, pair.a.who, pair.b.who, pair.tally.figures())


def agreement_for(session: Session, actor: User, dataset: str) -> Agreement:
    """The dataset's figures for ``actor``, who must be one who may review it (core/accounts/permissions.py): the
    figures name people and show where each disagrees."""
    require_dataset(session, actor, Action.REVIEW, dataset)
    return agreement(session, dataset)


def agreement(session: Session, dataset: str, worst: int = WORST) -> Agreement:
    """The dataset's agreement figures (see the module's docstring), read in batches of sounds. NotFound for a
    dataset without sounds; a dataset no two people annotated a sound of has figures of None."""
    if session.scalar(select(Sound.id).where(Sound.dataset == dataset).limit(1)) is None:
        raise NotFound(f"There is no dataset {dataset!r}.")
    overall = Tally()
    pairs: dict[tuple[str, str], Tally] = {}
    gold: dict[str, Tally] = {}
    lowest: list[tuple[float, str, int, _Pair]] = []  # a heap of the worst-agreeing sounds, the worst on top
    sounds = 0
    seen = itertools.count()
    for batch in read_sounds(session, dataset):
        sounds += len(batch)
        for pair in compare_batch(batch):
            if pair.a.who == GOLD:
                gold.setdefault(pair.b.who, Tally()).add(pair.tally)
                continue
            overall.add(pair.tally)
            pairs.setdefault((pair.a.who, pair.b.who), Tally()).add(pair.tally)
            _keep_worst(lowest, pair, worst, next(seen))
    people = sorted({name for pair in pairs for name in pair} | set(gold))
    return Agreement(
        dataset=dataset, sounds=sounds, people=tuple(people), overall=overall.figures(),
        pairs=tuple(PairFigures(a, b, tally.figures()) for (a, b), tally in sorted(pairs.items())),
        gold=tuple(PairFigures(name, GOLD, tally.figures(swap=True)) for name, tally in sorted(gold.items())),
        worst=tuple(_sound_figures(entry[3]) for entry in sorted(lowest, key=lambda e: (-e[0], e[1]))))


def _keep_worst(heap: list[tuple[float, str, int, _Pair]], pair: _Pair, size: int, order: int) -> None:
    """Keep the ``size`` comparisons of lowest segment F1 (the heap's top is the best of them, the first to go)."""
    a, b, matched = pair.tally.segments[:3]
    entry = (-float(2 * matched / (a + b)), pair.sound.sound_id, -order, pair)
    if len(heap) < size:
        heapq.heappush(heap, entry)
    elif size and entry > heap[0]:
        heapq.heapreplace(heap, entry)


def rows(result: Agreement) -> Iterable[dict[str, Any]]:
    """The figures as flat rows, one per scope (dataset, pair, gold), pair and tag ('' for all tags): the CSV's
    rows, and a table for pandas."""
    scoped = [("dataset", "", "", result.overall)]
    scoped += [("pair", p.first, p.second, p.figures) for p in result.pairs]
    scoped += [("gold", p.first, p.second, p.figures) for p in result.gold]
    for scope, first, second, figures in scoped:
        yield {"scope": scope, "first": first, "second": second, "tag": "", "sounds": figures.sounds,
               "regions_first": figures.regions_first, "regions_second": figures.regions_second,
               "matched": figures.matched, "segment_f1": figures.segment_f1, "start_ms": figures.start_ms,
               "end_ms": figures.end_ms, "kappa": None, "wer": figures.wer}
        for tag in figures.tags:
            yield {"scope": scope, "first": first, "second": second, "tag": tag.tag, "sounds": figures.sounds,
                   "regions_first": tag.regions_first, "regions_second": tag.regions_second, "matched": tag.matched,
                   "segment_f1": tag.segment_f1, "start_ms": tag.start_ms, "end_ms": tag.end_ms, "kappa": tag.kappa,
                   "wer": None}


def figures_dict(figures: Figures) -> dict[str, Any]:
    """One set of figures as JSON: the overall ones, ``kappa`` per tag, and ``tags`` with each tag's figures."""
    return {"sounds": figures.sounds, "regions_first": figures.regions_first, "regions_second": figures.regions_second,
            "matched": figures.matched, "segment_f1": figures.segment_f1, "start_ms": figures.start_ms,
            "end_ms": figures.end_ms, "wer": figures.wer, "transcripts": figures.transcripts, "kappa": figures.kappa,
            "tags": [vars(tag).copy() for tag in figures.tags]}


def as_dict(result: Agreement) -> dict[str, Any]:
    """The whole result as JSON (the command line's --json and the API's answer)."""
    return {"dataset": result.dataset, "sounds": result.sounds, "people": list(result.people),
            "overall": figures_dict(result.overall),
            "pairs": [{"first": p.first, "second": p.second, **figures_dict(p.figures)} for p in result.pairs],
            "gold": [{"first": p.first, "second": p.second, **figures_dict(p.figures)} for p in result.gold],
            "worst": [{"sound_id": w.sound_id, "path": w.path, "first": w.first, "second": w.second,
                       **figures_dict(w.figures)} for w in result.worst]}


CSV_COLUMNS = ("scope", "first", "second", "tag", "sounds", "regions_first", "regions_second", "matched",
               "segment_f1", "start_ms", "end_ms", "kappa", "wer")


def as_csv(result: Agreement) -> str:
    """:func:`rows` as CSV (a few rows per pair of people and tag: small whatever the dataset's size)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows(result))
    return out.getvalue()
