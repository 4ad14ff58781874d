"""How well speech-activity finds speech, against Silero VAD's own defaults and WebRTC's VAD, in one run.

Recordings with known utterance boundaries (tests/speechlike.py) under each condition: clean, white noise at
12/6/3/0 dB SNR, pink noise at 6 dB, mains hum, clicks, a noise level that jumps, music-like chords and melody at
5 dB, and noise, hum and clicks at once; one utterance in each recording 12 dB quieter than the rest. Two kinds
of speech: the formant synthesizer's (16 kHz), and espeak-ng's text-to-speech (22.05 kHz; skipped with a note
when espeak-ng is not installed: ``apt-get install espeak-ng``). Then recordings where nobody speaks (white and
pink noise, hum, clicks, jumping noise, music, silence): the seconds each detector flags.

Detectors: speech-activity's model engine (the default) and its pitch engine; Silero VAD with its own
``get_speech_timestamps`` defaults (threshold 0.5, 250 ms minimum speech, 100 ms minimum silence, 30 ms padding;
the same ONNX model, its segmenting loop ported here); WebRTC's VAD in its most aggressive mode (3) on 30 ms
frames at 16 kHz, joined and dropped as speech-activity does (its best case: raw, it flickers).

Scores: segment precision, recall and F1, a detected segment counting when its intersection over union with a
true one is at least 0.5 (one to one); "frame F1" is per 10 ms (how tight the edges are); "false" the share of
non-speech time flagged. Speed: audio seconds per second on one core, resampling included.
With ``--long-minutes N`` it also runs the analyzer on one N-minute file, read from storage a piece at a time,
against the same detection on the whole signal in memory, each in its own process: time and peak memory.
Run: ``python bench/speech_activity.py [--recordings 10] [--seconds 30] [--long-minutes 60]``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.jobs import analyzers  # noqa: E402
from core.jobs.analyzers import silero  # noqa: E402
from core.jobs.analyzers.speech_activity import detect, detect_with_model, join, runs  # noqa: E402
from core.store.models import Sound, StoredFile  # noqa: E402
from core.store.storage import LocalStorage  # noqa: E402
from tests.speechlike import CONDITIONS, NO_SPEECH, Recording, Score, no_speech, recording  # noqa: E402

SENTENCES = (
    "The quick brown fox jumps over the lazy dog", "Please call Stella and ask her to bring these things",
    "A large size in stockings is hard to sell", "The birch canoe slid on the smooth planks",
    "Glue the sheet to the dark blue background", "It is easy to tell the depth of a well",
    "These days a chicken leg is a rare dish", "Rice is often served in round bowls",
    "The juice of lemons makes fine punch", "The box was thrown beside the parked truck",
    "Four hours of steady work faced us", "Open the crate but do not break the glass",
    "Seven", "Yes", "Thank you very much", "Where is the station", "I think so too",
)
VOICES = ("en+m3", "en+f2", "en+m1", "en+f4", "en-us+m7")
Detector = Callable[[np.ndarray, int], list[tuple[float, float]]]


def silero_defaults(samples: np.ndarray, rate: int) -> list[tuple[float, float]]:
    """Silero VAD's ``get_speech_timestamps`` with its defaults, on the same model's probabilities."""
    probs = silero.probabilities(samples, rate)
    window, n = silero.WINDOW, round(len(samples) * silero.RATE / rate)
    threshold, min_speech, min_silence, pad = 0.5, 0.25 * silero.RATE, 0.1 * silero.RATE, 0.03 * silero.RATE
    negative = threshold - 0.15
    speeches, current, triggered, temp_end = [], {}, False, 0
    for i, p in enumerate(probs):
        if p >= threshold and temp_end:
            temp_end = 0
        if p >= threshold and not triggered:
            triggered, current = True, {"start": window * i}
            continue
        if p < negative and triggered:
            temp_end = temp_end or window * i
            if window * i - temp_end < min_silence:
                continue
            current["end"] = temp_end
            if current["end"] - current["start"] > min_speech:
                speeches.append(current)
            current, triggered, temp_end = {}, False, 0
    if current and n - current["start"] > min_speech:
        speeches.append(current | {"end": n})
    for i, speech in enumerate(speeches):
        if i == 0:
            speech["start"] = max(0, speech["start"] - pad)
        if i != len(speeches) - 1:
            gap = speeches[i + 1]["start"] - speech["end"]
            if gap < 2 * pad:
                speech["end"] += gap // 2
                speeches[i + 1]["start"] = max(0, speeches[i + 1]["start"] - gap // 2)
            else:
                speech["end"] = min(n, speech["end"] + pad)
                speeches[i + 1]["start"] = max(0, speeches[i + 1]["start"] - pad)
        else:
            speech["end"] = min(n, speech["end"] + pad)
    return [(s["start"] / silero.RATE, s["end"] / silero.RATE) for s in speeches]


def webrtc(samples: np.ndarray, rate: int) -> list[tuple[float, float]]:
    """WebRTC's VAD, mode 3, 30 ms frames at 16 kHz, joined across 300 ms and dropped under 200 ms."""
    import webrtcvad

    vad = webrtcvad.Vad(3)
    pcm = (np.clip(silero.to_model_rate(samples, rate), -1, 1) * 32767).astype("<i2")
    frame = 480
    flags = np.array([vad.is_speech(pcm[i: i + frame].tobytes(), 16_000) for i in range(0, pcm.size - frame + 1, frame)])
    hop = frame / 16_000
    return [(a * hop, b * hop) for a, b in join(runs(flags), 0.3 / hop) if (b - a) * hop >= 0.2]


