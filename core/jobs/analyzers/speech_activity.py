"""speech-activity: where people speak, as suggested segments tagged 'speech', made to hold up on real recordings.

Two engines. ``model`` (the default) is Silero VAD's learned model (core.jobs.analyzers.silero): a speech
probability every 32 ms, robust to music, TV and ringtones, which have pitch as speech has; segments are where
it rises over ``threshold`` and until it falls 0.15 below it, joined across gaps shorter than ``min_gap_ms``,
dropped if shorter than ``min_speech_ms``, widened by ``pad_ms``. Audio is resampled to 16 kHz a piece at a time
and the model's state carried from piece to piece, so a 3-hour file takes the memory of a minute.

With ``edges=energy`` each segment's ends are then trimmed to where the speech band (250 Hz to 4 kHz) stands
ACTIVE_DB over its noise floor, at most EDGE_TRIM seconds each side: the model's probability lingers after
speech stops, and this flags 3 to 5 times less non-speech time, at the cost of cutting into faint word edges in
heavy noise (bench/speech_activity.py measures both).

``pitch`` is the signal-processing detector below, whose edges are tighter on clean and steadily noisy speech
but which takes any harmonic sound for a voice.

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

from core.jobs.analyzers import silero
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
    from scipy.ndimage import minimum_filter1d, uniform_filter, uniform_filter1d  # here: commands start without SciPy

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
    return list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist(), strict=True))


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


# -- the model engine -------------------------------------------------------------------------------------

MODEL_HOP = silero.WINDOW / silero.RATE  # seconds per probability
HYSTERESIS = 0.15  # a segment ends where the probability falls this far below the threshold (as Silero does)
PROVIDERS = {"cpu": "CPUExecutionProvider", "cuda": "CUDAExecutionProvider"}
MODEL_PIECE_SECONDS = 60.0


EDGE_TRIM = 0.3  # seconds an energy edge may move a segment's start or end inwards
ENERGY_HOP = round(HOP_SECONDS * silero.RATE)


class EnergyTrack:
    """Speech-band energy per HOP_SECONDS of 16 kHz audio fed in pieces (filter state and leftovers carried)."""

    def __init__(self) -> None:
        from scipy.signal import butter  # here: commands start without SciPy

        self.band = butter(4, [250, 4000], btype="band", fs=silero.RATE, output="sos")  # the speech band
        self.state = np.zeros((self.band.shape[0], 2))
        self.pending = np.zeros(0)
        self.frames: list[np.ndarray] = []

    def feed(self, samples: np.ndarray) -> None:
        from scipy.signal import sosfilt

        filtered, self.state = sosfilt(self.band, samples, zi=self.state)
        audio = np.concatenate([self.pending, filtered])
        whole = audio.size // ENERGY_HOP * ENERGY_HOP
        self.pending = audio[whole:]
        self.frames.append((audio[:whole].reshape(-1, ENERGY_HOP) ** 2).mean(axis=1))

    def over_floor(self) -> np.ndarray:
        """dB over the noise floor (the minimum of the smoothed level over the surrounding FLOOR_SECONDS)."""
        from scipy.ndimage import minimum_filter1d, uniform_filter1d

        energy = np.concatenate(self.frames or [np.zeros(0)])
        if not energy.size:
            return energy
        level = 10 * np.log10(np.maximum(uniform_filter1d(energy, 3, mode="nearest"), 1e-20))
        floor = minimum_filter1d(uniform_filter1d(level, 10, mode="nearest"), round(FLOOR_SECONDS / HOP_SECONDS), mode="nearest")
        return level - floor


def trim_edges(spans: list[tuple[float, float]], over_floor: np.ndarray, pad: float = 0.0) -> list[tuple[float, float]]:
    """Each span's ends moved inwards (at most EDGE_TRIM) to its first and last frame ACTIVE_DB over the floor."""
    active, limit, out = over_floor > ACTIVE_DB, round(EDGE_TRIM / HOP_SECONDS), []
    for a, b in spans:
        i, j = round(a / HOP_SECONDS), min(round(b / HOP_SECONDS), active.size)
        head = active[i: min(j, i + limit)]
        if head.any():
            i += int(np.argmax(head))
        tail = np.flatnonzero(active[max(i, j - limit): j])
        if tail.size:
            j = max(i, j - limit) + int(tail[-1]) + 1
        out.append((round(max(0.0, i * HOP_SECONDS - pad), 3), round(j * HOP_SECONDS + pad, 3)))
    return out


def model_segments(probs: np.ndarray, *, threshold: float = 0.5, min_speech: float = 0.2, min_gap: float = 0.3,
                   pad: float = 0.03, duration: float | None = None) -> list[tuple[float, float]]:
    """Speech spans in seconds from the model's probabilities (one per MODEL_HOP): each run over
    ``threshold - HYSTERESIS`` from its first frame over ``threshold``, joined, dropped, padded."""
    spans = []
    for a, b in runs(probs >= max(threshold - HYSTERESIS, 0.01)):
        above = np.flatnonzero(probs[a:b] >= threshold)
        if above.size:
            spans.append((a + int(above[0]), b))
    kept = [(a, b) for a, b in join(spans, min_gap / MODEL_HOP) if (b - a) * MODEL_HOP >= min_speech]
    end = probs.size * MODEL_HOP if duration is None else duration
    padded: list[tuple[float, float]] = []
    for a, b in kept:
        start, stop = max(0.0, a * MODEL_HOP - pad), min(end, b * MODEL_HOP + pad)
        if padded and start < padded[-1][1]:  # padding closed the gap: meet in the middle
            middle = (a * MODEL_HOP + padded[-1][1] - pad) / 2
            padded[-1], start = (padded[-1][0], middle), middle
        padded.append((start, stop))
    return [(round(a, 3), round(b, 3)) for a, b in padded]


