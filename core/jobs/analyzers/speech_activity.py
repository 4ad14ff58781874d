"""speech-activity: where people speak, as suggested segments tagged 'speech', made to hold up on real recordings.

Loudness alone cannot tell speech from noise that gets louder, a click, or hum; what sets voiced speech apart is
harmonic structure at a voice's pitch, standing out from a noise floor that changes slowly. So, per 10 ms frame:

1. The noise floor of each frequency bin: the minimum of the smoothed power over the surrounding two seconds,
   scaled by the bias of that minimum (minimum statistics). Stationary noise and mains hum end up in it.
2. Voicing: the power divided by that floor (whitened, 60 Hz to 4 kHz), turned into an autocorrelation; its
   highest peak at a lag of a voice's pitch period (2.5 to 14 ms), against the window's own autocorrelation (as
   Praat does). Whitened noise is flat and has no such peak, nor have clicks and level jumps; hum is in the
   floor. ``sensitivity`` moves the peak a frame needs to count as voiced (0.55 down to 0.35).
3. Activity: the power of the speech band (250 Hz to 4 kHz) over its floor, in dB, for consonants and edges.

Segments grow from runs of voiced frames (a run too short to be a syllable is dropped), out through the active
frames around them (at most EXTEND seconds: unvoiced consonants), and are then joined across gaps shorter than
``min_gap_ms`` and dropped if shorter than ``min_speech_ms``. Long files are read a piece at a time, each with
enough context around it that the floor is the same as if the file had been read whole.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import soundfile as sf
from scipy.ndimage import minimum_filter1d, uniform_filter, uniform_filter1d

from core.jobs.analyzers.base import Analyzer, Output, Param, Segment, require_audio
from core.store.models import Sound
from core.store.storage import Storage

HOP_SECONDS = 0.010
FRAME_SECONDS = 0.040  # three periods of a low voice
FLOOR_SECONDS = 2.0  # the window of the noise floor's minimum
FLOOR_SMOOTH = (10, 150.0)  # frames, Hz: the power is smoothed this much before its minimum is taken
FLOOR_BIAS = 1.86  # mean power over that minimum, measured on white noise (the same at 8, 16 and 44.1 kHz)
MIN_VOICED_SECONDS = 0.05  # shorter runs of voicing are not a syllable
EXTEND = 0.30  # how far a segment may grow from its voicing into active frames
ACTIVE_DB = 3.0  # speech-band power over its floor that counts as sound (consonants, onsets, tails)
PITCH = (70.0, 400.0)
CHUNK_SECONDS = 15.0  # with FLOOR_SECONDS of context each side: a few tens of MB at a time


def frame_features(samples: np.ndarray, rate: int) -> tuple[np.ndarray, np.ndarray]:
    """(voicing 0..1, activity in dB) per HOP_SECONDS frame of ``samples``; frame i starts at i * hop."""
    hop, length = max(1, round(HOP_SECONDS * rate)), max(16, round(FRAME_SECONDS * rate))
    n_fft = 1 << int(np.ceil(np.log2(2 * length)))  # zero-padded twice over: the autocorrelation is linear
    count = max(0, 1 + (samples.size - length) // hop)
    if count == 0:
        return np.zeros(0), np.zeros(0)
    window = np.hanning(length).astype(np.float32)
    index = np.arange(length)[None, :] + hop * np.arange(count)[:, None]
    power = np.abs(np.fft.rfft(samples[index] * window, n=n_fft, axis=1)) ** 2
    bins = max(1, round(FLOOR_SMOOTH[1] * n_fft / rate))
    smooth = uniform_filter(power, (FLOOR_SMOOTH[0], bins), mode="nearest")
    floor = minimum_filter1d(smooth, max(3, round(FLOOR_SECONDS / HOP_SECONDS)), axis=0, mode="nearest") * FLOOR_BIAS
    floor = np.maximum(floor, 1e-12)
    smooth = uniform_filter1d(power, 3, axis=0, mode="nearest")
    freqs = np.fft.rfftfreq(n_fft, 1 / rate)
    voice_band = (freqs >= 60) & (freqs <= 4000)
    whitened = np.where(voice_band, power / floor, 0)
    return _voicing(whitened, window, n_fft, rate), _activity(smooth, floor, (freqs >= 250) & (freqs <= 4000))


def _voicing(whitened: np.ndarray, window: np.ndarray, n_fft: int, rate: int) -> np.ndarray:
    """The highest normalised autocorrelation at a pitch period of the noise-whitened frame: steady noise
    whitens to a flat spectrum (no peak), harmonics stand out of it as a comb (a peak at their period)."""
    lags = np.arange(max(1, int(rate / PITCH[1])), min(window.size - 1, int(rate / PITCH[0])) + 1)
    correlation = np.fft.irfft(whitened, n=n_fft, axis=1)
    window_correlation = np.correlate(window, window, mode="full")[window.size - 1:]
    shape = window_correlation[lags] / window_correlation[0]
    ratio = correlation[:, lags] / shape[None, :] / np.maximum(correlation[:, :1], 1e-20)
    return np.clip(ratio.max(axis=1), 0, 1)


def _activity(smooth: np.ndarray, floor: np.ndarray, band: np.ndarray) -> np.ndarray:
    return 10 * np.log10(np.maximum(smooth[:, band].sum(axis=1), 1e-20) / floor[:, band].sum(axis=1) * FLOOR_BIAS)


def segments(voicing: np.ndarray, activity: np.ndarray, *, sensitivity: float = 0.7, min_speech: float = 0.2,
             min_gap: float = 0.3) -> list[tuple[float, float]]:
    """Speech spans in seconds from per-frame features (see the module's docstring for how)."""
    voiced = (voicing > 0.55 - 0.2 * sensitivity) & (activity > 0.0)
    active = activity > ACTIVE_DB
    spans = [s for s in runs(voiced) if s[1] - s[0] >= MIN_VOICED_SECONDS / HOP_SECONDS]
    spans = join(spans, min_gap / HOP_SECONDS)
    grown = [_grow(active, a, b, round(EXTEND / HOP_SECONDS)) for a, b in spans]
    joined = join(grown, min_gap / HOP_SECONDS)
    offset = (FRAME_SECONDS - HOP_SECONDS) / 2  # frame i is centred at i * hop + FRAME / 2
    return [(a * HOP_SECONDS + offset, b * HOP_SECONDS + offset) for a, b in joined if (b - a) * HOP_SECONDS >= min_speech]


def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) of each run of True."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist()))