DETECTORS: dict[str, Detector] = {
    "speech-activity (model)": lambda s, r: detect_with_model(s, r),
    "speech-activity (model, edges=energy)": lambda s, r: detect_with_model(s, r, edges="energy"),
    "speech-activity (pitch)": lambda s, r: detect(s, r),
    "Silero VAD defaults": silero_defaults,
    "WebRTC VAD mode 3": webrtc,
}


def espeak_utterances(folder: Path) -> list[np.ndarray] | None:
    """Each sentence in a few voices and speeds, trimmed to its sound, at 22.05 kHz; None without espeak-ng."""
    if shutil.which("espeak-ng") is None:
        return None
    spoken = []
    for i, sentence in enumerate(SENTENCES):
        for j in range(3):
            path = folder / f"{i}-{j}.wav"
            subprocess.run(["espeak-ng", "-v", VOICES[(i + j) % len(VOICES)], "-s", str(140 + 20 * j), "-w", str(path),
                            sentence], check=True, capture_output=True)
            samples, rate = sf.read(path, dtype="float64")
            assert rate == 22050, rate
            loud = np.flatnonzero(np.abs(samples) > 1e-3 * np.abs(samples).max())
            spoken.append(samples[loud[0]: loud[-1] + 1])
    return spoken


def corpus(kind: str, pool: list[np.ndarray] | None, count: int, seconds: float) -> dict[str, list[Recording]]:
    """{condition: [Recording]} for one kind of speech."""
    speak: Callable | None = None
    rate = 16_000
    if kind == "espeak-ng":
        rate = 22_050

        def speak(rng: np.random.Generator) -> np.ndarray:
            return pool[int(rng.integers(len(pool)))]
    return {c: [recording(1000 + i, c, seconds=seconds, rate=rate, speak=speak) for i in range(count)] for c in CONDITIONS}


class Frames:
    """Frame-level agreement at 10 ms: how tight the edges are."""

    def __init__(self) -> None:
        self.hit = self.said = self.flagged = 0

    def add(self, predicted: list[tuple[float, float]], r: Recording) -> None:
        t = np.arange(0, r.samples.size / r.rate, 0.01)
        said, flagged = np.zeros(t.size, bool), np.zeros(t.size, bool)
        for a, b in r.truth:
            said |= (t >= a) & (t < b)
        for a, b in predicted:
            flagged |= (t >= a) & (t < b)
        self.hit += int((said & flagged).sum())
        self.said += int(said.sum())
        self.flagged += int(flagged.sum())

    @property
    def f1(self) -> float:
        return 2 * self.hit / (self.said + self.flagged) if self.said + self.flagged else 1.0


def measure(recordings: dict[str, list[Recording]], find: Detector) -> tuple[dict[str, Score], Frames, float]:
    """Scores per condition, frame agreement over all, and audio seconds per second."""
    out, frames, busy, audio = {}, Frames(), 0.0, 0.0
    for condition, items in recordings.items():
        out[condition] = Score()
        for r in items:
            started = time.process_time()
            found = find(r.samples, r.rate)
            busy += time.process_time() - started
            audio += r.samples.size / r.rate
            out[condition].add(found, r)
            frames.add(found, r)
    return out, frames, audio / busy


