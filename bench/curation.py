"""How well the curation analyzers (issue 29) find what should not be in a dataset, one function per analyzer.

speech-quality: the same speech clean and in noise at known levels. There is no recorded speech on the machines
this runs on, so the speech is synthetic, of two kinds: tests/speechlike.py's formant synthesizer (utterances of
synthetic syllables with pauses, a different voice and pitch per recording, 16 kHz) and espeak-ng's text to
speech (English sentences in several voices and speeds, 22.05 kHz, laid out with pauses the same way; skipped
when espeak-ng is not installed). These figures are for that speech, not for recordings of people. Each recording is scored with its speech alone (60 dB over a faint floor) and with white
or pink noise (alternately) mixed at 40, 30, 20, 10 and 0 dB under its speech. Figures: Spearman's rank
correlation of each score with the noise level (over every file), the share of pairs of files 10 dB apart that
the score orders correctly (the same speech, and any two recordings), and files per second on one core, against
speech-activity (Silero VAD alone, which speech-quality also runs) on the same files in the same run.

Run: ``python bench/curation.py [--only speech-quality] [--recordings 6] [--seconds 10]``.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.jobs import analyzers  # noqa: E402
from core.store.models import Sound, StoredFile  # noqa: E402
from core.store.storage import LocalStorage  # noqa: E402
from tests import speechlike  # noqa: E402

SNR_LEVELS = (60.0, 40.0, 30.0, 20.0, 10.0, 0.0)  # 60: the clean recording's own faint floor
RATE = 16_000
SPEECH_POWER = 0.01  # speechlike.recording puts its loud utterances at -20 dBFS


def _noisy(seed: int, seconds: float, snr_db: float, pink: bool, pool: list[np.ndarray] | None = None) -> np.ndarray:
    """A recording of ``pool``'s utterances (espeak-ng's, at 22.05 kHz) or the formant synthesizer's (RATE)."""
    speak = None if pool is None else (lambda rng: pool[int(rng.integers(len(pool)))])
    clean = speechlike.recording(seed, "clean", seconds=seconds, rate=22_050 if pool else RATE, speak=speak).samples.astype(np.float64)
    if snr_db >= SNR_LEVELS[0]:
        return clean.astype(np.float32)
    rng = np.random.default_rng(seed + 1000)
    noise = speechlike._pink(rng, clean.size) if pink else rng.standard_normal(clean.size)
    return np.clip(clean + noise * np.sqrt(SPEECH_POWER / 10 ** (snr_db / 10)), -1, 1).astype(np.float32)


def _run(name: str, storage: LocalStorage, files: list[Path], **params: object) -> tuple[list[dict[str, str]], float]:
    """Each file's fields by the analyzer, and the CPU seconds it took (this process is on one thread)."""
    analyzer = analyzers.get(name)
    checked = analyzer.check(params)
    fields, started = [], time.process_time()
    for path in files:
        info = sf.info(path)
        sound = Sound(path=path.name, sample_rate=info.samplerate, duration_seconds=info.duration, channels=info.channels,
                      file=StoredFile(key=path.name))
        fields.append(analyzer.run(storage, sound, checked).fields)
    return fields, time.process_time() - started


def _ordered(pairs: list[tuple[float, float, float, float]]) -> float:
    """The share of (level a, level b, score a, score b) pairs whose scores order them as their levels do."""
    return sum((sa - sb) * (la - lb) > 0 for la, lb, sa, sb in pairs) / max(len(pairs), 1)


def speech_quality(recordings: int, seconds: float) -> None:
    from bench.speech_activity import espeak_utterances

    with tempfile.TemporaryDirectory() as folder:
        pool = espeak_utterances(Path(folder))
    if pool is None:
        print("espeak-ng is not installed: only the formant synthesizer's speech is measured.")
    for kind, utterances in [("formant synthesizer", None)] + ([("espeak-ng", pool)] if pool else []):
        _speech_quality_set(kind, utterances, recordings, seconds)