def join(spans: list[tuple[int, int]], max_gap: float) -> list[tuple[int, int]]:
    joined: list[tuple[int, int]] = []
    for a, b in spans:
        if joined and a - joined[-1][1] < max_gap:
            joined[-1] = (joined[-1][0], max(b, joined[-1][1]))
        else:
            joined.append((a, b))
    return joined


def _grow(active: np.ndarray, a: int, b: int, limit: int) -> tuple[int, int]:
    start, end = a, b
    while start > 0 and a - start < limit and active[start - 1]:
        start -= 1
    while end < active.size and end - b < limit and active[end]:
        end += 1
    return start, end


def detect(samples: np.ndarray, rate: int, **params: float) -> list[tuple[float, float]]:
    """Speech spans of a whole mono signal held in memory (the tests' and the benchmark's entry point)."""
    voicing, activity = frame_features(np.asarray(samples, np.float32), rate)
    return segments(voicing, activity, **params)


def _pieces(f: sf.SoundFile) -> Iterator[np.ndarray]:
    """Frame features of a file read CHUNK_SECONDS at a time, each piece with FLOOR_SECONDS of context each side."""
    rate = f.samplerate
    hop = max(1, round(HOP_SECONDS * rate))
    chunk = round(CHUNK_SECONDS / HOP_SECONDS) * hop
    context = round((FLOOR_SECONDS + 0.1) / HOP_SECONDS) * hop
    for start in range(0, max(f.frames, 1), chunk):
        begin = max(0, start - context)
        f.seek(begin)
        samples = f.read(min(f.frames, start + chunk + context) - begin, dtype="float32", always_2d=True).mean(axis=1)
        voicing, activity = frame_features(samples, rate)
        skip = (start - begin) // hop
        keep = min(chunk // hop, max(0, voicing.size - skip))
        yield np.stack([voicing[skip: skip + keep], activity[skip: skip + keep]])


def speech_activity(storage: Storage, sound: Sound, params: dict[str, Any]) -> Output:
    require_audio(sound)
    with storage.open_seekable(sound.file.key) as raw, sf.SoundFile(raw) as f:
        features = np.concatenate(list(_pieces(f)) or [np.zeros((2, 0))], axis=1)
    found = segments(features[0], features[1], sensitivity=params["sensitivity"],
                     min_speech=params["min_speech_ms"] / 1000, min_gap=params["min_gap_ms"] / 1000)
    end = sound.duration_seconds
    return Output(segments=[Segment(a, min(b, end) - a, ["speech"]) for a, b in found if a < end])


ANALYZER = Analyzer(
    "speech-activity", "1",
    "Where people speak, as suggested segments tagged 'speech'. Finds voiced speech by its pitch harmonics above "
    "a slowly changing noise floor, so steady or changing noise, mains hum and clicks are not taken for speech.",
    "annotations tagged speech, one per stretch of speech",
    {"sensitivity": Param(0.7, 0.0, 1.0, help="higher keeps fainter, noisier speech (and more false alarms)"),
     "min_speech_ms": Param(200.0, 20.0, 5000.0, help="shorter stretches are dropped"),
     "min_gap_ms": Param(300.0, 20.0, 5000.0, help="stretches closer than this are joined")},
    speech_activity)
