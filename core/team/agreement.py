"""How far two people agree on a dataset's sounds, and each person with the reviewer's gold version (issue 27,
item 4): segment F1, start and end deviation, frame-level kappa per tag and word error rate, per sound, per pair
of people, per person against gold, per tag and for the whole dataset.

Whose regions count: people's, read by core/team/regions.py (machine suggestions and featurebots left out; gold
is the reviewer's accepted copy). Any two people who annotated the same sound are compared, whether or not the
sound was assigned to them, and each person with the gold version where there is one.

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
- wer: word error rate between the transcripts of matched segments where both have text (words split at white
  space, as jiwer's default; no case or punctuation folding): word-level edit distance over reference words. The
  reference is the gold version against gold, and the first of the pair (by user name) between two people.
  Pooled as jiwer pools: all errors over all reference words.

A batch of sounds is read as arrays and all its comparisons are figured at once (numpy; scipy's assignment solver
only for segments that compete; rapidfuzz for the word edit distances), so memory stays bounded by the batch. A dataset's figures are sums of counts:
the pooled figures are computed from the counts, not averaged from the per-sound figures.
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from rapidfuzz.distance import Levenshtein
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.accounts.permissions import Action
from core.errors import NotFound
from core.store.models import Sound, User
from core.team import matching
from core.team.assignments import require_dataset
from core.team.regions import GOLD, Batch, read_batches

__all__ = ["GOLD", "Agreement", "Figures", "PairFigures", "SoundFigures", "TagFigures", "agreement", "agreement_for",
           "as_csv", "as_dict", "rows", "sound_figures"]

WORST = 20  # sounds where people disagree most, kept by agreement()

# The columns of a tally's per-tag rows (Tally.tags).
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


# Comparing ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Compared:
    """Every comparison on a batch's sounds with its counts. Comparison k sets side ``a[k]`` (the reference: gold,
    or the first person by name) against side ``b[k]``; ``segments`` and ``words`` have a row per comparison (the
    columns of Tally's), ``per_group`` a row per comparison and tag present in it (``group_comparison``,
    ``group_tag``; the columns _REGIONS_A ... _ONLY_B), a comparison's rows ``group_lo[k]`` to ``group_hi[k] - 1``."""

    batch: Batch
    a: np.ndarray
    b: np.ndarray
    frames: np.ndarray
    segments: np.ndarray
    words: np.ndarray
    group_comparison: np.ndarray
    group_tag: np.ndarray
    per_group: np.ndarray
    group_lo: np.ndarray
    group_hi: np.ndarray

    def tally(self, k: int) -> Tally:
        """Comparison ``k``'s counts."""
        tally = Tally(sounds=1, frames=int(self.frames[k]), segments=self.segments[k].copy(), words=self.words[k].copy())
        for g in range(self.group_lo[k], self.group_hi[k]):
            tally.tags[self.batch.tags[self.group_tag[g]]] = self.per_group[g].copy()
        return tally

    def sound_figures(self, k: int) -> SoundFigures:
        batch, a, b = self.batch, self.a[k], self.b[k]
        sound = batch.side_sound[a]
        if batch.side_name[a] == GOLD:
            return SoundFigures(batch.sound_ids[sound], batch.paths[sound], batch.side_name[b], GOLD, self.tally(k).figures(swap=True))
        return SoundFigures(batch.sound_ids[sound], batch.paths[sound], batch.side_name[a], batch.side_name[b], self.tally(k).figures())


def _comparisons(batch: Batch) -> tuple[np.ndarray, np.ndarray]:
    """The sides compared on each sound: every two people (the first by name as ``a``), and gold with each person."""
    a: list[int] = []
    b: list[int] = []
    bounds = np.flatnonzero(np.diff(batch.side_sound)) + 1
    for lo, hi in zip(np.r_[0, bounds].tolist(), np.r_[bounds, batch.side_sound.size].tolist(), strict=True):
        gold = hi - 1 if batch.side_name[hi - 1] == GOLD else None
        people = range(lo, hi - 1) if gold is not None else range(lo, hi)
        for first, second in itertools.combinations(people, 2):
            a.append(first)
            b.append(second)
        if gold is not None:
            a.extend([gold] * len(people))
            b.extend(people)
    return np.array(a, dtype=np.int64), np.array(b, dtype=np.int64)


