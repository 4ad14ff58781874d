"""The arithmetic of agreement between two people's regions on one sound (core/team/agreement.py reads the regions
and adds the figures up): one-to-one matching of segments, the frames a set of regions covers, Cohen's kappa from
frame counts. Plain numpy and scipy on arrays, no database, so the benchmark (bench/agreement.py) and the tests
call the same code the product runs.

Matching: two segments may match when their intersection over union is at least :data:`MIN_IOU` (0.5), each segment
at most once. Among the matchings allowed, the one with the most matches and, among those, the largest total IoU
is taken (scipy's ``linear_sum_assignment`` on a weight of IoU plus a bonus per match). When no segment has two
candidates, which is nearly always, the candidates are the matching and the assignment solver is not called.

Frames: a sound is cut into :data:`FRAME_SECONDS` (10 ms) frames; a region marks a frame when it covers the
frame's middle. Kappa is computed here from the four counts of a 2x2 table rather than by scikit-learn's
``cohen_kappa_score``, which takes one label per frame: a dataset of 10,000 sounds has hundreds of thousands of
such tables, each of thousands of frames, and this is the same formula on all of them at once
(tests/test_core_agreement.py checks it equals scikit-learn's on the frames themselves).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import linear_sum_assignment

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
    bonus = float(max(overlap.shape))  # one more match always outweighs any gain in IoU (IoU <= 1 a match)
    rows, cols = linear_sum_assignment(np.where(allowed, overlap + bonus, 0.0), maximize=True)
    kept = allowed[rows, cols]
    return rows[kept].astype(np.int64), cols[kept].astype(np.int64)


def frames(start: Floats, end: Floats, count: int) -> tuple[Ints, Ints]:
    """The frames ``[first, stop)`` each region marks: those whose middle it covers, within a sound of ``count``
    frames (rounded to the microsecond first, so 0.3 s is frame 30's start and not a hair before it)."""
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
