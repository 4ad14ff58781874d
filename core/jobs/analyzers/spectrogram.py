"""spectrogram: a log-magnitude STFT saved as a NumPy .npy object, linked from one annotation's data_url."""

from __future__ import annotations

import tempfile
from typing import Any

import numpy as np

from core.jobs.analyzers.base import Analyzer, Output, Param, Segment, mono
from core.store.models import Sound
from core.store.storage import Storage


def spectrogram(storage: Storage, sound: Sound, params: dict[str, Any]) -> Output:
    """Log-magnitude STFT (dB, float16, [frequency, time]) as a .npy object, linked from one annotation."""
    samples = mono(storage, sound)
    n_fft, hop = int(params["n_fft"]), int(params["hop"])
    window = {"hann": np.hanning, "hamming": np.hamming}[params["window"]](n_fft).astype(np.float32)
    samples = np.pad(samples, (0, max(0, n_fft - samples.size)))
    count = 1 + (samples.size - n_fft) // hop
    with tempfile.TemporaryDirectory(prefix="earmark-spectrogram-") as tmp:
        path = f"{tmp}/spectrogram.npy"  # filled on disk a block at a time: long sounds do not fill memory
        result = np.lib.format.open_memmap(path, mode="w+", dtype=np.float16, shape=(n_fft // 2 + 1, count))
        for start in range(0, count, 1024):
            index = np.arange(n_fft)[None, :] + hop * np.arange(start, min(count, start + 1024))[:, None]
            power = np.abs(np.fft.rfft(samples[index] * window, axis=1)) ** 2
            result[:, start: start + index.shape[0]] = (10 * np.log10(np.maximum(power, 1e-10))).T
        result.flush()
        del result
        with open(path, "rb") as data:
            content = data.read()
    name = f"spectrogram-{n_fft}-{hop}-{params['window']}.npy"
    return Output(segments=[Segment(0.0, sound.duration_seconds, ["spectrogram"], text=f"{n_fft}-point STFT, hop {hop}",
                                    data_url=name)], objects={name: content})


ANALYZER = Analyzer(
    "spectrogram", "1", "A log-magnitude spectrogram saved as a NumPy .npy array in storage.",
    "one annotation over the whole sound whose data_url points at the .npy (dB, float16, [frequency, time])",
    {"n_fft": Param(512, 64, 8192, help="FFT size"), "hop": Param(128, 16, 8192, help="samples between frames"),
     "window": Param("hann", choices=("hann", "hamming"), help="window function")},
    spectrogram)
