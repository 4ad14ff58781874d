"""Resemblyzer's speaker encoder on onnxruntime: one 256-number voice embedding per recording, no PyTorch.

The network (models/resemblyzer_encoder.onnx, converted by models/convert_resemblyzer.py; origin, licence and
checksum in models/README.md) maps 160 frames of a 40-band mel spectrogram to an L2-normalised embedding. What
Resemblyzer does around it (resemblyzer/audio.py and voice_encoder.py in its wheel) is re-implemented here in
numpy/scipy, step by step:

1. mono at 16 kHz (polyphase resampling, core.jobs.analyzers.silero.to_model_rate);
2. the level raised (never lowered) to -30 dBFS;
3. pauses longer than about 0.2 s cut out: webrtcvad (mode 3) flags speech per 30 ms, the flags are smoothed
   over 8 windows and widened by 6 each way, and what is left unflagged is dropped;
4. a power mel spectrogram (25 ms Hann window, 10 ms hop, centred, 40 Slaney mel bands, as librosa computes it);
5. partials of 160 frames every 77 frames (Resemblyzer's rate of 1.3 partials a second: about half overlapping),
   the last kept if it is at least 3/4 covered; the partials' embeddings averaged and L2-normalised.

The conversion script compares the result with Resemblyzer's own embeddings (the figure is in models/README.md).
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from core.jobs.analyzers import onnx, silero

RATE = 16_000
N_FFT = 400  # 25 ms
HOP = 160  # 10 ms
MELS = 40
PARTIAL = 160  # frames: 1.6 s
PARTIAL_STEP = 77  # round(RATE / 1.3 / HOP)
MIN_COVERAGE = 0.75
TARGET_DBFS = -30.0
DIM = 256
BATCH = 64  # partials per call of the session
MODEL = Path(__file__).with_name("models") / "resemblyzer_encoder.onnx"
MODEL_SHA256 = "28d30e2e67462cc7016962dcaa138e9401e25586fdb7aacc5c022fd29a96af69"
MODEL_VERSION = "resemblyzer-0.1.4"
# Resemblyzer's speech trimming (hparams.py): webrtcvad's flag per 30 ms, smoothed over 8 windows, widened by 6
VAD_WINDOW = 480
VAD_SMOOTH = 8
VAD_WIDEN = 6


@functools.cache
def session():  # -> onnxruntime.InferenceSession
    """The encoder loaded once per process, checksum first, on one thread (core.jobs.analyzers.onnx)."""
    return onnx.load(MODEL, MODEL_SHA256, "speaker model")


def embed(samples: np.ndarray, rate: int) -> np.ndarray:
    """The L2-normalised float32 [DIM] voice embedding of a mono signal at ``rate`` Hz."""
    wav = trim_pauses(louder(silero.to_model_rate(samples, rate)))
    return embed_prepared(wav)


def embed_prepared(wav: np.ndarray) -> np.ndarray:
    """The embedding of 16 kHz audio already levelled and trimmed (steps 4 and 5 of the module's docstring)."""
    starts = partial_starts(len(wav))
    stop = (starts[-1] + PARTIAL) * HOP
    if stop >= len(wav):
        wav = np.pad(wav, (0, stop - len(wav)))
    mel = mel_spectrogram(wav)
    partials = np.stack([mel[s: s + PARTIAL] for s in starts])
    out = [session().run(None, {"mels": partials[at: at + BATCH]})[0] for at in range(0, len(partials), BATCH)]
    mean = np.concatenate(out).mean(axis=0)
    return (mean / max(float(np.linalg.norm(mean)), 1e-12)).astype(np.float32)


def louder(wav: np.ndarray) -> np.ndarray:
    """Raised to TARGET_DBFS if quieter (Resemblyzer's normalize_volume with increase_only)."""
    rms = float(np.sqrt(np.mean(np.square(wav, dtype=np.float64)))) if wav.size else 0.0
    if rms <= 0:
        return wav.astype(np.float32)
    change = TARGET_DBFS - 20 * np.log10(rms)
    return (wav * 10 ** (change / 20)).astype(np.float32) if change > 0 else wav.astype(np.float32)


def trim_pauses(wav: np.ndarray) -> np.ndarray:
    """``wav`` with long pauses cut short, as Resemblyzer's trim_long_silences does (see step 3)."""
    import webrtcvad  # here: commands start without it
    from scipy.ndimage import binary_dilation

    wav = wav[: len(wav) - len(wav) % VAD_WINDOW]
    if not wav.size:
        return wav
    pcm = np.round(np.clip(wav, -1, 1) * 32767).astype("<i2").tobytes()
    vad = webrtcvad.Vad(3)
    flags = np.array([vad.is_speech(pcm[at * 2: (at + VAD_WINDOW) * 2], RATE)
                      for at in range(0, len(wav), VAD_WINDOW)], np.float64)
    padded = np.concatenate([np.zeros((VAD_SMOOTH - 1) // 2), flags, np.zeros(VAD_SMOOTH // 2)])
    keep = np.round(np.convolve(padded, np.ones(VAD_SMOOTH), mode="valid") / VAD_SMOOTH).astype(bool)
    keep = binary_dilation(keep, np.ones(VAD_WIDEN + 1, bool))
    return wav[np.repeat(keep, VAD_WINDOW)]


def partial_starts(n_samples: int) -> list[int]:
    """First mel frame of each partial (Resemblyzer's compute_partial_slices at rate 1.3, min_coverage 0.75)."""
    n_frames = int(np.ceil((n_samples + 1) / HOP))
    steps = max(1, n_frames - PARTIAL + PARTIAL_STEP + 1)
    starts = list(range(0, steps, PARTIAL_STEP))
    coverage = (n_samples - starts[-1] * HOP) / (PARTIAL * HOP)
    if coverage < MIN_COVERAGE and len(starts) > 1:
        starts.pop()
    return starts


def mel_spectrogram(wav: np.ndarray) -> np.ndarray:
    """[frames, MELS] float32 power mel spectrogram, as librosa.feature.melspectrogram with Resemblyzer's settings."""
    padded = np.pad(wav.astype(np.float32), N_FFT // 2)
    n_frames = 1 + (len(padded) - N_FFT) // HOP
    frames = np.lib.stride_tricks.as_strided(
        padded, shape=(n_frames, N_FFT), strides=(padded.strides[0] * HOP, padded.strides[0]))
    power = np.abs(np.fft.rfft(frames * _window(), axis=1)) ** 2
    return (power @ _mel_filters().T).astype(np.float32)


@functools.cache
def _window() -> np.ndarray:
    """The periodic Hann window (scipy.signal.get_window('hann', N_FFT), which librosa uses)."""
    return (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)).astype(np.float32)


def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    """Slaney's mel scale: linear to 1 kHz, logarithmic above (librosa.hz_to_mel, htk=False)."""
    hz = np.asarray(hz, np.float64)
    mel = hz / (200.0 / 3)
    log_part = hz >= 1000.0
    return np.where(log_part, 15.0 + np.log(np.maximum(hz, 1e-10) / 1000.0) / (np.log(6.4) / 27.0), mel)


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    mel = np.asarray(mel, np.float64)
    return np.where(mel >= 15.0, 1000.0 * np.exp((np.log(6.4) / 27.0) * (mel - 15.0)), mel * (200.0 / 3))


@functools.cache
def _mel_filters() -> np.ndarray:
    """[MELS, N_FFT // 2 + 1] triangular filters with Slaney's area normalisation (librosa.filters.mel)."""
    mel_f = _mel_to_hz(np.linspace(_hz_to_mel(np.array(0.0)), _hz_to_mel(np.array(RATE / 2)), MELS + 2))
    fft_f = np.linspace(0, RATE / 2, N_FFT // 2 + 1)
    fdiff = np.diff(mel_f)
    ramps = mel_f[:, None] - fft_f[None, :]
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_f[2:] - mel_f[:-2]))[:, None]
    return weights.astype(np.float32)
