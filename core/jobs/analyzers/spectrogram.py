"""spectrogram: a log-magnitude STFT saved as a NumPy .npy object, linked from the sound's metadata.

What it computes is about the whole sound, so it is data about the sound (metadata fields ``spectrogram.*``), not
a region for people to review."""

from __future__ import annotations

import tempfile
from typing import Any

import numpy as np

from core.jobs.analyzers.base import Analyzer, Output, Param, mono
from core.store.models import Sound
from core.store.storage import Storage


def spectrogram(storage: Storage, sound: Sound, params: dict[str, Any]) -> Output:
    """Log-magnitude STFT (dB, float16, [frequency, time]) as a .npy object; metadata fields say where it is
    (``spectrogram.data_url``) and what it holds."""
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
    # a field whose value names one of the output's objects is stored as that object's URL (core.jobs.queue)
    return Output(fields={ANALYZER.field_prefix + field: value for field, value in {
        "data_url": name, "n_fft": str(n_fft), "hop": str(hop), "window": params["window"],
        "bins": str(n_fft // 2 + 1), "frames": str(count), "frame_seconds": f"{hop / sound.rate:.6f}",
    }.items()}, objects={name: content})


ANALYZER = Analyzer(
    "spectrogram", "2", "A log-magnitude spectrogram saved as a NumPy .npy array in storage.",
    "metadata fields spectrogram.*: data_url (the .npy: dB, float16, [frequency, time]), n_fft, hop, window, bins, "
    "frames, frame_seconds",
    {"n_fft": Param(512, 64, 8192, help="FFT size"), "hop": Param(128, 16, 8192, help="samples between frames"),
     "window": Param("hann", choices=("hann", "hamming"), help="window function")},
    spectrogram)
