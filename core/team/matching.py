"""The arithmetic of agreement between two people's regions on one sound (core/team/agreement.py reads the regions
and adds the figures up): one-to-one matching of segments, the frames a set of regions covers, Cohen's kappa from
frame counts. Plain numpy and scipy on arrays, no database, so the benchmark (bench/agreement.py) and the tests
call the same code the product runs.

Matching: two segments may match when their intersection over union is at least :data:`MIN_IOU` (0.5), each segment
at most once. Among the matchings allowed, the one with the most matches and, among those, the largest total IoU
is taken (scipy's ``linear_sum_assignment`` on a weight of IoU plus a bonus per match). :func:`match_within` does
every comparison of a batch at once: candidates come from one sorted sweep, and a segment with a single candidate
that has no other is matched without the solver, which sees only the few groups of segments that compete.

Frames: a sound is cut into :data:`FRAME_SECONDS` (10 ms) frames; a region marks a frame when it covers the
frame's middle. Kappa is computed here from the four counts of a 2x2 table rather than by scikit-learn's
``cohen_kappa_score``, which takes one label per frame: a dataset of 10,000 sounds has hundreds of thousands of
such tables, each of thousands of frames, and this is the same formula on all of them at once
(tests/test_core_agreement.py checks it equals scikit-learn's on the frames themselves).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from numpy.typing import NDArray

MIN_IOU = 0.5
FRAME_SECONDS = 0.01

Floats = NDArray[np.float64]
Ints = NDArray[np.int64]


def iou(a_start: Floats, a_end: Floats, b_start: Floats, b_end: Floats) -> Floats:
    """The intersection over union of every segment of A (rows) with every segment of B (columns)."""
    inter = np.minimum(a_end[:, None], b_end[None, :]) - np.maximum(a_start[:, None], b_start[None, :])
    union = np.maximum(a_end[:, None], b_end[None, :]) - np.minimum(a_start[:, None], b_start[None, :])
    return np.where(inter > 0, inter / np.where(union > 0, union, 1.0), 0.0)


def match(overlap: Floats) -> tuple[Ints, Ints]:
    """Row and column indices of the matched pairs, given an IoU matrix (zero where two segments may not match,
    for instance because their tags differ)."""
    allowed = overlap >= MIN_IOU
    rows, cols = np.nonzero(allowed)
    if rows.size == 0 or (np.bincount(rows).max() == 1 and np.bincount(cols).max() == 1):
        return rows.astype(np.int64), cols.astype(np.int64)  # no segment has two candidates: nothing to choose
    from scipy.optimize import linear_sum_assignment  # here: commands start without SciPy (BENCHMARKS.md, issue 28)

    bonus = float(max(overlap.shape))  # one more match always outweighs any gain in IoU (IoU <= 1 a match)
    rows, cols = linear_sum_assignment(np.where(allowed, overlap + bonus, 0.0), maximize=True)
    kept = allowed[rows, cols]
    return rows[kept].astype(np.int64), cols[kept].astype(np.int64)


def spans(lo: Ints, hi: Ints) -> tuple[Ints, Ints]:
    """The indices ``lo[i] .. hi[i] - 1`` of every i, one after another, and for each the i it came from."""
    lengths = hi - lo
    owner = np.repeat(np.arange(lo.size, dtype=np.int64), lengths)
    starts = np.cumsum(lengths) - lengths
    return (np.arange(owner.size, dtype=np.int64) - starts[owner] + lo[owner]), owner


def match_within(a_group: Ints, a_start: Floats, a_end: Floats, b_group: Ints, b_start: Floats, b_end: Floats) -> tuple[Ints, Ints]:
    """One-to-one matching of A's segments with B's within each group (a comparison, or a comparison and a tag),
    every group at once: indices into A and into B of the matched pairs.

    B's candidates for a segment of A start at most A's length before it and before its end (IoU >= 0.5 allows
    no more), found by a binary search in B sorted by (group, start)."""
    if a_group.size == 0 or b_group.size == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    span = float(max(a_end.max(), b_end.max())) * 2 + 2  # keeps each group's stretch of the line apart
    order = np.argsort(b_group * span + b_start, kind="stable")
    keys = (b_group * span + b_start)[order]
    lo = np.searchsorted(keys, a_group * span + a_start - (a_end - a_start) - 1e-9, side="left")
    hi = np.searchsorted(keys, a_group * span + a_end, side="left")
    position, ia = spans(lo, hi)
    ib = order[position]
    overlap = iou_pairs(a_start[ia], a_end[ia], b_start[ib], b_end[ib])
    keep = overlap >= MIN_IOU
    ia, ib, overlap = ia[keep], ib[keep], overlap[keep]
    clash = (np.bincount(ia, minlength=a_group.size)[ia] > 1) | (np.bincount(ib, minlength=b_group.size)[ib] > 1)
    found_a, found_b = [ia[~clash]], [ib[~clash]]
    for rows, cols in _settled(a_group[ia[clash]], ia[clash], ib[clash], overlap[clash]):
        found_a.append(rows)
        found_b.append(cols)
    return np.concatenate(found_a), np.concatenate(found_b)


def _settled(groups: Ints, ia: Ints, ib: Ints, overlap: Floats) -> Iterator[tuple[Ints, Ints]]:
    """The best matching of each group's competing candidates (segments of A or B with two candidates or more)."""
    order = np.argsort(groups, kind="stable")
    groups, ia, ib, overlap = groups[order], ia[order], ib[order], overlap[order]
    bounds = np.flatnonzero(np.diff(groups)) + 1
    for rows_, cols_, values in zip(np.split(ia, bounds), np.split(ib, bounds), np.split(overlap, bounds), strict=True):
        if rows_.size == 0:
            continue
        rows, row_at = np.unique(rows_, return_inverse=True)
        cols, col_at = np.unique(cols_, return_inverse=True)
        matrix = np.zeros((rows.size, cols.size))
        matrix[row_at, col_at] = values
        r, c = match(matrix)
        yield rows[r], cols[c]


