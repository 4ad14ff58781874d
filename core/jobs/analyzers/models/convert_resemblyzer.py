"""Convert Resemblyzer's speaker encoder to ONNX once, and check Earmark's numpy re-implementation against it.

Run in a throwaway virtualenv outside the repository, never by Earmark itself (which needs no PyTorch):

    python -m venv /tmp/convert-venv
    /tmp/convert-venv/bin/pip install --index-url https://download.pytorch.org/whl/cpu torch
    /tmp/convert-venv/bin/pip install resemblyzer==0.1.4 onnx onnxruntime "setuptools<81"
    /tmp/convert-venv/bin/python core/jobs/analyzers/models/convert_resemblyzer.py   # from the repository's root

It writes models/resemblyzer_encoder.onnx (input ``mels`` [batch, 160, 40], output ``embeds`` [batch, 256]), then
embeds test recordings two ways: Resemblyzer's own ``embed_utterance(preprocess_wav(wav, rate))`` on PyTorch, and
core.jobs.analyzers.voice.embed on onnxruntime, and prints the cosine similarity of each pair (the figures go in
models/README.md). The recordings are the formant synthesizer's (tests/speechlike.py) and, when espeak-ng is
installed, a few of its voices.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
import types
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
from resemblyzer import VoiceEncoder, preprocess_wav

ROOT = Path(__file__).resolve().parents[4]
OUT = Path(__file__).with_name("resemblyzer_encoder.onnx")
sys.path.insert(0, str(ROOT))


class Encoder(torch.nn.Module):
    """The encoder's forward pass alone (VoiceEncoder.forward), with its weights."""

    def __init__(self, encoder: VoiceEncoder) -> None:
        super().__init__()
        self.lstm, self.linear = encoder.lstm, encoder.linear

    def forward(self, mels: torch.Tensor) -> torch.Tensor:
        _, (hidden, _) = self.lstm(mels)
        raw = torch.relu(self.linear(hidden[-1]))
        return raw / torch.norm(raw, dim=1, keepdim=True)


def export(encoder: VoiceEncoder) -> None:
    model = Encoder(encoder).eval()
    example = torch.rand(3, 160, 40)
    torch.onnx.export(model, (example,), str(OUT), input_names=["mels"], output_names=["embeds"],
                      dynamic_axes={"mels": {0: "batch"}, "embeds": {0: "batch"}}, opset_version=17, dynamo=False)
    print(f"wrote {OUT} ({OUT.stat().st_size / 1e6:.1f} MB) sha256 {hashlib.sha256(OUT.read_bytes()).hexdigest()}")


def recordings() -> list[tuple[str, np.ndarray, int]]:
    sys.path.insert(0, str(ROOT / "tests"))
    import speechlike

    out = []
    for seed in range(4):
        rec = speechlike.recording(seed, "clean", seconds=8.0)
        out.append((f"formant synthesizer, seed {seed}", rec.samples, rec.rate))
    if shutil.which("espeak-ng"):
        with tempfile.TemporaryDirectory() as folder:
            for voice in ("en-us", "en+f3", "en+m7", "de", "fr+f2"):
                path = Path(folder) / f"{voice}.wav"
                text = "The quick brown fox jumps over the lazy dog while the band plays on in the park."
                subprocess.run(["espeak-ng", "-v", voice, "-w", str(path), text], check=True)
                wav, rate = sf.read(path, dtype="float32")
                out.append((f"espeak-ng {voice}", wav, rate))
    return out


def compare(encoder: VoiceEncoder) -> None:
    # the analyzers' package registry imports the database layer, which this virtualenv has no need of
    package = types.ModuleType("core.jobs.analyzers")
    package.__path__ = [str(Path(__file__).parents[1])]
    sys.modules["core.jobs.analyzers"] = package
    from core.jobs.analyzers import voice

    voice.MODEL_SHA256 = hashlib.sha256(OUT.read_bytes()).hexdigest()  # before it is recorded in voice.py
    worst = 1.0
    for name, wav, rate in recordings():
        theirs = encoder.embed_utterance(preprocess_wav(wav, source_sr=rate))
        ours = voice.embed(wav, rate)
        same_input = voice.embed_prepared(preprocess_wav(wav, source_sr=rate))  # their trimming, our features
        cosine = float(np.dot(theirs, ours))
        worst = min(worst, cosine)
        print(f"{name}: cosine {cosine:.6f} (with Resemblyzer's own resampling and trimming {np.dot(theirs, same_input):.6f})")
    print(f"lowest cosine {worst:.6f}")


if __name__ == "__main__":
    voice_encoder = VoiceEncoder("cpu", verbose=False)
    export(voice_encoder)
    compare(voice_encoder)
