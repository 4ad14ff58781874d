"""DNSMOS P.835 (SIG, BAK, OVRL) on onnxruntime, from audio fed a piece at a time, no PyTorch and no librosa.

The model (models/dnsmos_sig_bak_ovr.onnx, see models/README.md) takes 9.01 s of 16 kHz audio as it is, no
features, and gives three raw scores that a fixed polynomial per score maps onto the 1 to 5 scale; a sound's
score is the mean over windows 9.01 s long, one every ``hop`` seconds (1 s in the reference). This follows
speechmos 0.0.1.1's ``dnsmos.py`` (Microsoft's DNS Challenge code) with two deliberate differences:

- a sound shorter than a window is repeated to fill one window and scored once; the reference doubles it until
  it is at least 9.01 s long and scores every 1 s hop of that (up to 7 windows of the same content shifted);
- every window is scored; the reference computes a window's end as ``int((i + 9.01) * 16000)``, which rounds
  below the whole window for i = 7..23, 119..., and silently skips those windows.

bench/curation.py compares the two on the same audio. Window i is in the score when the sound lasts at least
``ceil(i * hop + 9.01)`` whole seconds (the reference's count), so :class:`Scorer` scores each window as soon as
that much audio has come in and keeps no more than one window and one piece in memory.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.jobs.analyzers import onnx

RATE = 16_000
INPUT_SECONDS = 9.01
WINDOW = 144_160  # INPUT_SECONDS of RATE
MODEL = Path(__file__).with_name("models") / "dnsmos_sig_bak_ovr.onnx"
MODEL_SHA256 = "269fbebdb513aa23cddfbb593542ecc540284a91849ac50516870e1ac78f6edd"
# the reference's mapping of the model's raw outputs onto MOS (numpy.poly1d coefficients, highest power first)
POLYNOMIALS = {"sig": (-0.08397278, 1.22083953, 0.0052439), "bak": (-0.13166888, 1.60915514, -0.39604546),
               "ovrl": (-0.06766283, 1.11546468, 0.04602535)}


@functools.cache
def session():  # -> onnxruntime.InferenceSession
    """The model loaded once per process (core.jobs.analyzers.onnx)."""
    return onnx.load(MODEL, MODEL_SHA256, "speech quality model")


@dataclass(frozen=True)
class Scores:
    sig: float  # speech signal quality, 1 (very distorted) to 5 (not distorted)
    bak: float  # background, 1 (very intrusive) to 5 (not noticeable)
    ovrl: float  # overall
    windows: int


def score_window(window: np.ndarray) -> np.ndarray:
    """(sig, bak, ovrl) of exactly WINDOW samples at RATE, on the MOS scale."""
    raw = session().run(None, {"input_1": np.asarray(window, np.float32)[None, :]})[0][0]
    return np.array([np.polyval(POLYNOMIALS[name], value) for name, value in zip(POLYNOMIALS, raw, strict=True)])


class Scorer:
    """DNSMOS of 16 kHz audio fed in pieces of any length (see the module's docstring for which windows count)."""

    def __init__(self, hop_seconds: float = 1.0) -> None:
        self.hop = hop_seconds
        self.buffer = np.zeros(0, np.float32)
        self.offset = 0  # the sample the buffer starts at
        self.fed = 0
        self.next = 0  # the next window's index
        self.total = np.zeros(3)
        self.count = 0

    def _start(self, index: int) -> int:
        return round(index * self.hop * RATE)

    def feed(self, samples: np.ndarray) -> None:
        self.buffer = np.concatenate([self.buffer, np.asarray(samples, np.float32)])
        self.fed += len(samples)
        while self.fed >= math.ceil(self.next * self.hop + INPUT_SECONDS) * RATE:
            at = self._start(self.next) - self.offset
            self._add(self.buffer[at: at + WINDOW])
            self.next += 1
            drop = self._start(self.next) - self.offset
            self.buffer, self.offset = self.buffer[drop:], self.offset + drop

    def _add(self, window: np.ndarray) -> None:
        self.total += score_window(window)
        self.count += 1

    def finish(self) -> Scores | None:
        """The scores; a sound shorter than a window is repeated to fill one. None for no audio at all."""
        if not self.count:
            if not self.buffer.size:
                return None
            self._add(np.resize(self.buffer, WINDOW))  # np.resize repeats the samples
        sig, bak, ovrl = (self.total / self.count).tolist()
        return Scores(sig, bak, ovrl, self.count)


def scores(samples: np.ndarray, hop_seconds: float = 1.0) -> Scores | None:
    """DNSMOS of a whole 16 kHz mono signal held in memory (tests' and benchmarks' entry point)."""
    scorer = Scorer(hop_seconds)
    scorer.feed(samples)
    return scorer.finish()
