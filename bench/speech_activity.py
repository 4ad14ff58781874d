"""How well speech-activity finds speech, clean and in noise, against a plain adaptive energy threshold.

Recordings with known utterance boundaries (core/speechlike.py) under each condition: clean, white noise at
12/6/3 dB SNR, pink noise at 6 dB, mains hum, clicks, a noise level that jumps, and all of them at once. One
utterance in each recording is 12 dB quieter than the rest. Two kinds of speech: the formant synthesizer's
(16 kHz), and espeak-ng's text-to-speech (22.05 kHz; skipped with a note when espeak-ng is not installed:
``apt-get install espeak-ng``).

Scores are segment precision, recall and F1, a detected segment counting when its intersection over union with
a true one is at least 0.5 (one to one); "quiet" is how many of the quiet utterances were found; "false" is the
share of non-speech time flagged as speech. The baseline uses the same frames, joining and dropping, and gets
the margin (from 3 to 12 dB) that gives it its best mean F1 over all conditions of that speech: its best case.
With ``--long-minutes N`` it also runs the analyzer on one N-minute file, read from storage a piece at a time,
against the same detection on the whole signal in memory, each in its own process: time and peak memory.
Run: ``python bench/speech_activity.py [--recordings 10] [--seconds 30] [--long-minutes 60]``.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core import analyzers  # noqa: E402
from core.jobs.analyzers.speech_activity import detect  # noqa: E402
from core.store.models import Sound, StoredFile  # noqa: E402
from core.store.storage import LocalStorage  # noqa: E402
from tests.speechlike import CONDITIONS, Score, energy_baseline, recording  # noqa: E402

MARGINS = (3.0, 4.5, 6.0, 9.0, 12.0)
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


def espeak_utterances(folder: Path) -> list[np.ndarray] | None:
    """Each sentence in a few voices and speeds, trimmed to its sound, at 22.05 kHz; None without espeak-ng."""
    if shutil.which("espeak-ng") is None:
        return None
    spoken = []
    for i, sentence in enumerate(SENTENCES):
        for j, voice in enumerate(VOICES[:3]):
            path = folder / f"{i}-{j}.wav"
            subprocess.run(["espeak-ng", "-v", VOICES[(i + j) % len(VOICES)], "-s", str(140 + 20 * j), "-w", str(path),
                            sentence], check=True, capture_output=True)
            samples, rate = sf.read(path, dtype="float64")
            assert rate == 22050, rate
            loud = np.flatnonzero(np.abs(samples) > 1e-3 * np.abs(samples).max())
            spoken.append(samples[loud[0]: loud[-1] + 1])
    return spoken


def corpus(kind: str, pool: list[np.ndarray] | None, count: int, seconds: float):
    """{condition: [Recording]} for one kind of speech."""
    speak: Callable | None = None
    rate = 16_000
    if kind == "espeak-ng":
        rate = 22_050

        def speak(rng: np.random.Generator) -> np.ndarray:
            return pool[int(rng.integers(len(pool)))]
    return {c: [recording(1000 + i, c, seconds=seconds, rate=rate, speak=speak) for i in range(count)] for c in CONDITIONS}


def scores(recordings, find) -> dict[str, Score]:
    out = {}
    for condition, items in recordings.items():
        out[condition] = Score()
        for r in items:
            out[condition].add(find(r), r)
    return out


def table(kind: str, ours: dict[str, Score], base: dict[str, Score], margin: float) -> None:
    print(f"\n### {kind} speech (baseline margin {margin:g} dB)\n")
    print("| condition | speech-activity P / R / **F1** | quiet found | false | energy baseline P / R / **F1** | quiet found | false |")
    print("|---|---|---|---|---|---|---|")
    for c in CONDITIONS:
        o, b = ours[c], base[c]
        print(f"| {c} | {o.precision:.2f} / {o.recall:.2f} / **{o.f1:.2f}** | {o.quiet_found}/{o.quiet} | "
              f"{o.false_seconds / o.silent_seconds:.1%} | {b.precision:.2f} / {b.recall:.2f} / **{b.f1:.2f}** | "
              f"{b.quiet_found}/{b.quiet} | {b.false_seconds / b.silent_seconds:.1%} |")
    noisy = [c for c in CONDITIONS if c != "clean"]
    print(f"| **mean over the noisy conditions** | **{np.mean([ours[c].f1 for c in noisy]):.2f}** | | | "
          f"**{np.mean([base[c].f1 for c in noisy]):.2f}** | | |")


def long_file(folder: Path, minutes: float) -> Path:
    """Speech-like recordings under the noise conditions in turn, written a minute at a time."""
    path = folder / "long.wav"
    with sf.SoundFile(path, "w", samplerate=16_000, channels=1, subtype="PCM_16") as out:
        for minute in range(int(minutes)):
            out.write(recording(minute, CONDITIONS[minute % len(CONDITIONS)], seconds=60.0).samples)
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
        found = detect(samples, rate)
    print(json.dumps({"seconds": time.perf_counter() - started, "segments": len(found),
                      "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def compare_long(minutes: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = long_file(Path(tmp), minutes)
        runs = {"whole": None}
        for mode in ("whole", "pieces") if minutes <= 15 else ("pieces",):  # whole: ~0.33 GB a minute of 16 kHz audio
            done = subprocess.run([sys.executable, __file__, "--child", mode, str(path)], capture_output=True, text=True, check=True)
            runs[mode] = json.loads(done.stdout)
    pieces, whole = runs["pieces"], runs["whole"]
    print(f"\nA {minutes:g}-minute file: read in pieces {pieces['seconds']:.1f} s, peak {pieces['peak_mb']:.0f} MB, "
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
    kinds = ["formant synthesizer"] + (["espeak-ng"] if pool else [])
    if not pool:
        print("espeak-ng is not installed: only the formant synthesizer's speech is measured.")
    for kind in kinds:
        recordings = corpus(kind, pool, args.recordings, args.seconds)
        audio = sum(r.samples.size / r.rate for items in recordings.values() for r in items)
        started = time.perf_counter()
        ours = scores(recordings, lambda r: detect(r.samples, r.rate))
        speed = audio / (time.perf_counter() - started)
        tried = {m: scores(recordings, lambda r, m=m: energy_baseline(r.samples, r.rate, margin_db=m)) for m in MARGINS}
        margin = max(MARGINS, key=lambda m: np.mean([s.f1 for s in tried[m].values()]))
        table(kind, ours, tried[margin], margin)
        print(f"\n{len(CONDITIONS) * args.recordings} recordings, {audio / 60:.0f} minutes of audio; "
              f"speech-activity ran at {speed:.0f}x real time on one core.")


if __name__ == "__main__":
    main()