def _speech_quality_set(kind: str, pool: list[np.ndarray] | None, recordings: int, seconds: float) -> None:
    from scipy.stats import spearmanr

    with tempfile.TemporaryDirectory() as folder:
        storage, files, levels, owners = LocalStorage(Path(folder)), [], [], []
        for seed in range(recordings):
            for snr in SNR_LEVELS:
                path = Path(folder) / f"r{seed}_{snr:g}.wav"
                sf.write(path, _noisy(seed, seconds, snr, seed % 2 == 1, pool), 22_050 if pool else RATE, subtype="PCM_16")
                files.append(path)
                levels.append(snr)
                owners.append(seed)
        fields, cpu = _run("speech-quality", storage, files)
        _, baseline = _run("speech-activity", storage, files)
    print(f"speech-quality, {kind}'s speech: {len(files)} files of {seconds:g} s ({recordings} recordings x levels {', '.join(f'{s:g}' for s in SNR_LEVELS)} dB, white or pink noise)")
    for name in ("sig", "bak", "ovrl", "snr_db"):
        scores = [float(f[f"speech_quality.{name}"]) for f in fields]
        rho = spearmanr(levels, scores).statistic
        pairs = [(i, j) for i, j in itertools.combinations(range(len(files)), 2) if abs(levels[i] - levels[j]) == 10]
        apart = [(levels[i], levels[j], scores[i], scores[j]) for i, j in pairs]
        same = [(levels[i], levels[j], scores[i], scores[j]) for i, j in pairs if owners[i] == owners[j]]
        by_levels = {(a, b): _ordered([p for p in apart if {p[0], p[1]} == {a, b}]) for a, b in itertools.pairwise(SNR_LEVELS[1:])}
        print(f"  {name:6s}: rank correlation with the noise level {rho:.3f}; pairs 10 dB apart ordered correctly: "
              f"{_ordered(same):.1%} of {len(same)} with the same speech, {_ordered(apart):.1%} of {len(apart)} across voices "
              f"({', '.join(f'{a:g}/{b:g} dB {share:.0%}' for (a, b), share in by_levels.items())})")
    means = {s: np.mean([float(f["speech_quality.ovrl"]) for f, lv in zip(fields, levels, strict=True) if lv == s]) for s in SNR_LEVELS}
    print("  mean OVRL by level: " + ", ".join(f"{s:g} dB {m:.2f}" for s, m in means.items()))
    errors = [float(f["speech_quality.snr_db"]) - lv for f, lv in zip(fields, levels, strict=True) if lv < SNR_LEVELS[0]]
    print(f"  snr_db minus the level mixed in (40 to 0 dB): median {np.median(errors):+.1f} dB, largest {max(errors, key=abs):+.1f} dB")
    print(f"  speed on one core: {len(files) / cpu:.2f} files/s ({len(files) * seconds / cpu:.1f} s of audio per s); "
          f"speech-activity alone on the same files {len(files) / baseline:.2f} files/s: {cpu / baseline:.1f}x its cost")


ESPEAK_VOICES = ("en+adam", "en+Alicia", "en+Andy", "en+annie", "en+benjamin", "en+caleb", "en+david", "en+ed",
                 "en+linda", "en+max", "en+paul", "en+steph", "en+f2", "en+f3", "en+f4", "en+grandpa", "en+michel",
                 "en+john", "en+rob", "en+Mr")
WORDS = ("the", "a", "river", "morning", "station", "quietly", "seven", "yellow", "window", "across", "builds",
         "after", "garden", "people", "remember", "under", "bright", "number", "table", "carries", "over", "small",
         "village", "winter", "listen", "before", "orange", "music", "travels", "slowly", "between", "houses")
MISLABELLED = 0.1  # the share of files filed under another speaker


def _espeak(voice: str, seed: int, seconds: float, folder: Path) -> np.ndarray:
    """About ``seconds`` of random English words in one espeak-ng voice, at 22.05 kHz."""
    import subprocess

    rng = np.random.default_rng(seed)
    text = " ".join(rng.choice(WORDS, size=max(4, int(seconds * 2.6))))
    path = folder / "say.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-w", str(path), text], check=True)
    return sf.read(path, dtype="float32")[0]


def _voice_sets(voices: int, seconds: float, folder: Path) -> list[tuple[str, int, object]]:
    """(description, rate, make(voice index, file index) -> samples) for each set of voices this machine has."""
    import shutil

    rng = np.random.default_rng(7)
    synthetic = [speechlike.Voice(rng.uniform(90, 240), rng.uniform(0.85, 1.2), rng.uniform(0.9, 0.98), rng.uniform(0.005, 0.05))
                 for _ in range(voices)]
    sets: list[tuple[str, int, object]] = [
        (f"{voices} formant-synthesizer voices (tests/speechlike.Voice: pitch 90-240 Hz, formants x0.85-1.2, random)",
         RATE, lambda v, k: speechlike.speech_of(synthetic[v], 1000 * v + k, seconds))]
    if shutil.which("espeak-ng") and voices <= len(ESPEAK_VOICES):
        chosen = ESPEAK_VOICES[:voices]
        sets.append((f"{voices} espeak-ng 1.51 voices ({', '.join(chosen)}), random English words", 22_050,
                     lambda v, k: _espeak(chosen[v], 1000 * v + k, seconds, folder)))
    return sets


