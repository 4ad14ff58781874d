"""Silero VAD's ONNX model on onnxruntime: a speech probability for every 32 ms of 16 kHz audio, no PyTorch.

The model (models/silero_vad_v6.onnx, see models/README.md) runs its encoder over a batch of 512-sample windows,
each with the 64 samples before it as context, and its LSTM through the batch in order, taking and giving back
its state. :class:`Stream` keeps that state, the last context and any samples short of a window between calls,
so audio fed a piece at a time gives exactly the probabilities of the whole signal at once, in flat memory.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from core.jobs.analyzers import onnx

RATE = 16_000
WINDOW = 512  # samples per probability: 32 ms
CONTEXT = 64
BATCH = 4096  # windows per call of the session (about 2 minutes of audio)
MODEL = Path(__file__).with_name("models") / "silero_vad_v6.onnx"
MODEL_SHA256 = "4cbf549b8326f60f80f2536d9eefeb450a9abe83365a098031c89719f1be17d2"
PROVIDERS = ("CPUExecutionProvider",)


@functools.cache
def session(provider: str = "CPUExecutionProvider"):  # -> onnxruntime.InferenceSession
    """The model loaded once per process (core.jobs.analyzers.onnx)."""
    return onnx.load(MODEL, MODEL_SHA256, "speech model", provider)


class Stream:
    """Speech probabilities of 16 kHz audio fed in pieces of any length (see the module's docstring)."""

    def __init__(self, provider: str = "CPUExecutionProvider") -> None:
        self.session = session(provider)
        self.h = np.zeros((1, 1, 128), np.float32)
        self.c = np.zeros((1, 1, 128), np.float32)
        self.context = np.zeros(CONTEXT, np.float32)
        self.pending = np.zeros(0, np.float32)

    def feed(self, samples: np.ndarray) -> np.ndarray:
        """The probabilities of every whole window now available."""
        audio = np.concatenate([self.pending, np.asarray(samples, np.float32)])
        whole = audio.size // WINDOW * WINDOW
        self.pending = audio[whole:]
        return self._run(audio[:whole])

    def finish(self) -> np.ndarray:
        """The last, partial window's probability (padded with silence), if any."""
        if not self.pending.size:
            return np.zeros(0, np.float32)
        last = np.pad(self.pending, (0, WINDOW - self.pending.size))
        self.pending = np.zeros(0, np.float32)
        return self._run(last)

    def _run(self, audio: np.ndarray) -> np.ndarray:
        if not audio.size:
            return np.zeros(0, np.float32)
        windows = audio.reshape(-1, WINDOW)
        contexts = np.concatenate([self.context[None, :], windows[:-1, -CONTEXT:]])
        self.context = windows[-1, -CONTEXT:].copy()
        batch = np.concatenate([contexts, windows], axis=1)
        out = []
        for at in range(0, len(batch), BATCH):
            probs, self.h, self.c = self.session.run(None, {"input": batch[at: at + BATCH], "h": self.h, "c": self.c})
            out.append(probs)
        return np.concatenate(out).astype(np.float32)


def probabilities(samples: np.ndarray, rate: int, provider: str = "CPUExecutionProvider") -> np.ndarray:
    """Speech probability per WINDOW of 16 kHz of a whole mono signal (tests and benchmarks)."""
    stream = Stream(provider)
    return np.concatenate([stream.feed(to_model_rate(samples, rate)), stream.finish()])


def to_model_rate(samples: np.ndarray, rate: int) -> np.ndarray:
    """``samples`` at RATE (polyphase resampling)."""
    if rate == RATE:
        return np.asarray(samples, np.float32)
    from scipy.signal import resample_poly  # here: commands start without SciPy

    g = np.gcd(RATE, rate)
    return resample_poly(np.asarray(samples, np.float32), RATE // g, rate // g).astype(np.float32)
