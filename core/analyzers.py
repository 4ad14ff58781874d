"""Analyzers: small, declared computations over one sound that pre-annotate it or compute features.

Each declares a name, a version, what it does, its parameters (default and range) and what it outputs; ``run``
returns the output and writes nothing: the job runner (core.jobs) stores it, replacing what the same analyzer
with the same parameters stored before, so a re-run never doubles it.
"""

from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import soundfile as sf

from core.errors import ValidationError
from core.models import Sound
from core.storage import Storage

BLOCK = 65536


@dataclass(frozen=True)
class Param:
    default: float | int | str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    help: str = ""


@dataclass
class Segment:
    start: float
    duration: float
    tags: list[str]
    text: str | None = None
    data_url: str | None = None


@dataclass
class Output:
    segments: list[Segment] = field(default_factory=list)
    fields: dict[str, str] = field(default_factory=dict)  # sound metadata, filterable on Browse
    objects: dict[str, bytes] = field(default_factory=dict)  # name -> content, stored under derived/<sound id>/


@dataclass(frozen=True)
class Analyzer:
    name: str
    version: str
    description: str
    outputs: str
    params: dict[str, Param]

    def check(self, given: dict[str, Any]) -> dict[str, Any]:
        """The parameters with defaults filled in; a value outside its range names the parameter."""
        unknown = set(given) - set(self.params)
        if unknown:
            raise ValidationError("params", f"{self.name} has no parameter {sorted(unknown)[0]!r} (it has {', '.join(self.params)}).")
        checked: dict[str, Any] = {}
        for name, spec in self.params.items():
            value = given.get(name, spec.default)
            if spec.choices:
                if str(value) not in spec.choices:
                    raise ValidationError(name, f"{name} must be one of {', '.join(spec.choices)}, not {value!r}.")
                checked[name] = str(value)
                continue
            try:
                value = type(spec.default)(value)
            except (TypeError, ValueError):
                raise ValidationError(name, f"{name} must be a number, not {value!r}.") from None
            if (spec.minimum is not None and value < spec.minimum) or (spec.maximum is not None and value > spec.maximum):
                raise ValidationError(name, f"{name} must be from {spec.minimum:g} to {spec.maximum:g}, not {value:g}.")
            checked[name] = value
        return checked

    def run(self, storage: Storage, sound: Sound, params: dict[str, Any]) -> Output:
        return RUNNERS[self.name](storage, sound, params)


def _blocks(storage: Storage, sound: Sound):
    if sound.file is None:
        raise ValidationError("sound", f"{sound.path} has no stored audio to analyze.")
    with storage.open_seekable(sound.file.key) as raw, sf.SoundFile(raw) as f:
        for block in f.blocks(blocksize=BLOCK, dtype="float32", always_2d=True):
            yield block


def _db(value: float) -> str:
    return f"{20 * math.log10(value):.2f}" if value > 0 else "-inf"


def audio_stats(storage: Storage, sound: Sound, params: dict[str, Any]) -> Output:
    """Level, clipping, DC offset and silence, in one pass over the samples."""
    frame = max(1, int(sound.sample_rate * params["frame_ms"] / 1000))
    total = squares = peak = clipped = dc = 0.0
    frames = silent = 0
    threshold = 10 ** (params["silence_dbfs"] / 20)
    carry = np.zeros((0, sound.channels or 1), np.float32)
    for block in _blocks(storage, sound):
        total += block.size
        squares += float(np.square(block, dtype=np.float64).sum())
        peak = max(peak, float(np.abs(block).max()))
        clipped += float((np.abs(block) >= 0.999).sum())
        dc += float(block.sum(dtype=np.float64))
        joined = np.concatenate([carry, block])
        whole = joined.shape[0] // frame * frame
        rms = np.sqrt(np.square(joined[:whole].reshape(-1, frame * joined.shape[1])).mean(axis=1))
        frames += rms.size
        silent += int((rms < threshold).sum())
        carry = joined[whole:]
    total = max(total, 1)
    return Output(fields={
        "audio_stats.rms_dbfs": _db(math.sqrt(squares / total)), "audio_stats.peak_dbfs": _db(peak),
        "audio_stats.clipping_ratio": f"{clipped / total:.6f}", "audio_stats.dc_offset": f"{dc / total:.6f}",
        "audio_stats.silence_ratio": f"{silent / max(frames, 1):.4f}",
        "audio_stats.duration_seconds": f"{sound.duration_seconds:.3f}", "audio_stats.sample_rate": str(sound.sample_rate),
    })


def _mono(storage: Storage, sound: Sound) -> np.ndarray:
    return np.concatenate([b.mean(axis=1) for b in _blocks(storage, sound)] or [np.zeros(0, np.float32)])


def onsets(storage: Storage, sound: Sound, params: dict[str, Any]) -> Output:
    """Spectral flux with an adaptive threshold (median of the neighbourhood plus a margin), peaks kept at
    least ``min_gap_ms`` apart: transients, drum hits, note starts."""
    rate, n_fft = sound.sample_rate, 512
    samples = np.pad(_mono(storage, sound), (n_fft, 0))  # silence before the start: an onset at 0 s shows too
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


def spectrogram(storage: Storage, sound: Sound, params: dict[str, Any]) -> Output:
    """Log-magnitude STFT (dB, float16, [frequency, time]) as a .npy object, linked from one annotation."""
    samples = _mono(storage, sound)
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


RUNNERS = {"audio-stats": audio_stats, "onsets": onsets, "spectrogram": spectrogram}
ANALYZERS = {a.name: a for a in (
    Analyzer("audio-stats", "1", "Level and quality figures of each sound, stored as its metadata (filterable on Browse).",
             "metadata fields audio_stats.*: rms_dbfs, peak_dbfs, clipping_ratio, dc_offset, silence_ratio",
             {"silence_dbfs": Param(-60.0, -120.0, 0.0, help="a frame quieter than this is silence"),
              "frame_ms": Param(50.0, 5.0, 1000.0, help="frame length for the silence ratio")}),
    Analyzer("onsets", "1", "Onsets and transients (drum hits, note starts) as short segments tagged 'onset'.",
             "annotations tagged onset, 20 ms long, at each detected onset",
             {"sensitivity": Param(0.85, 0.0, 1.0, help="higher finds more, fainter onsets"),
              "min_gap_ms": Param(50.0, 5.0, 2000.0, help="onsets closer than this are merged")}),
    Analyzer("spectrogram", "1", "A log-magnitude spectrogram saved as a NumPy .npy array in storage.",
             "one annotation over the whole sound whose data_url points at the .npy (dB, float16, [frequency, time])",
             {"n_fft": Param(512, 64, 8192, help="FFT size"), "hop": Param(128, 16, 8192, help="samples between frames"),
              "window": Param("hann", choices=("hann", "hamming"), help="window function")}),
)}


def get(name: str) -> Analyzer:
    if name not in ANALYZERS:
        raise ValidationError("analyzer", f"There is no analyzer {name!r}; choose from {', '.join(ANALYZERS)}.")
    return ANALYZERS[name]
