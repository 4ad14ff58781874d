"""Landmark audio fingerprints (Wang's Shazam paper, as Dan Ellis's audfprint implements it), in numpy and scipy.

Why landmarks: a copy that is not byte-identical (MP3 or OGG of a WAV, resampled, louder or quieter, a piece cut
out) still has its loudest time-frequency points in the same places, at the same distances from each other. So:

1. The sound is made mono at RATE (11,025 Hz, polyphase resampling), so every copy is compared on one grid
   whatever its own rate; a spectrogram of N_FFT-sample Hann windows every HOP samples (23 ms a frame, 256 bins
   up to 5.5 kHz) in dB.
2. Peaks: points that are the largest within PEAK_BINS bins and PEAK_FRAMES frames either way, at most
   DENSITY a second (the most prominent above the frame's spectral envelope), never in near-silence (FLOOR_DB under
   the sound's loudest point). Gain shifts every dB value alike, so it moves no peak.
3. Landmarks: each peak paired with its next FAN_OUT peaks within 1..63 frames later and 31 bins up or down; a
   landmark's hash packs (first peak's bin: 8 bits, bin difference: 6 bits, frame difference: 6 bits) into 20 bits,
   and it keeps the first peak's frame as its time. Nothing in a hash depends on where the sound starts.
4. A copy shares many hashes with its original at one time difference (its offset); unrelated sounds share a few
   at scattered ones (``best_offsets`` counts them). An excerpt cut at any sample falls between the frame grid's
   points, which moves some peaks: the query side is fingerprinted at SHIFTS (quarter-hop offsets) and their
   landmarks pooled, as audfprint's ``--shifts`` does.

Used by core/jobs/analyzers/duplicates.py, which keeps the hashes in the database indexed by hash
(core/store/migrations/versions/0013_audio_fingerprints.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from math import gcd

import numpy as np

RATE = 11_025
N_FFT = 512
HOP = 256
FRAME_SECONDS = HOP / RATE
BINS = 256  # of the N_FFT // 2 + 1 (the top one dropped: 8 bits)
PEAK_BINS = 12  # a peak is the largest this many bins either way...
PEAK_FRAMES = 4  # ...and this many frames either way
DENSITY = 10.0  # peaks a second, at most
FAN_OUT = 3  # landmarks per peak
MAX_DT = 63  # frames (6 bits), 1.46 s
MAX_DF = 31  # bins (6 bits with the sign)
FLOOR_DB = 60.0
ENVELOPE_BINS = 31  # the spectral envelope a peak's prominence is measured above
SHIFTS = (0, HOP // 4, HOP // 2, 3 * HOP // 4)
VERSION = "landmark-1"  # stored with each fingerprint: hashes of other versions are not compared


@dataclass(frozen=True)
class Landmarks:
    """Hashes (uint32, 20 bits used) and their times in frames (int32), in time order."""

    hashes: np.ndarray
    frames: np.ndarray

    def __len__(self) -> int:
        return len(self.hashes)


def to_rate(samples: np.ndarray, rate: int) -> np.ndarray:
    """Mono float32 at RATE (a rate that is already RATE is left alone)."""
    if rate == RATE:
        return samples.astype(np.float32, copy=False)
    from scipy import signal  # here: commands start without SciPy (70 MB: BENCHMARKS.md, issue 28)

    common = gcd(rate, RATE)
    return signal.resample_poly(samples, RATE // common, rate // common).astype(np.float32)


def spectrogram_db(samples: np.ndarray) -> np.ndarray:
    """[BINS, frames] magnitude in dB of mono samples at RATE."""
    if len(samples) < N_FFT:
        return np.zeros((BINS, 0), np.float32)
    import scipy.fft
    from scipy import signal

    frames = np.lib.stride_tricks.sliding_window_view(samples, N_FFT)[::HOP]
    spectrum = np.abs(scipy.fft.rfft(frames * signal.windows.hann(N_FFT, sym=False).astype(np.float32), axis=1))
    return (20 * np.log10(spectrum[:, :BINS].T + 1e-9)).astype(np.float32)


def peaks(db: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(frames, bins) of the spectrogram's landmark peaks, in time order."""
    if db.size == 0:
        return np.zeros(0, np.int32), np.zeros(0, np.int32)
    from scipy import ndimage

    local = ndimage.maximum_filter(db, size=(2 * PEAK_BINS + 1, 2 * PEAK_FRAMES + 1), mode="constant", cval=-np.inf)
    prominence = db - ndimage.uniform_filter1d(db, ENVELOPE_BINS, axis=0, mode="nearest")
    bins, frames = np.nonzero((db == local) & (db > db.max() - FLOOR_DB) & (prominence > 0))
    keep = _densest(frames, prominence[bins, frames], db.shape[1])
    order = np.lexsort((bins[keep], frames[keep]))
    return frames[keep][order].astype(np.int32), bins[keep][order].astype(np.int32)


def _densest(frames: np.ndarray, strength: np.ndarray, total_frames: int) -> np.ndarray:
    """Indices of the strongest peaks, at most DENSITY a second in each second of the sound."""
    per_window = max(1, round(DENSITY))
    window = max(1, round(1 / FRAME_SECONDS))
    slot = frames // window
    order = np.lexsort((-strength, slot))  # by second, strongest first
    ranks = np.arange(len(order)) - np.searchsorted(slot[order], slot[order])  # rank within its second
    return order[ranks < per_window]


