"""Speech-like recordings with known boundaries, clean or made hard on purpose, for checking speech activity.

A formant synthesizer (glottal pulses with intonation and jitter through vowel resonances, fricative and plosive
noise between them) makes utterances of words and syllables; they are laid out with pauses, at varied levels
(one of each recording's utterances much quieter than the rest), and the conditions a real recording brings are
added on top: broadband noise at a given SNR, mains hum, clicks, and a noise level that jumps. The truth is the
list of utterance spans. Used by the tests, bench/speech_activity.py and nothing at run time; the same seed
always gives the same signal.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.signal import lfilter

# (F1, F2, F3) in Hz of a few vowels; F4 is fixed at 3500 Hz
VOWELS = ((730, 1090, 2440), (270, 2290, 3010), (300, 870, 2240), (530, 1840, 2480), (570, 840, 2410),
          (660, 1720, 2410), (440, 1020, 2240), (490, 1350, 1690))
BANDWIDTHS = (80, 100, 120, 175)
CONDITIONS = ("clean", "white 12 dB", "white 6 dB", "white 3 dB", "white 0 dB", "pink 6 dB", "hum", "clicks",
              "level changes", "music 5 dB", "everything 6 dB")
NO_SPEECH = ("white", "pink", "hum", "clicks", "level jumps", "music", "silence")


@dataclass
class Recording:
    samples: np.ndarray  # float32, mono
    rate: int
    truth: list[tuple[float, float]]  # utterance (start, end) in seconds
    quiet: list[tuple[float, float]]  # the truth spans that are much quieter than the rest


def _resonate(signal: np.ndarray, freq: float, bandwidth: float, rate: int) -> np.ndarray:
    """A second-order resonator (Klatt's), unit gain at 0 Hz."""
    r = np.exp(-np.pi * bandwidth / rate)
    b1, b2 = 2 * r * np.cos(2 * np.pi * freq / rate), -r * r
    return lfilter([1 - b1 - b2], [1, -b1, -b2], signal)


def _vowel(rng: np.random.Generator, seconds: float, f0: float, rate: int) -> np.ndarray:
    n = int(seconds * rate)
    t = np.arange(n) / rate
    contour = f0 * (1 + 0.08 * np.sin(2 * np.pi * rng.uniform(0.5, 2) * t + rng.uniform(0, 6))) * (1 + 0.01 * rng.standard_normal(n).cumsum() / np.sqrt(n))
    phase = np.cumsum(contour / rate)
    pulses = np.diff(np.floor(phase), prepend=0.0)  # one impulse per glottal period
    source = lfilter([1.0], [1, -0.96], pulses)  # a -6 dB/octave glottal tilt
    source += 0.02 * rng.standard_normal(n)  # breath
    out = source
    for freq, bandwidth in zip((*VOWELS[rng.integers(len(VOWELS))], 3500), BANDWIDTHS, strict=True):
        if freq < rate / 2 - bandwidth:
            out = _resonate(out, freq * rng.uniform(0.92, 1.08), bandwidth, rate)
    envelope = np.minimum(1, np.minimum(t, t[::-1]) / 0.03)
    out = np.diff(out, prepend=0.0) * envelope  # lip radiation
    return out / (np.sqrt(np.mean(out ** 2)) + 1e-12)


def _fricative(rng: np.random.Generator, seconds: float, rate: int) -> np.ndarray:
    n = int(seconds * rate)
    noise = rng.standard_normal(n)
    centre = min(rng.uniform(2500, 6000), rate / 2 * 0.8)
    out = _resonate(_resonate(noise, centre, 1500, rate), centre * 1.2, 2000, rate)
    t = np.arange(n) / rate
    out *= np.minimum(1, np.minimum(t, t[::-1]) / 0.02)
    return 0.35 * out / (np.sqrt(np.mean(out ** 2)) + 1e-12)


def _plosive(rng: np.random.Generator, rate: int) -> np.ndarray:
    closure = np.zeros(int(rng.uniform(0.03, 0.07) * rate))
    burst = rng.standard_normal(int(0.015 * rate)) * np.exp(-np.arange(int(0.015 * rate)) / (0.004 * rate))
    return np.concatenate([closure, 0.8 * burst])


def utterance(rng: np.random.Generator, rate: int, f0: float) -> np.ndarray:
    """Words of one to three syllables, consonant-vowel, with short pauses between some words."""
    parts: list[np.ndarray] = []
    for word in range(rng.integers(2, 7)):
        if word and rng.random() < 0.4:
            parts.append(np.zeros(int(rng.uniform(0.02, 0.12) * rate)))
        for _ in range(rng.integers(1, 4)):
            onset = rng.random()
            if onset < 0.3:
                parts.append(_fricative(rng, rng.uniform(0.05, 0.14), rate))
            elif onset < 0.55:
                parts.append(_plosive(rng, rate))
            parts.append(_vowel(rng, rng.uniform(0.09, 0.28), f0, rate) * rng.uniform(0.6, 1.0))
    if rng.random() < 0.5:
        parts.append(_fricative(rng, rng.uniform(0.06, 0.15), rate))
    return np.concatenate(parts)


def _pink(rng: np.random.Generator, n: int) -> np.ndarray:
    """1/f noise (Paul Kellet's filter), unit power."""
    out = lfilter([0.049922035, -0.095993537, 0.050612699, -0.004408786], [1, -2.494956002, 2.017265875, -0.522189400],
                  rng.standard_normal(n))
    return out / np.sqrt(np.mean(out ** 2))


def _hum(n: int, rate: int, mains: float) -> np.ndarray:
    t = np.arange(n) / rate
    out = sum(a * np.sin(2 * np.pi * mains * k * t + k) for k, a in ((1, 1.0), (2, 0.5), (3, 0.6), (4, 0.2), (5, 0.3)))
    return out / np.sqrt(np.mean(out ** 2))


def _clicks(rng: np.random.Generator, n: int, rate: int, per_second: float) -> np.ndarray:
    out = np.zeros(n)
    length = int(0.003 * rate)
    shape = np.exp(-np.arange(length) / (0.0005 * rate))
    for at in rng.integers(0, n - length, int(per_second * n / rate)):
        out[at: at + length] += rng.choice((-1, 1)) * rng.uniform(0.3, 1.0) * shape * rng.standard_normal(length).clip(-2, 2)
    return out


NOTES = 110.0 * 2 ** (np.array([0, 2, 3, 5, 7, 8, 10, 12, 14, 15, 17, 19, 20, 22, 24]) / 12)  # A minor, 110-440 Hz


def _music(rng: np.random.Generator, n: int, rate: int) -> np.ndarray:
    """Music-like sound, the kind a pitch tracker takes for a voice: chords of harmonic notes in a voice's range
    struck every 0.3 to 1.2 seconds and decaying, under a sung-like melody with vibrato; unit power."""
    t = np.arange(n) / rate
    out = np.zeros(n)
    at = 0
    while at < n:
        length = min(n - at, int(rng.uniform(0.3, 1.2) * rate))
        local = t[:length]
        chord = rng.choice(NOTES[:10], size=3, replace=False)
        decay = np.exp(-local / rng.uniform(0.3, 1.5)) * np.minimum(1, local / 0.005)
        for f0 in chord:
            out[at: at + length] += decay * sum(np.sin(2 * np.pi * f0 * k * local + rng.uniform(0, 6)) / k
                                                for k in range(1, 9) if f0 * k < rate / 2)
        melody = rng.choice(NOTES[5:]) * 2 * (1 + 0.01 * np.sin(2 * np.pi * 5.5 * local))
        phase = np.cumsum(melody / rate)
        out[at: at + length] += 0.8 * sum(np.sin(2 * np.pi * k * phase) / k ** 1.5 for k in range(1, 6))
        at += length
    return out / np.sqrt(np.mean(out ** 2))


def _level_steps(rng: np.random.Generator, n: int, rate: int) -> np.ndarray:
    """A gain that jumps between levels 16 dB apart every 1.5 to 4 seconds."""
    gain, at = np.empty(n), 0
    while at < n:
        length = int(rng.uniform(1.5, 4) * rate)
        gain[at: at + length] = 10 ** (rng.choice((-8.0, 0.0, 8.0)) / 20)
        at += length
    return gain


def recording(seed: int, condition: str = "clean", seconds: float = 20.0, rate: int = 16_000,
              quiet_db: float = -12.0, speak: Callable[[np.random.Generator], np.ndarray] | None = None) -> Recording:
    """Utterances with pauses of 0.5 to 2.5 s, one of them ``quiet_db`` below the rest, under ``condition``.

    ``speak`` gives one utterance at ``rate``, trimmed to its sound (say, recorded speech); by default the
    formant synthesizer here makes them."""
    if condition not in CONDITIONS:
        raise ValueError(f"Unknown condition {condition!r}; choose from {', '.join(CONDITIONS)}.")
    rng = np.random.default_rng(seed)
    f0 = rng.uniform(95, 230)
    n = int(seconds * rate)
    speech = np.zeros(n)
    truth: list[tuple[float, float]] = []
    levels: list[float] = []
    at = int(rng.uniform(0.3, 1.5) * rate)
    while True:
        words = speak(rng) if speak else utterance(rng, rate, f0)
        if at + words.size > n - int(0.3 * rate):
            break
        level = 10 ** (rng.uniform(-4, 4) / 20)
        speech[at: at + words.size] += words * level
        truth.append((at / rate, (at + words.size) / rate))
        levels.append(level)
        at += words.size + int(rng.uniform(0.5, 2.5) * rate)
    quiet: list[tuple[float, float]] = []
    if len(truth) > 1:
        chosen = int(rng.integers(len(truth)))
        a, b = (int(x * rate) for x in truth[chosen])
        speech[a:b] *= 10 ** (quiet_db / 20)
        quiet.append(truth[chosen])
    loud = np.concatenate([speech[int(a * rate): int(b * rate)] for (a, b) in truth if (a, b) not in quiet] or [speech])
    speech_power = float(np.mean(loud ** 2)) or 1.0
    mixture = speech + _noise(rng, condition, n, rate, speech_power)
    mixture *= 0.1 / np.sqrt(speech_power)  # speech at about -20 dBFS
    return Recording(mixture.astype(np.float32), rate, truth, quiet)


def _noise(rng: np.random.Generator, condition: str, n: int, rate: int, speech_power: float) -> np.ndarray:
    def at_snr(noise: np.ndarray, snr_db: float) -> np.ndarray:
        return noise * np.sqrt(speech_power / 10 ** (snr_db / 10))

    floor = at_snr(rng.standard_normal(n), 60)  # even a clean recording has a little noise
    if condition == "clean":
        return floor
    if condition.startswith("white"):
        return at_snr(rng.standard_normal(n), float(condition.split()[1]))
    if condition == "pink 6 dB":
        return at_snr(_pink(rng, n), 6)
    if condition == "hum":
        return at_snr(_hum(n, rate, rng.choice((50.0, 60.0))), 0) + at_snr(rng.standard_normal(n), 30)
    if condition == "clicks":
        return floor + _clicks(rng, n, rate, 6) * np.sqrt(speech_power) * 4
    if condition == "level changes":
        return at_snr(_pink(rng, n), 12) * _level_steps(rng, n, rate)
    if condition == "music 5 dB":
        return at_snr(_music(rng, n, rate), 5) + floor
    return (at_snr(rng.standard_normal(n), 6) * _level_steps(rng, n, rate) + at_snr(_hum(n, rate, 50.0), 6)
            + _clicks(rng, n, rate, 4) * np.sqrt(speech_power) * 4)


def no_speech(seed: int, kind: str, seconds: float = 30.0, rate: int = 16_000) -> np.ndarray:
    """A recording where nobody speaks (one of NO_SPEECH), float32 at about -20 dBFS."""
    if kind not in NO_SPEECH:
        raise ValueError(f"Unknown kind {kind!r}; choose from {', '.join(NO_SPEECH)}.")
    rng = np.random.default_rng(seed)
    n = int(seconds * rate)
    out = {"white": lambda: rng.standard_normal(n), "pink": lambda: _pink(rng, n),
           "hum": lambda: _hum(n, rate, rng.choice((50.0, 60.0))) + 0.03 * rng.standard_normal(n),
           "clicks": lambda: 1e-3 * rng.standard_normal(n) + _clicks(rng, n, rate, 6) * 4,
           "level jumps": lambda: rng.standard_normal(n) * _level_steps(rng, n, rate) * 10 ** (-8 / 20),
           "music": lambda: _music(rng, n, rate), "silence": lambda: np.zeros(n)}[kind]()
    return (0.1 * out).astype(np.float32)


def matches(predicted: list[tuple[float, float]], truth: list[tuple[float, float]], min_iou: float = 0.5) -> list[tuple[int, int]]:
    """(predicted index, true index) pairs, one to one, each with intersection over union >= min_iou."""
    pairs = []
    for i, (a, b) in enumerate(predicted):
        for j, (c, d) in enumerate(truth):
            overlap = min(b, d) - max(a, c)
            if overlap > 0:
                iou = overlap / (max(b, d) - min(a, c))
                if iou >= min_iou:
                    pairs.append((iou, i, j))
    used_p, used_t, chosen = set(), set(), []
    for _, i, j in sorted(pairs, reverse=True):
        if i not in used_p and j not in used_t:
            used_p.add(i)
            used_t.add(j)
            chosen.append((i, j))
    return chosen


@dataclass
class Score:
    predicted: int = 0
    true: int = 0
    matched: int = 0
    quiet: int = 0
    quiet_found: int = 0
    false_seconds: float = 0.0  # flagged as speech where nobody speaks
    silent_seconds: float = 0.0

    def add(self, predicted: list[tuple[float, float]], recording: Recording) -> None:
        pairs = matches(predicted, recording.truth)
        self.predicted += len(predicted)
        self.true += len(recording.truth)
        self.matched += len(pairs)
        found = {recording.truth[j] for _, j in pairs}
        self.quiet += len(recording.quiet)
        self.quiet_found += sum(q in found for q in recording.quiet)
        seconds = recording.samples.size / recording.rate
        t = np.arange(0, seconds, 0.01)
        said = np.zeros(t.size, bool)
        for a, b in recording.truth:
            said |= (t >= a) & (t < b)
        flagged = np.zeros(t.size, bool)
        for a, b in predicted:
            flagged |= (t >= a) & (t < b)
        self.false_seconds += float((flagged & ~said).sum()) * 0.01
        self.silent_seconds += float((~said).sum()) * 0.01

    @property
    def precision(self) -> float:
        return self.matched / self.predicted if self.predicted else 1.0

    @property
    def recall(self) -> float:
        return self.matched / self.true if self.true else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def energy_baseline(samples: np.ndarray, rate: int, margin_db: float = 6.0, min_speech: float = 0.2,
                    min_gap: float = 0.3) -> list[tuple[float, float]]:
    """The plain adaptive energy threshold a detector is measured against: a 32 ms frame is speech when its
    energy is ``margin_db`` above the minimum over the surrounding two seconds; the same 10 ms hop, joining and
    dropping as speech-activity."""
    from scipy.ndimage import minimum_filter1d, uniform_filter1d

    from core.jobs.analyzers.speech_activity import join, runs

    hop, length = round(0.01 * rate), round(0.032 * rate)
    count = max(0, 1 + (samples.size - length) // hop)
    frames = samples[np.arange(length)[None, :] + hop * np.arange(count)[:, None]]
    energy = 10 * np.log10(np.maximum((frames ** 2).mean(axis=1), 1e-20))
    smooth = uniform_filter1d(energy, 3, mode="nearest")
    floor = minimum_filter1d(uniform_filter1d(energy, 10, mode="nearest"), 200, mode="nearest")
    joined = join(runs(smooth > floor + margin_db), min_gap / 0.01)
    return [(a * 0.01, b * 0.01) for a, b in joined if (b - a) * 0.01 >= min_speech]


@dataclass(frozen=True)
class Voice:
    """A synthetic speaker for the speaker check: pitch, vocal-tract length (formants scaled), glottal tilt, breath.

    The formant synthesizer above gives every recording the same vocal tract; these change what a speaker
    encoder hears as a voice. Synthetic voices sit closer together than real ones: with Resemblyzer's encoder, 4 s
    of one voice lies 0.04 to 0.13 (cosine distance) from that voice's other recordings, and the centroids of the
    voices tests/test_core_speaker_check.py uses lie 0.14 to 0.28 apart, so tests choose voices far apart."""

    f0: float
    formant_scale: float
    tilt: float = 0.96
    breath: float = 0.02


def _voiced(rng: np.random.Generator, seconds: float, voice: Voice, rate: int) -> np.ndarray:
    n = int(seconds * rate)
    t = np.arange(n) / rate
    contour = voice.f0 * (1 + 0.08 * np.sin(2 * np.pi * rng.uniform(0.5, 2) * t + rng.uniform(0, 6)))
    pulses = np.diff(np.floor(np.cumsum(contour / rate)), prepend=0.0)
    out = lfilter([1.0], [1, -voice.tilt], pulses) + voice.breath * rng.standard_normal(n)
    for freq, bandwidth in zip((*VOWELS[rng.integers(len(VOWELS))], 3500), BANDWIDTHS, strict=True):
        scaled = freq * voice.formant_scale * rng.uniform(0.95, 1.05)
        if scaled < rate / 2 - bandwidth:
            out = _resonate(out, scaled, bandwidth, rate)
    out = np.diff(out, prepend=0.0) * np.minimum(1, np.minimum(t, t[::-1]) / 0.03)
    return out / (np.sqrt(np.mean(out ** 2)) + 1e-12)


def speech_of(voice: Voice, seed: int, seconds: float = 4.0, rate: int = 16_000) -> np.ndarray:
    """About ``seconds`` of continuous syllables in ``voice`` (float32 at about -20 dBFS); a seed, a new text."""
    rng = np.random.default_rng(seed)
    parts: list[np.ndarray] = []
    total = 0
    while total < seconds * rate:
        if rng.random() < 0.3:
            parts.append(_fricative(rng, rng.uniform(0.05, 0.14), rate))
        elif rng.random() < 0.3:
            parts.append(_plosive(rng, rate))
        parts.append(_voiced(rng, rng.uniform(0.09, 0.28), voice, rate) * rng.uniform(0.6, 1.0))
        if rng.random() < 0.2:
            parts.append(np.zeros(int(rng.uniform(0.02, 0.12) * rate)))
        total = sum(p.size for p in parts)
    out = np.concatenate(parts)
    return (0.1 * out / np.sqrt(np.mean(out ** 2))).astype(np.float32)