def _words(reference: np.ndarray, hypothesis: np.ndarray, comparison: np.ndarray, size: int) -> np.ndarray:
    """Per comparison: word errors, reference words and transcripts, over matched segments where both sides have
    text. Words are split at any white space, as jiwer's default transform does, and a transcript's errors are
    the word-level Levenshtein distance (substitutions, deletions and insertions), which is what jiwer counts from
    its alignment; rapidfuzz, the engine jiwer aligns with, gives the distance alone without building the
    alignment objects (jiwer's process_words was most of the dataset's time; tests/test_core_agreement.py checks
    the two agree)."""
    texts = np.flatnonzero((reference != None) & (hypothesis != None))  # noqa: E711 (numpy's elementwise comparison)
    kept: list[int] = []
    errors: list[int] = []
    words: list[int] = []
    for i, ref, hyp in zip(texts.tolist(), reference[texts].tolist(), hypothesis[texts].tolist(), strict=True):
        ref_words = ref.split()
        hyp_words = ref_words if hyp == ref else hyp.split()
        if ref_words and hyp_words:
            kept.append(i)
            errors.append(0 if hyp_words is ref_words else Levenshtein.distance(ref_words, hyp_words))
            words.append(len(ref_words))
    k = comparison[np.array(kept, dtype=np.int64)]
    return np.stack([np.bincount(k, weights=np.array(errors, dtype=np.float64), minlength=size),
                     np.bincount(k, weights=np.array(words, dtype=np.float64), minlength=size),
                     np.bincount(k, minlength=size).astype(np.float64)], axis=1)


def compare(batch: Batch) -> Compared:
    """Every comparison on the batch's sounds, all at once."""
    a, b = _comparisons(batch)
    size = a.size
    frames = batch.frames[batch.side_sound[a]] if size else np.zeros(0, dtype=np.int64)
    ra, ka = matching.spans(batch.side_lo[a], batch.side_hi[a])
    rb, kb = matching.spans(batch.side_lo[b], batch.side_hi[b])
    ia, ib = matching.match_within(ka, batch.start[ra], batch.end[ra], kb, batch.start[rb], batch.end[rb])
    ra, rb, k = ra[ia], rb[ib], ka[ia]
    segments = np.stack([(batch.side_hi - batch.side_lo)[a], (batch.side_hi - batch.side_lo)[b], np.bincount(k, minlength=size),
                         np.bincount(k, weights=np.abs(batch.start[ra] - batch.start[rb]), minlength=size),
                         np.bincount(k, weights=np.abs(batch.end[ra] - batch.end[rb]), minlength=size)], axis=1).astype(np.float64)
    words = _words(batch.text[ra], batch.text[rb], k, size)
    groups, per_group = _per_tag(batch, a, b, frames)
    tags = max(len(batch.tags), 1)
    group_comparison = groups // tags
    every = np.arange(size)
    return Compared(batch=batch, a=a, b=b, frames=frames, segments=segments.reshape(size, 5), words=words,
                    group_comparison=group_comparison, group_tag=groups % tags, per_group=per_group,
                    group_lo=np.searchsorted(group_comparison, every), group_hi=np.searchsorted(group_comparison, every, side="right"))