def landmarks(frames: np.ndarray, bins: np.ndarray) -> Landmarks:
    """Each peak paired with its next FAN_OUT peaks in the target zone, hashed (see the module's step 3)."""
    pairs_a: list[np.ndarray] = []
    pairs_b: list[np.ndarray] = []
    found = np.zeros(len(frames), np.int32)  # landmarks each peak has so far
    for step in range(1, len(frames)):  # peaks are in time order: the k-th next peak is at index + k
        a = np.arange(len(frames) - step)
        b = a + step
        dt = frames[b] - frames[a]
        if not (dt <= MAX_DT).any():
            break
        ok = (dt >= 1) & (dt <= MAX_DT) & (np.abs(bins[b] - bins[a]) <= MAX_DF) & (found[a] < FAN_OUT)
        found[a[ok]] += 1
        pairs_a.append(a[ok])
        pairs_b.append(b[ok])
    if not pairs_a:
        return Landmarks(np.zeros(0, np.uint32), np.zeros(0, np.int32))
    a, b = np.concatenate(pairs_a), np.concatenate(pairs_b)
    order = np.argsort(frames[a], kind="stable")
    a, b = a[order], b[order]
    hashes = ((bins[a].astype(np.uint32) & 0xFF) << 12) | (((bins[b] - bins[a]) & 0x3F).astype(np.uint32) << 6) \
        | ((frames[b] - frames[a]).astype(np.uint32) & 0x3F)
    return Landmarks(hashes, frames[a].astype(np.int32))


def fingerprint(samples: np.ndarray, rate: int, shift: int = 0) -> Landmarks:
    """The landmarks of mono ``samples`` at ``rate``, the frame grid starting ``shift`` samples (at RATE) in."""
    at_rate = to_rate(samples, rate)[shift:]
    frames, bins = peaks(spectrogram_db(at_rate))
    return landmarks(frames, bins)


def query_landmarks(samples: np.ndarray, rate: int) -> Landmarks:
    """The landmarks of every shift of the frame grid pooled (each (hash, frame) once): what a lookup sends."""
    at_rate = to_rate(samples, rate)
    found = [fingerprint(at_rate, RATE, shift) for shift in SHIFTS]
    hashes = np.concatenate([f.hashes for f in found])
    frames = np.concatenate([f.frames for f in found])
    unique = np.unique(hashes.astype(np.int64) << 32 | frames.astype(np.int64))
    return Landmarks((unique >> 32).astype(np.uint32), (unique & 0xFFFFFFFF).astype(np.int32))


def best_offsets(query: Landmarks, owners: np.ndarray, hashes: np.ndarray, frames: np.ndarray) -> dict[int, tuple[int, int]]:
    """For each owner (a stored fingerprint) among the rows (owner, hash, frame) found by the query's hashes: its
    best time difference in frames (stored frame - query frame) and how many of the query's landmarks agree with
    it within one frame. Linear in the rows and their pairs with the query's landmarks of the same hash."""
    if len(owners) == 0 or len(query) == 0:
        return {}
    order = np.argsort(query.hashes, kind="stable")
    q_hashes, q_frames = query.hashes[order], query.frames[order]
    lo = np.searchsorted(q_hashes, hashes, "left")
    hi = np.searchsorted(q_hashes, hashes, "right")
    counts = hi - lo
    if not counts.any():
        return {}
    row = np.repeat(np.arange(len(hashes)), counts)
    within = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    q_index = lo[row] + within
    delta = frames[row].astype(np.int64) - q_frames[q_index]
    owner = owners[row].astype(np.int64)
    # each query landmark votes once per (owner, delta): a hash repeated in the stored sound counts once
    order = np.lexsort((q_index, delta, owner))
    owner, delta, q_index = owner[order], delta[order], q_index[order]
    new_vote = np.r_[True, (owner[1:] != owner[:-1]) | (delta[1:] != delta[:-1]) | (q_index[1:] != q_index[:-1])]
    owner, delta = owner[new_vote], delta[new_vote]
    starts = np.flatnonzero(np.r_[True, (owner[1:] != owner[:-1]) | (delta[1:] != delta[:-1])])
    votes = np.diff(np.r_[starts, len(owner)])
    return _smoothed_best(owner[starts], delta[starts], votes)


def _smoothed_best(owner: np.ndarray, delta: np.ndarray, votes: np.ndarray) -> dict[int, tuple[int, int]]:
    """Per owner, the delta whose votes plus its two neighbours' are the most (sorted by owner, then delta)."""
    smoothed = votes.copy()
    same_prev = (owner[1:] == owner[:-1]) & (delta[1:] == delta[:-1] + 1)
    smoothed[1:] += np.where(same_prev, votes[:-1], 0)
    smoothed[:-1] += np.where(same_prev, votes[1:], 0)
    best: dict[int, tuple[int, int]] = {}
    order = np.lexsort((-smoothed, owner))
    firsts = order[np.r_[True, owner[order][1:] != owner[order][:-1]]]
    for i in firsts:
        best[int(owner[i])] = (int(delta[i]), int(smoothed[i]))
    return best
