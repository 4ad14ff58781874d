"""onsets: transients (drum hits, note starts) as short segments tagged 'onset'."""

from __future__ import annotations

from typing import Any

import numpy as np

from core.jobs.analyzers.base import (
    Analyzer,
    Output,
    Param,
    Segment,
    blocks,
    require_audio,
)
from core.store.models import Sound
from core.store.storage import Storage

N_FFT = 512


def spectral_flux(storage: Storage, sound: Sound, hop: int) -> np.ndarray:
    """Positive log-spectral change per frame, read a block at a time: on an hour-long file only the flux (a few
    MB) is kept, not the spectra. Frame i starts at i * hop of the sound preceded by N_FFT samples of silence
    (so an onset at 0 s shows too); frame 0's flux is 0."""
    window = np.hanning(N_FFT).astype(np.float32)
    carry, previous, parts = np.zeros(N_FFT, np.float32), None, []
    for block in blocks(storage, sound):
        samples = np.concatenate([carry, block.mean(axis=1)])
        count = 1 + (samples.size - N_FFT) // hop if samples.size >= N_FFT else 0
        if count == 0:
            carry = samples
            continue
        index = np.arange(N_FFT)[None, :] + hop * np.arange(count)[:, None]
        spectra = np.log1p(100 * np.abs(np.fft.rfft(samples[index] * window, axis=1)))
        joined = spectra if previous is None else np.vstack([previous[None, :], spectra])
        flux = np.maximum(np.diff(joined, axis=0), 0).sum(axis=1)
        parts.append(np.concatenate([[0.0], flux]) if previous is None else flux)
        previous, carry = spectra[-1], samples[count * hop:]
    return np.concatenate(parts) if parts else np.zeros(0)


def onsets(storage: Storage, sound: Sound, params: dict[str, Any]) -> Output:
    """Spectral flux with an adaptive threshold (median of the neighbourhood plus a margin), peaks kept at
    least ``min_gap_ms`` apart."""
    from scipy.ndimage import median_filter  # here: commands start without SciPy

    rate = require_audio(sound)
    hop = max(1, int(rate * 0.005))
    flux = spectral_flux(storage, sound, hop)
    if sound.duration_seconds * rate < N_FFT or flux.size < 3:  # shorter than one frame: nothing to compare
        return Output()
    flux = flux / (flux.max() or 1.0)
    half = max(1, int(0.1 * rate / hop))
    threshold = median_filter(flux, size=2 * half + 1, mode="nearest") + (1.0 - params["sensitivity"]) * 0.5
    gap = int(params["min_gap_ms"] / 1000 * rate / hop)
    peaks = np.flatnonzero((flux[1:-1] > threshold[1:-1]) & (flux[1:-1] >= flux[:-2]) & (flux[1:-1] >= flux[2:])) + 1
    found, last = [], -gap - 1
    for i in peaks.tolist():
        if i - last > gap:
            found.append(i)
            last = i
    width = 0.02
    times = ((i * hop + N_FFT / 2 - N_FFT) / rate for i in found)  # a frame's centre, less the padding
    return Output(segments=[Segment(min(max(t, 0.0), sound.duration_seconds - width), width, ["onset"])
                            for t in times if sound.duration_seconds > width])


ANALYZER = Analyzer(
    "onsets", "1", "Onsets and transients (drum hits, note starts) as short segments tagged 'onset'.",
    "annotations tagged onset, 20 ms long, at each detected onset",
    {"sensitivity": Param(0.85, 0.0, 1.0, help="higher finds more, fainter onsets"),
     "min_gap_ms": Param(50.0, 5.0, 2000.0, help="onsets closer than this are merged")},
    onsets)