def speech_table(kind: str, results: dict[str, tuple[dict[str, Score], Frames, float]]) -> None:
    names = list(results)
    print(f"\n### {kind} speech: segment F1 (false share of non-speech time)\n")
    print("| condition | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for c in CONDITIONS:
        cells = [f"**{results[n][0][c].f1:.2f}** ({results[n][0][c].false_seconds / results[n][0][c].silent_seconds:.1%})" for n in names]
        print(f"| {c} | " + " | ".join(cells) + " |")
    print("| mean segment F1 | " + " | ".join(f"**{np.mean([results[n][0][c].f1 for c in CONDITIONS]):.3f}**" for n in names) + " |")
    print("| frame F1 (edges) | " + " | ".join(f"{results[n][1].f1:.3f}" for n in names) + " |")
    print("| speed, one core | " + " | ".join(f"{results[n][2]:.0f}x" for n in names) + " |")


def no_speech_table(count: int, seconds: float) -> None:
    print(f"\n### Recordings where nobody speaks: seconds flagged as speech ({count} x {seconds:g} s of each)\n")
    print("| recording | " + " | ".join(DETECTORS) + " |")
    print("|---|" + "---|" * len(DETECTORS))
    totals = dict.fromkeys(DETECTORS, 0.0)
    for kind in NO_SPEECH:
        cells = []
        for name, find in DETECTORS.items():
            flagged = sum(b - a for seed in range(count) for a, b in find(no_speech(2000 + seed, kind, seconds), 16_000))
            totals[name] += flagged
            cells.append(f"{flagged:.1f} s")
        print(f"| {kind} | " + " | ".join(cells) + " |")
    print(f"| **all {len(NO_SPEECH) * count * seconds:g} s** | " + " | ".join(f"**{t:.1f} s**" for t in totals.values()) + " |")


def long_file(folder: Path, minutes: float) -> Path:
    """Speech-like recordings under the conditions in turn, written a minute at a time (22.05 kHz: resampled)."""
    path = folder / "long.wav"
    with sf.SoundFile(path, "w", samplerate=22_050, channels=1, subtype="PCM_16") as out:
        for minute in range(int(minutes)):
            out.write(recording(minute, CONDITIONS[minute % len(CONDITIONS)], seconds=60.0, rate=22_050).samples)
    return path


def child(mode: str, path: Path) -> None:
    """Run one way in this process and print its time, peak memory and segment count as JSON."""
    started = time.perf_counter()
    if mode == "pieces":
        info = sf.info(path)
        sound = Sound(path=path.name, sample_rate=info.samplerate, duration_seconds=info.duration, channels=1,
                      file=StoredFile(key=path.name))
        analyzer = analyzers.get("speech-activity")
        found = analyzer.run(LocalStorage(path.parent), sound, analyzer.check({})).segments
    else:
        samples, rate = sf.read(path, dtype="float32")
        found = detect_with_model(samples, rate)
    print(json.dumps({"seconds": time.perf_counter() - started, "segments": len(found),
                      "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def compare_long(minutes: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = long_file(Path(tmp), minutes)
        runs_ = {"whole": None}
        for mode in ("whole", "pieces") if minutes <= 30 else ("pieces",):
            done = subprocess.run([sys.executable, __file__, "--child", mode, str(path)], capture_output=True, text=True, check=True)
            runs_[mode] = json.loads(done.stdout)
    pieces, whole = runs_["pieces"], runs_["whole"]
    print(f"\nA {minutes:g}-minute file (22.05 kHz): read in pieces {pieces['seconds']:.1f} s, peak {pieces['peak_mb']:.0f} MB, "
          f"{pieces['segments']} segments; " + (f"the whole signal in memory {whole['seconds']:.1f} s, peak {whole['peak_mb']:.0f} MB, "
                                                f"{whole['segments']} segments." if whole else "the whole signal in memory: not run (too big)."))


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        child(sys.argv[2], Path(sys.argv[3]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recordings", type=int, default=10, help="recordings per condition and kind of speech")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--long-minutes", type=float, default=0, help="also compare memory on one file this long")
    args = parser.parse_args()
    if args.long_minutes:
        compare_long(args.long_minutes)
    with tempfile.TemporaryDirectory() as tmp:
        pool = espeak_utterances(Path(tmp))
    kinds = (["espeak-ng"] if pool else []) + ["formant synthesizer"]
    if not pool:
        print("espeak-ng is not installed: only the formant synthesizer's speech is measured.")
    for kind in kinds:
        recordings = corpus(kind, pool, args.recordings, args.seconds)
        speech_table(kind, {name: measure(recordings, find) for name, find in DETECTORS.items()})
        print(f"\n{len(CONDITIONS) * args.recordings} recordings, {len(CONDITIONS) * args.recordings * args.seconds / 60:.0f} minutes of audio.")
    no_speech_table(max(1, args.recordings // 2), args.seconds)


if __name__ == "__main__":
    main()