def speaker_check(recordings: int, seconds: float, per_voice: int = 10) -> None:
    """Voices as speakers, ``per_voice`` files each, MISLABELLED of them filed under another voice: precision and
    recall of the flagged files at the default threshold, and files per second on one core."""
    from core.jobs.analyzers.speaker_check import SPREAD, Centroids, automatic_threshold
    from core.jobs.voices import as_vectors

    with tempfile.TemporaryDirectory() as folder:
        for description, rate, make in _voice_sets(recordings, seconds, Path(folder)):
            storage, files, truth = LocalStorage(Path(folder)), [], []
            for v in range(recordings):
                for k in range(per_voice):
                    path = Path(folder) / f"v{v}_{k}.wav"
                    sf.write(path, make(v, k), rate, subtype="PCM_16")  # type: ignore[operator]
                    files.append(path)
                    truth.append(v)
            rng = np.random.default_rng(11)
            wrong = set(rng.choice(len(files), size=max(1, round(MISLABELLED * len(files))), replace=False).tolist())
            labels = [int((t + rng.integers(1, recordings)) % recordings) if i in wrong else t for i, t in enumerate(truth)]
            outputs, cpu = _run_outputs("speaker-check", storage, files)
            _, baseline = _run("audio-stats", storage, files)
            vectors = as_vectors([o.data for o in outputs])
            centroids = Centroids()
            for label, vector in zip(labels, vectors, strict=True):
                centroids.add(str(label), None, vector)
            scores = np.array([centroids.score(str(label), None, vector) for label, vector in zip(labels, vectors, strict=True)])
            is_wrong = np.array([i in wrong for i in range(len(files))])
            print(f"speaker-check: {description}; {per_voice} files of about {seconds:g} s each, {len(wrong)} of "
                  f"{len(files)} ({MISLABELLED:.0%}) filed under another voice")
            for what, at in ((f"the default, automatic (median + {SPREAD:g} robust deviations)", automatic_threshold(scores)),
                             *((f"median + {k:g} robust deviations", _spread(scores, k)) for k in (3.0, 5.0)),
                             ("the best F1 for this set", _best_threshold(scores, is_wrong))):
                flagged = scores > at
                hits = int((flagged & is_wrong).sum())
                print(f"  threshold {at:.3f}, {what}: precision {hits / max(int(flagged.sum()), 1):.3f}, "
                      f"recall {hits / len(wrong):.3f} ({int(flagged.sum())} flagged)")
            print(f"  score (cosine distance to the speaker's other files): rightly filed median {np.median(scores[~is_wrong]):.3f}, "
                  f"95th percentile {np.percentile(scores[~is_wrong], 95):.3f}; wrongly filed median {np.median(scores[is_wrong]):.3f}, "
                  f"lowest {scores[is_wrong].min():.3f}")
            print(f"  speed on one core: {len(files) / cpu:.2f} files/s ({len(files) * seconds / cpu:.1f} s of audio per s); "
                  f"audio-stats on the same files {len(files) / baseline:.1f} files/s: {cpu / baseline:.1f}x its cost")


def _spread(scores: np.ndarray, k: float) -> float:
    median = float(np.median(scores))
    return median + k * 1.4826 * float(np.median(np.abs(scores - median)))


def _best_threshold(scores: np.ndarray, is_wrong: np.ndarray) -> float:
    """The threshold of best F1 over the scores seen (how far the default is from the best for these voices)."""
    best, at = -1.0, 0.0
    for candidate in np.unique(scores):
        flagged = scores > candidate - 1e-9
        hits = (flagged & is_wrong).sum()
        f1 = 2 * hits / max(flagged.sum() + is_wrong.sum(), 1)
        if f1 > best:
            best, at = f1, float(candidate) - 1e-3
    return at


def _run_outputs(name: str, storage: LocalStorage, files: list[Path]) -> tuple[list, float]:
    """Each file's whole output (speaker-check keeps its embedding in ``data``) and the CPU seconds it took."""
    analyzer = analyzers.get(name)
    checked = analyzer.check({})
    outputs, started = [], time.process_time()
    for path in files:
        info = sf.info(path)
        sound = Sound(path=path.name, sample_rate=info.samplerate, duration_seconds=info.duration, channels=info.channels,
                      file=StoredFile(key=path.name))
        outputs.append(analyzer.run(storage, sound, checked))
    return outputs, time.process_time() - started


BENCHES = {"speech-quality": speech_quality, "speaker-check": speaker_check}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", choices=sorted(BENCHES), action="append", help="run only these (default: all)")
    parser.add_argument("--recordings", type=int, default=6, help="voices (recordings) per evaluation set")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each recording")
    args = parser.parse_args()
    for name in args.only or BENCHES:
        BENCHES[name](args.recordings, args.seconds)


if __name__ == "__main__":
    main()