def _per_tag(batch: Batch, a: np.ndarray, b: np.ndarray, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The (comparison x tags + tag) groups present, sorted, and each one's counts: regions, matches within the
    tag, deviations, and frames both sides, only A and only B marked."""
    tags = max(len(batch.tags), 1)
    ia_items, ka = matching.spans(batch.side_item_lo[a], batch.side_item_hi[a])
    ib_items, kb = matching.spans(batch.side_item_lo[b], batch.side_item_hi[b])
    raw_a, raw_b = ka * tags + batch.item_tag[ia_items], kb * tags + batch.item_tag[ib_items]
    groups = np.unique(np.concatenate([raw_a, raw_b]))
    ga, gb = np.searchsorted(groups, raw_a), np.searchsorted(groups, raw_b)
    size = groups.size
    ra, rb = batch.item_region[ia_items], batch.item_region[ib_items]
    ma, mb = matching.match_within(ga, batch.start[ra], batch.end[ra], gb, batch.start[rb], batch.end[rb])
    matched = ga[ma]
    fa, sa = matching.frames(batch.start[ra], batch.end[ra], frames[ka])
    fb, sb = matching.frames(batch.start[rb], batch.end[rb], frames[kb])
    by_a, by_b = matching.covered(ga, fa, sa, size), matching.covered(gb, fb, sb, size)
    by_either = matching.covered(np.concatenate([ga, gb]), np.concatenate([fa, fb]), np.concatenate([sa, sb]), size)
    both = by_a + by_b - by_either
    per_group = np.stack([
        np.bincount(ga, minlength=size), np.bincount(gb, minlength=size), np.bincount(matched, minlength=size),
        np.bincount(matched, weights=np.abs(batch.start[ra[ma]] - batch.start[rb[mb]]), minlength=size),
        np.bincount(matched, weights=np.abs(batch.end[ra[ma]] - batch.end[rb[mb]]), minlength=size),
        both, by_a - both, by_b - both], axis=1).astype(np.float64)
    return groups, per_group.reshape(size, 8)


def sound_figures(session: Session, dataset: str) -> Iterator[SoundFigures]:
    """Each comparison on each sound of the dataset (two people, or a person and gold), sound by sound."""
    for batch in read_batches(session, dataset):
        compared = compare(batch)
        for k in range(compared.a.size):
            yield compared.sound_figures(k)


# Adding up ---------------------------------------------------------------------------------------------------------


class _Totals:
    """Each pair's counts (people, and gold with each person) and the worst-agreeing sounds, batch by batch."""

    def __init__(self, worst: int) -> None:
        self.pairs: dict[tuple[str, str], Tally] = {}
        self.sounds = 0
        self.people_sounds = 0  # sounds two people annotated (the overall figures' sounds, each once)
        self.worst_size = worst
        self.worst: list[tuple[float, str, int, SoundFigures]] = []
        self.seen = 0

    def add(self, compared: Compared) -> None:
        batch, size = compared.batch, compared.a.size
        if not size:
            return
        self.sounds += np.unique(batch.side_sound[compared.a]).size
        self.people_sounds += np.unique(batch.side_sound[compared.a[batch.side_name[compared.a] != GOLD]]).size
        keys = list(zip(batch.side_name[compared.a].tolist(), batch.side_name[compared.b].tolist(), strict=True))
        names = list(dict.fromkeys(keys))
        index = {key: i for i, key in enumerate(names)}
        pair = np.array([index[key] for key in keys], dtype=np.int64)
        segments, words = np.zeros((len(names), 5)), np.zeros((len(names), 3))
        np.add.at(segments, pair, compared.segments)
        np.add.at(words, pair, compared.words)
        sounds, frames = np.bincount(pair, minlength=len(names)), np.bincount(pair, weights=compared.frames, minlength=len(names))
        for i, key in enumerate(names):
            self.pairs.setdefault(key, Tally()).add(Tally(sounds=int(sounds[i]), frames=int(frames[i]), segments=segments[i], words=words[i]))
        self._add_tags(compared, pair, names)
        self._keep_worst(compared)

    def _add_tags(self, compared: Compared, pair: np.ndarray, names: list[tuple[str, str]]) -> None:
        tags = max(len(compared.batch.tags), 1)
        keys, at = np.unique(pair[compared.group_comparison] * tags + compared.group_tag, return_inverse=True)
        sums = np.zeros((keys.size, 8))
        np.add.at(sums, at, compared.per_group)
        for key, row in zip(keys.tolist(), sums, strict=True):
            tally = self.pairs[names[key // tags]]
            tag = compared.batch.tags[key % tags]
            if tag in tally.tags:
                tally.tags[tag] += row
            else:
                tally.tags[tag] = row.copy()

    def _keep_worst(self, compared: Compared) -> None:
        """The comparisons of two people with the lowest segment F1 so far (ties: the earlier sound first)."""
        people = np.flatnonzero(compared.batch.side_name[compared.a] != GOLD)
        regions = compared.segments[people, 0] + compared.segments[people, 1]
        f1 = 2 * compared.segments[people, 2] / np.where(regions > 0, regions, 1)
        for k in people[np.argsort(f1, kind="stable")[: self.worst_size]].tolist():
            figures = compared.sound_figures(k)
            self.worst.append((figures.figures.segment_f1 or 0.0, figures.sound_id, self.seen, figures))
            self.seen += 1
        self.worst = sorted(self.worst, key=lambda entry: entry[:3])[: self.worst_size]


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
    totals = _Totals(worst)
    for batch in read_batches(session, dataset):
        totals.add(compare(batch))
    overall = Tally()
    for (first, _second), tally in totals.pairs.items():
        if first != GOLD:
            overall.add(tally)
    overall.sounds = totals.people_sounds  # not once per pair
    pairs = sorted(totals.pairs.items())
    return Agreement(
        dataset=dataset, sounds=totals.sounds, people=tuple(sorted({name for key in totals.pairs for name in key} - {GOLD})),
        overall=overall.figures(),
        pairs=tuple(PairFigures(a, b, tally.figures()) for (a, b), tally in pairs if a != GOLD),
        gold=tuple(PairFigures(b, GOLD, tally.figures(swap=True)) for (a, b), tally in pairs if a == GOLD),
        worst=tuple(entry[3] for entry in totals.worst))


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