def iou_pairs(a_start: Floats, a_end: Floats, b_start: Floats, b_end: Floats) -> Floats:
    """The intersection over union of each pair (a[i], b[i])."""
    inter = np.minimum(a_end, b_end) - np.maximum(a_start, b_start)
    union = np.maximum(a_end, b_end) - np.minimum(a_start, b_start)
    return np.where(inter > 0, inter / np.where(union > 0, union, 1.0), 0.0)


def frames(start: Floats, end: Floats, count: Ints | int) -> tuple[Ints, Ints]:
    """The frames ``[first, stop)`` each region marks: those whose middle it covers, within a sound of ``count``
    frames (one count, or each region's). Times are rounded to the microsecond first, so that a region starting
    at 0.305 s (float 0.30499999...) marks frame 30, whose middle it is."""
    first = np.ceil(np.round(start / FRAME_SECONDS - 0.5, 6)).astype(np.int64)
    stop = np.ceil(np.round(end / FRAME_SECONDS - 0.5, 6)).astype(np.int64)
    return np.clip(first, 0, count), np.clip(stop, 0, count)


def frame_count(duration_seconds: float) -> int:
    return int(np.ceil(round(duration_seconds / FRAME_SECONDS, 6)))


def covered(groups: Ints, first: Ints, stop: Ints, size: int) -> Ints:
    """How many frames each group's regions cover together (overlaps counted once): ``size`` groups, numbered
    from 0, any number of regions each. All groups at once: each group is moved to its own stretch of one long
    line, where a single sweep merges overlapping regions without ever joining two groups."""
    keep = stop > first
    groups, first, stop = groups[keep], first[keep], stop[keep]
    if groups.size == 0:
        return np.zeros(size, dtype=np.int64)
    span = int(stop.max()) + 1
    lo, hi = groups * span + first, groups * span + stop
    order = np.argsort(lo, kind="stable")
    lo, hi = lo[order], hi[order]
    reach = np.maximum.accumulate(hi)
    starts_block = np.ones(lo.size, dtype=bool)
    starts_block[1:] = lo[1:] > reach[:-1]
    block_lo = lo[starts_block]
    block_hi = np.maximum.reduceat(hi, np.flatnonzero(starts_block))
    lengths = block_hi - block_lo
    return np.bincount(block_lo // span, weights=lengths, minlength=size).astype(np.int64)


def kappa(both: Floats, only_a: Floats, only_b: Floats, total: Floats) -> Floats:
    """Cohen's kappa of two people marking frames (yes/no), from the counts of frames both marked, only A marked,
    only B marked, and all frames; NaN where it is undefined (both marked every frame, or none)."""
    both, only_a, only_b, total = (np.asarray(x, dtype=np.float64) for x in (both, only_a, only_b, total))
    neither = total - both - only_a - only_b
    with np.errstate(invalid="ignore", divide="ignore"):
        observed = (both + neither) / total
        a_yes, b_yes = (both + only_a) / total, (both + only_b) / total
        expected = a_yes * b_yes + (1 - a_yes) * (1 - b_yes)
        return np.where(expected < 1, (observed - expected) / (1 - expected), np.nan)
