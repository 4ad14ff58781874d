"""onsets: transients (drum hits, note starts) as short segments tagged 'onset'."""

from __future__ import annotations

from typing import Any

import numpy as np

from core.analyzers.base import Analyzer, Output, Param, Segment, mono
from core.models import Sound
from core.storage import Storage


def onsets(storage: Storage, sound: Sound, params: dict[str, Any]) -> Output:
    """Spectral flux with an adaptive threshold (median of the neighbourhood plus a margin), peaks kept at
    least ``min_gap_ms`` apart."""
    rate, n_fft = sound.sample_rate, 512
    samples = np.pad(mono(storage, sound), (n_fft, 0))  # silence before the start: an onset at 0 s shows too
    hop = max(1, int(rate * 0.005))
    if samples.size < 2 * n_fft:
        return Output()
    count = 1 + (samples.size - n_fft) // hop
    window = np.hanning(n_fft).astype(np.float32)
    spectra = np.empty((count, n_fft // 2 + 1), np.float32)
    for start in range(0, count, 2048):  # bounded memory on long files
        index = np.arange(n_fft)[None, :] + hop * np.arange(start, min(count, start + 2048))[:, None]
        spectra[start: start + index.shape[0]] = np.log1p(100 * np.abs(np.fft.rfft(samples[index] * window, axis=1)))
    flux = np.maximum(np.diff(spectra, axis=0), 0).sum(axis=1)
    flux = np.concatenate([[0.0], flux / (flux.max() or 1.0)])
    half = max(1, int(0.1 * rate / hop))
    padded = np.pad(flux, half, mode="edge")
    local = np.array([np.median(padded[i: i + 2 * half + 1]) for i in range(flux.size)])
    threshold = local + (1.0 - params["sensitivity"]) * 0.5
    gap = int(params["min_gap_ms"] / 1000 * rate / hop)
    found, last = [], -gap - 1
    for i in range(1, flux.size - 1):
        if flux[i] > threshold[i] and flux[i] >= flux[i - 1] and flux[i] >= flux[i + 1] and i - last > gap:
            found.append(i)
            last = i
    width = 0.02
    times = ((i * hop + n_fft / 2 - n_fft) / rate for i in found)  # a frame's centre, less the padding
    return Output(segments=[Segment(min(max(t, 0.0), sound.duration_seconds - width), width, ["onset"])
                            for t in times if sound.duration_seconds > width])


ANALYZER = Analyzer(
    "onsets", "1", "Onsets and transients (drum hits, note starts) as short segments tagged 'onset'.",
    "annotations tagged onset, 20 ms long, at each detected onset",
    {"sensitivity": Param(0.85, 0.0, 1.0, help="higher finds more, fainter onsets"),
     "min_gap_ms": Param(50.0, 5.0, 2000.0, help="onsets closer than this are merged")},
    onsets)
