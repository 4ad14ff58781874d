"""speech-quality: DNSMOS's SIG, BAK and OVRL and a speech-to-noise ratio per sound, as metadata for ranking.

One pass over the sound at 16 kHz, a minute at a time (speech_activity's resampling), feeds three things: the
DNSMOS scorer (core.jobs.analyzers.dnsmos), Silero VAD (core.jobs.analyzers.silero) and the power of each of
the VAD's 32 ms windows. The SNR is the power of the speech windows over that of the windows well away from
speech: ``10 log10((P_speech - P_noise) / P_noise)``, floored at -30 dB; it is left empty when the sound has
under NOISE_SECONDS without speech (continuous speech: nothing to measure the noise on) or no speech at all.

DNSMOS was trained on ratings of real, mostly noisy calls: its scores run low even on clean studio speech (an
OVRL of 3.3 is good) and they are not a listening test. They rank a dataset's sounds (the noisiest first) well.
With ``segments=yes`` each stretch of speech is also scored and suggested as a segment tagged ``speech-quality``
whose text gives its scores: one more model run per stretch, so about twice the cost.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np
import soundfile as sf

from core.jobs.analyzers import dnsmos, silero
from core.jobs.analyzers.base import Analyzer, Output, Param, Segment, require_audio
from core.jobs.analyzers.speech_activity import HYSTERESIS, MODEL_HOP, _model_pieces, model_segments
from core.store.models import Sound
from core.store.storage import Storage

NOISE_SECONDS = 0.5  # of non-speech needed to measure the noise
GUARD = 3  # VAD windows (about 0.1 s) around speech not counted as noise: the model's edges linger
FLOOR_DB = -30.0
NAMES = ("sig", "bak", "ovrl", "snr_db")
RANKING_NOTE = ("DNSMOS's scores (speech_quality.sig, .bak, .ovrl, 1 to 5) run low even on clean speech: an OVRL of 3.3 "
                "is good. Use them to rank sounds, the noisiest first, not as a listening test.")


def ranking_note(names: Iterable[str]) -> str | None:
    """RANKING_NOTE when any of ``names`` (fields, a sort, a filter's columns) is one of this analyzer's scores:
    the pages show it wherever the scores are shown or used."""
    return RANKING_NOTE if any("speech_quality." in name and not name.endswith("snr_db") for name in names) else None


class Powers:
    """Mean power of each whole silero.WINDOW of 16 kHz audio fed in pieces (aligned with the VAD's windows)."""

    def __init__(self) -> None:
        self.pending = np.zeros(0, np.float32)
        self.parts: list[np.ndarray] = []

    def feed(self, samples: np.ndarray) -> None:
        audio = np.concatenate([self.pending, samples])
        whole = audio.size // silero.WINDOW * silero.WINDOW
        self.pending = audio[whole:]
        self.parts.append(np.square(audio[:whole], dtype=np.float64).reshape(-1, silero.WINDOW).mean(axis=1))

    def all(self) -> np.ndarray:
        return np.concatenate(self.parts or [np.zeros(0)])


def speech_mask(probs: np.ndarray, spans: list[tuple[float, float]]) -> np.ndarray:
    mask = np.zeros(probs.size, bool)
    for a, b in spans:
        mask[round(a / MODEL_HOP): round(b / MODEL_HOP)] = True
    return mask


def snr_db(powers: np.ndarray, speech: np.ndarray, noise: np.ndarray) -> float | None:
    """Speech over noise power in dB, from per-window powers and masks; None without enough of either."""
    if not speech.any() or noise.sum() * MODEL_HOP < NOISE_SECONDS:
        return None
    p_speech, p_noise = float(powers[speech].mean()), max(float(powers[noise].mean()), 1e-12)
    return max(FLOOR_DB, 10 * math.log10(max(p_speech / p_noise - 1, 1e-3)))


def noise_mask(probs: np.ndarray, speech: np.ndarray, threshold: float) -> np.ndarray:
    """Windows where the VAD is sure nobody speaks, GUARD windows clear of any speech."""
    near = np.convolve(speech.astype(np.int8), np.ones(2 * GUARD + 1, np.int8), mode="same") > 0
    return ~near & (probs < threshold - HYSTERESIS)


def speech_quality(storage: Storage, sound: Sound, params: dict[str, Any]) -> Output:
    require_audio(sound)
    scorer, vad, powers, probs = dnsmos.Scorer(params["hop_seconds"]), silero.Stream(), Powers(), []
    with storage.open_seekable(sound.audio.key) as raw, sf.SoundFile(raw) as f:
        for piece in _model_pieces(f):
            scorer.feed(piece)
            probs.append(vad.feed(piece))
            powers.feed(piece)
        scores = scorer.finish()
        power = powers.all()
        prob = np.concatenate(probs)[: power.size]
        spans = model_segments(prob, threshold=params["threshold"], pad=0.0)
        speech = speech_mask(prob, spans)
        noise = noise_mask(prob, speech, params["threshold"])
        snr = snr_db(power, speech, noise)
        found = _segments(f, spans, power, noise, params) if params["segments"] == "yes" else []
    values = ("", "", "", "") if scores is None else (f"{scores.sig:.3f}", f"{scores.bak:.3f}", f"{scores.ovrl:.3f}")
    fields = dict(zip(NAMES, (*values[:3], "" if snr is None else f"{snr:.1f}"), strict=True))
    return Output(segments=found, fields={ANALYZER.field_prefix + k: v for k, v in fields.items()})


def _segments(f: sf.SoundFile, spans: list[tuple[float, float]], power: np.ndarray, noise: np.ndarray,
              params: dict[str, Any]) -> list[Segment]:
    """Each stretch of speech scored on its own, read again from the file (one stretch in memory at a time)."""
    out = []
    for a, b in spans:
        f.seek(round(a * f.samplerate))
        samples = f.read(max(1, round((b - a) * f.samplerate)), dtype="float32", always_2d=True).mean(axis=1)
        scores = dnsmos.scores(silero.to_model_rate(samples, f.samplerate), params["hop_seconds"])
        if scores is None:
            continue
        inside = np.zeros(power.size, bool)
        inside[round(a / MODEL_HOP): round(b / MODEL_HOP)] = True
        snr = snr_db(power, inside, noise)
        text = f"SIG {scores.sig:.2f} · BAK {scores.bak:.2f} · OVRL {scores.ovrl:.2f}" + ("" if snr is None else f" · SNR {snr:.1f} dB")
        out.append(Segment(a, b - a, ["speech-quality"], text=text))
    return out


ANALYZER = Analyzer(
    "speech-quality", "1",
    "How clean each sound's speech is: DNSMOS's SIG (the speech), BAK (the background) and OVRL (overall), 1 to 5, "
    "and the speech-to-noise ratio in dB, stored as its metadata. DNSMOS runs low even on clean speech (3.3 OVRL is "
    "good): use the scores to rank sounds, not as a listening test.",
    "metadata fields speech_quality.*: sig, bak, ovrl, snr_db; with segments=yes, segments tagged speech-quality",
    {"hop_seconds": Param(1.0, 1.0, 9.0, help="a 9 s window is scored every this many seconds (1 as DNSMOS's "
                          "reference; 9 costs a ninth on long sounds)"),
     "threshold": Param(0.5, 0.05, 0.95, help="the speech probability (Silero VAD) that counts as speech for the SNR"),
     "segments": Param("no", choices=("no", "yes"), help="yes: also score each stretch of speech, as suggestions "
                       "tagged speech-quality (about twice the cost)")},
    speech_quality)