def detect_with_model(samples: np.ndarray, rate: int, provider: str = "cpu", edges: str = "model",
                      **params: float) -> list[tuple[float, float]]:
    """Speech spans of a whole mono signal in memory by the model engine (tests' and benchmarks' entry point)."""
    audio = silero.to_model_rate(samples, rate)
    probs = silero.probabilities(audio, silero.RATE, PROVIDERS[provider])
    if edges == "model":
        return model_segments(probs, duration=audio.size / silero.RATE, **params)
    track = EnergyTrack()
    track.feed(audio)
    pad = params.pop("pad", 0.03)
    return trim_edges(model_segments(probs, duration=audio.size / silero.RATE, pad=0.0, **params), track.over_floor(), pad)


def _model_pieces(f: sf.SoundFile) -> Iterator[np.ndarray]:
    """The file at 16 kHz, MODEL_PIECE_SECONDS at a time: each piece resampled with a little of its neighbours
    around it, then cut at the exact sample where the next begins, so the pieces join into the whole."""
    g = int(np.gcd(silero.RATE, f.samplerate))
    up, down = silero.RATE // g, f.samplerate // g
    piece = max(1, round(MODEL_PIECE_SECONDS * f.samplerate / down)) * down
    context = 0 if up == down else max(1, round(0.05 * f.samplerate / down)) * down
    for start in range(0, f.frames, piece):
        begin = max(0, start - context)
        f.seek(begin)
        samples = f.read(min(f.frames, start + piece + context) - begin, dtype="float32", always_2d=True).mean(axis=1)
        resampled = silero.to_model_rate(samples, f.samplerate)
        skip = (start - begin) // down * up
        yield resampled[skip: skip + min(piece, f.frames - start) * up // down]


def _model_engine(f: sf.SoundFile, params: dict[str, Any]) -> list[tuple[float, float]]:
    stream, track, trim, probs = silero.Stream(PROVIDERS[params["provider"]]), EnergyTrack(), params["edges"] == "energy", []
    for piece in _model_pieces(f):
        probs.append(stream.feed(piece))
        if trim:
            track.feed(piece)
    probs.append(stream.finish())
    pad = params["pad_ms"] / 1000
    found = model_segments(np.concatenate(probs), threshold=params["threshold"], min_speech=params["min_speech_ms"] / 1000,
                           min_gap=params["min_gap_ms"] / 1000, pad=0.0 if trim else pad, duration=f.frames / f.samplerate)
    return trim_edges(found, track.over_floor(), pad) if trim else found


def _pitch_engine(f: sf.SoundFile, params: dict[str, Any]) -> list[tuple[float, float]]:
    features = np.concatenate(list(_pieces(f)) or [np.zeros((2, 0))], axis=1)
    return segments(features[0], features[1], sensitivity=params["sensitivity"],
                    min_speech=params["min_speech_ms"] / 1000, min_gap=params["min_gap_ms"] / 1000)


def speech_activity(storage: Storage, sound: Sound, params: dict[str, Any]) -> Output:
    require_audio(sound)
    engine = _model_engine if params["engine"] == "model" else _pitch_engine
    with storage.open_seekable(sound.audio.key) as raw, sf.SoundFile(raw) as f:
        found = engine(f, params)
    end = sound.duration_seconds
    return Output(segments=[Segment(a, min(b, end) - a, ["speech"]) for a, b in found if a < end])


ANALYZER = Analyzer(
    "speech-activity", "2",
    "Where people speak, as suggested segments tagged 'speech'. By default a learned model (Silero VAD) that tells "
    "speech from music, noise, hum and clicks; engine=pitch uses voiced-speech harmonics over a slowly changing "
    "noise floor instead (tighter edges on clean speech, but music reads as speech).",
    "annotations tagged speech, one per stretch of speech",
    {"engine": Param("model", choices=("model", "pitch"), help="model: Silero VAD; pitch: harmonics over the noise floor"),
     "threshold": Param(0.5, 0.05, 0.95, help="model: the speech probability a stretch must reach; higher misses faint speech, lower takes more noise"),
     "sensitivity": Param(0.7, 0.0, 1.0, help="pitch: higher keeps fainter, noisier speech (and more false alarms)"),
     "min_speech_ms": Param(200.0, 20.0, 5000.0, help="shorter stretches are dropped"),
     "min_gap_ms": Param(300.0, 20.0, 5000.0, help="stretches closer than this are joined"),
     "edges": Param("model", choices=("model", "energy"), help="model: where the model puts them; energy: trimmed to where "
                    "the speech band stands over the noise floor (less silence in each segment, may cut faint word edges)"),
     "pad_ms": Param(30.0, 0.0, 1000.0, help="model: each stretch is widened this much on both sides"),
     "provider": Param("cpu", choices=tuple(PROVIDERS), help="model: where it runs (cuda needs onnxruntime-gpu)")},
    speech_activity)
