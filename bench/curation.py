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

speaker-check: voices as speakers, 10 files each, 10 % filed under another voice; four sets: tests/speechlike.Voice's
formant-synthesizer voices drawn at random and spread out (no two sharing a vocal tract), and espeak-ng's English
voice variants (when espeak-ng is installed) as they are and each with its own pitch and speed. Per set: whether the
encoder tells the voices apart at all (each file's distance to its own voice against the nearest other voice),
precision and recall of the flagged files at the automatic threshold and others, and files per second on one core
against audio-stats.
voice-search: "sounds like this" and speaker-check's last step over 10,000 and 100,000 stored embeddings, against
reading them alone.

Run: ``python bench/curation.py [--only speech-quality|speaker-check|voice-search] [--recordings 6] [--seconds 10]
[--database-url postgresql+psycopg://...]``.
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


def _interval(share: float, n: int) -> str:
    """Wilson's 95 % interval of a share of ``n`` pairs: whether a set this small can tell 92 % from 95 %."""
    if not n:
        return "no pairs"
    z = 1.96
    centre = (share + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(share * (1 - share) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return f"95 % interval {max(0.0, centre - half):.0%}-{min(1.0, centre + half):.0%}"


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
        noise = ["pink" if o % 2 else "white" for o in owners]
        by_levels = {(a, b, kind): _ordered([(levels[i], levels[j], scores[i], scores[j]) for i, j in pairs
                                             if owners[i] == owners[j] and {levels[i], levels[j]} == {a, b} and noise[i] == kind])
                     for a, b in itertools.pairwise(SNR_LEVELS[1:]) for kind in ("white", "pink")}
        print(f"  {name:6s}: rank correlation with the noise level {rho:.3f}; pairs 10 dB apart ordered correctly: "
              f"{_ordered(same):.1%} of {len(same)} with the same speech ({_interval(_ordered(same), len(same))}), "
              f"{_ordered(apart):.1%} of {len(apart)} across voices ({_interval(_ordered(apart), len(apart))}); same speech by "
              f"levels and noise: {', '.join(f'{a:g}/{b:g} dB {kind} {share:.0%}' for (a, b, kind), share in by_levels.items())}")
    means = {s: np.mean([float(f["speech_quality.ovrl"]) for f, lv in zip(fields, levels, strict=True) if lv == s]) for s in SNR_LEVELS}
    print("  mean OVRL by level: " + ", ".join(f"{s:g} dB {m:.2f}" for s, m in means.items()))
    spread = {s: np.std([float(f["speech_quality.ovrl"]) for f, lv in zip(fields, levels, strict=True) if lv == s]) for s in SNR_LEVELS}
    print("  OVRL's spread across recordings at one level (standard deviation; against the steps between the means "
          "above): " + ", ".join(f"{s:g} dB {m:.2f}" for s, m in spread.items()))
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


def _espeak(voice: str, seed: int, seconds: float, folder: Path, pitch: int = 50, speed: int = 175) -> np.ndarray:
    """About ``seconds`` of random English words in one espeak-ng voice (pitch 0-99, words a minute), at 22.05 kHz."""
    import subprocess

    rng = np.random.default_rng(seed)
    text = " ".join(rng.choice(WORDS, size=max(4, int(seconds * 2.6 * speed / 175))))
    path = folder / "say.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-p", str(pitch), "-s", str(speed), "-w", str(path), text], check=True)
    return sf.read(path, dtype="float32")[0]


def _spread_voices(voices: int) -> list[speechlike.Voice]:
    """Voices laid out as a grid of vocal tracts (formant scales 0.78 to 1.3) by three glottal sources (95 Hz with a
    steep tilt and little breath, 150 Hz, 235 Hz with a flat tilt and much breath), so that no two share both, as
    people differ in both. Drawn at random, two voices with scales 0.91 and 0.92 and pitches 92 and 122 Hz were
    0.017 apart, under one voice's own spread: the encoder hears the vocal tract far more than the pitch. Still one
    synthesizer with one set of vowels, so closer together than people are."""
    sources = ((95.0, 0.98, 0.005), (150.0, 0.92, 0.03), (235.0, 0.86, 0.06))
    scales = np.geomspace(0.78, 1.3, -(-voices // len(sources)))
    return [speechlike.Voice(sources[v % 3][0], float(scales[v // 3]), sources[v % 3][1], sources[v % 3][2]) for v in range(voices)]


def _voice_sets(voices: int, seconds: float, folder: Path) -> list[tuple[str, int, object]]:
    """(description, rate, make(voice index, file index) -> samples) for each set of voices this machine has."""
    import shutil

    rng = np.random.default_rng(7)
    synthetic = [speechlike.Voice(rng.uniform(90, 240), rng.uniform(0.85, 1.2), rng.uniform(0.9, 0.98), rng.uniform(0.005, 0.05))
                 for _ in range(voices)]
    spread = _spread_voices(voices)
    sets: list[tuple[str, int, object]] = [
        (f"{voices} formant-synthesizer voices drawn at random (tests/speechlike.Voice: pitch 90-240 Hz, formants x0.85-1.2)",
         RATE, lambda v, k: speechlike.speech_of(synthetic[v], 1000 * v + k, seconds)),
        (f"{voices} formant-synthesizer voices spread out (a grid of vocal tracts x0.78-1.3 by three glottal sources)",
         RATE, lambda v, k: speechlike.speech_of(spread[v], 1000 * v + k, seconds))]
    if shutil.which("espeak-ng") and voices <= len(ESPEAK_VOICES):
        chosen = ESPEAK_VOICES[:voices]
        sets.append((f"{voices} espeak-ng 1.51 voices ({', '.join(chosen)}), random English words", 22_050,
                     lambda v, k: _espeak(chosen[v], 1000 * v + k, seconds, folder)))
        order = np.random.default_rng(3).permutation(voices)
        pitches = [int(p) for p in np.linspace(15, 85, voices)[order]]
        speeds = [int(s) for s in np.linspace(140, 200, voices)]
        sets.append((f"the same {voices} espeak-ng voices, each with its own pitch (15-85 of 99) and speed (140-200 words a minute)",
                     22_050, lambda v, k: _espeak(chosen[v], 1000 * v + k, seconds, folder, pitches[v], speeds[v])))
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
            _separation(np.array(truth), vectors)
            print(f"  score (cosine distance to the speaker's other files): rightly filed median {np.median(scores[~is_wrong]):.3f}, "
                  f"95th percentile {np.percentile(scores[~is_wrong], 95):.3f}; wrongly filed median {np.median(scores[is_wrong]):.3f}, "
                  f"lowest {scores[is_wrong].min():.3f}")
            print(f"  speed on one core: {len(files) / cpu:.2f} files/s ({len(files) * seconds / cpu:.1f} s of audio per s); "
                  f"audio-stats on the same files {len(files) / baseline:.1f} files/s: {cpu / baseline:.1f}x its cost")


def _separation(truth: np.ndarray, vectors: np.ndarray) -> None:
    """Can the encoder tell these voices apart at all: each file's distance to its own voice's other files (leave
    one out, true labels) against its distance to the nearest other voice's centroid, and the closest centroids."""
    sums = np.stack([vectors[truth == v].sum(axis=0) for v in range(truth.max() + 1)])
    own = np.array([1 - x @ (sums[t] - x) / np.linalg.norm(sums[t] - x) for t, x in zip(truth, vectors, strict=True)])
    centroids = sums / np.linalg.norm(sums, axis=1, keepdims=True)
    to_centroids = 1 - vectors @ centroids.T
    to_centroids[np.arange(len(truth)), truth] = np.inf
    other = to_centroids.min(axis=1)
    apart = 1 - centroids @ centroids.T
    np.fill_diagonal(apart, np.inf)
    a, b = np.unravel_index(np.argmin(apart), apart.shape)
    print(f"  separation (true labels): a file to its own voice's other files median {np.median(own):.3f} (95th percentile "
          f"{np.percentile(own, 95):.3f}); to the nearest other voice median {np.median(other):.3f} (5th percentile "
          f"{np.percentile(other, 5):.3f}); files nearer another voice than their own {int((other < own).sum())} of {len(own)}; "
          f"closest two voices' centroids {apart.min():.3f} apart (voices {a} and {b}), median {np.median(apart[np.isfinite(apart)]):.3f}")


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



def _owner(db) -> str:  # a core.store.db.Database
    """The id of the one account that owns a benchmark's sounds (created here)."""
    from core.store.models import User

    with db.write() as session:
        owner = User(user_name="bench", user_type="dataset", password_hash="!", is_admin=True)
        session.add(owner)
        session.flush()
        return owner.id

def voice_search(sizes: tuple[int, ...], database_url: str | None) -> None:
    """At each size, one dataset of that many sounds with random voice embeddings (a speaker every 50 sounds):
    "sounds like this" (core.jobs.voices.nearest, exact) and speaker-check's dataset-level step (every sound
    scored), each against reading the same embeddings without scoring them, in the same run."""
    from sqlalchemy import insert, select

    from bench.common import best_of, scratch_database
    from core.jobs import voices
    from core.jobs.analyzers.speaker_check import _check_dataset
    from core.store.ids import new_id
    from core.store.models import SoundField, VoiceEmbedding

    where = "PostgreSQL" if database_url else "SQLite"
    for size in sizes:
        with scratch_database(database_url, f"voices{size}") as db:
            owner_id = _owner(db)
            rng = np.random.default_rng(size)
            first = ""
            for low in range(0, size, 20_000):
                ids = [new_id() for _ in range(low, min(size, low + 20_000))]
                first = first or ids[0]
                vectors = rng.standard_normal((len(ids), 256)).astype(np.float32)
                vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
                with db.write() as session:
                    session.execute(insert(Sound), [{"id": i, "created_by": owner_id, "dataset": "voices", "path": f"{n + low:07d}.wav",
                                                     "title": "x", "duration_seconds": 4.0} for n, i in enumerate(ids)])
                    session.execute(insert(SoundField), [{"sound_id": i, "name": "speaker_id", "value": f"id{(n + low) // 50:05d}"}
                                                         for n, i in enumerate(ids)])
                    voices.keep(session, [(i, voices.as_bytes(v)) for i, v in zip(ids, vectors, strict=True)])
            with db.read() as session:
                read = 1000 * best_of(3, lambda session=session: sum(len(rows) for rows in voices.scan(session, voices.of_dataset("voices"))))
                cold = 1000 * best_of(3, lambda session=session, first=first: (voices.MATRICES.clear(), voices.nearest(session, first, 10)))
                near = 1000 * best_of(5, lambda session=session, first=first: voices.nearest(session, first, 10))
                stamp = 1000 * best_of(5, lambda session=session: voices.MATRICES.get(session, "voices"))
                done = select(VoiceEmbedding.sound_id)
                params = {"speaker_column": "speaker_id", "session_column": "", "threshold": 0.0}
                check = 1000 * best_of(1, lambda session=session, done=done, params=params: sum(1 for _ in _check_dataset(session, "voices", done, params)))
        print(f"voice search on {where}, {size:,} sounds in one dataset: sounds like this {near:.1f} ms with the dataset's "
              f"matrix in memory (of which the stamp query {stamp:.1f} ms), {cold:.0f} ms on a first call (reading the matrix, best of 3); "
              f"reading the embeddings row by row (the baseline) {read:.0f} ms: {read / near:.0f}x the search; "
              f"speaker-check's last step over all {check / 1000:.2f} s "
              f"({check / read:.1f}x one read: it reads them three times)")


def _copy_of(kind: str, samples: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, int, float, tuple[str, str]]:
    """One copy of a recording at RATE: (samples, rate, where it starts in the original, (format, subtype))."""
    from scipy.signal import resample_poly

    wav = ("WAV", "PCM_16")
    if kind == "mp3":
        return samples, RATE, 0.0, ("MP3", "MPEG_LAYER_III")
    if kind == "ogg":
        return samples, RATE, 0.0, ("OGG", "VORBIS")
    if kind == "resampled":
        return resample_poly(samples, 441, 320).astype(np.float32), 22_050, 0.0, wav
    if kind == "8k":
        return resample_poly(samples, 1, 2).astype(np.float32), 8_000, 0.0, wav
    if kind == "gain":
        return np.clip(samples * 10 ** (rng.choice([-12.0, -6.0, 6.0]) / 20), -1, 1).astype(np.float32), RATE, 0.0, wav
    length = rng.uniform(3.0, 5.0)  # an excerpt of 3 to 5 s, as WAV or (excerpt-mp3) as MP3
    start = rng.uniform(0, len(samples) / RATE - length)
    piece = samples[int(start * RATE):int((start + length) * RATE)]
    return piece, RATE, start, ("MP3", "MPEG_LAYER_III") if kind == "excerpt-mp3" else wav


COPY_KINDS = ("mp3", "ogg", "resampled", "8k", "gain", "excerpt", "excerpt-mp3")


def duplicates(recordings: int, seconds: float) -> None:
    """Copies by re-encoding, resampling, gain and excerpting: ``recordings`` originals (tests/speechlike.py, a
    different voice each), two copies of each of two kinds (the kinds taken in turn), and as many unrelated
    recordings as originals. Every file goes through the analyzer's three steps as a job runs them (run, keep in a
    scratch SQLite database, then the dataset-level grouping); a predicted pair is two files in one
    duplicates.group, a true pair two files made from one original. Figures: precision and recall of pairs, the
    excerpts' offset error, files per second on one core (run alone, and run + keep) against decoding the same files."""
    from sqlalchemy import insert, select

    from bench.common import scratch_database
    from core.jobs.analyzers import duplicates as dup
    from core.store.ids import new_id
    from core.store.models import User

    rng = np.random.default_rng(7)
    with tempfile.TemporaryDirectory() as folder, scratch_database(None, "duplicates") as db:
        storage, files, family, starts, origin = LocalStorage(Path(folder)), [], [], [], []
        for n in range(recordings):
            original = speechlike.recording(5000 + n, "clean", seconds=seconds, rate=RATE).samples
            made = [(original, RATE, 0.0, ("WAV", "PCM_16"))]
            made += [_copy_of(COPY_KINDS[(2 * n + k) % len(COPY_KINDS)], original, rng) for k in range(2)]
            for k, (samples, rate, start, (fmt, subtype)) in enumerate(made):
                path = Path(folder) / f"o{n}_{k}.{fmt.lower()}"
                sf.write(path, samples, rate, format=fmt, subtype=subtype)
                origin.append(len(files) - k)
                files.append(path)
                family.append(n)
                starts.append(start)
            path = Path(folder) / f"u{n}.wav"
            sf.write(path, speechlike.recording(9000 + n, "clean", seconds=seconds, rate=RATE).samples, RATE, subtype="PCM_16")
            origin.append(len(files))
            files.append(path)
            family.append(-1 - n)  # unrelated: a family of one
            starts.append(0.0)
        started = time.process_time()
        for path in files:
            sf.read(path, dtype="float32")
        decode = time.process_time() - started
        outputs, run_cpu = _run_outputs("duplicates", storage, files)
        ids = [new_id() for _ in files]  # in file order: each original is earlier than its copies
        with db.write() as session:
            owner = User(user_name="bench", user_type="dataset", password_hash="!", is_admin=True)
            session.add(owner)
            session.flush()
            session.execute(insert(Sound), [{"id": i, "created_by": owner.id, "dataset": "dup", "path": p.name, "title": p.name,
                                             "duration_seconds": seconds} for i, p in zip(ids, files, strict=True)])
        params = dup.ANALYZER.check({})
        started = time.process_time()
        with db.write() as session:
            for sound_id, output in zip(ids, outputs, strict=True):
                dup.keep(session, [(sound_id, output)], params)
        keep_cpu = time.process_time() - started
        with db.read() as session:
            found = dict(dup.groups(session, select(Sound.id), params))
        total = sum(sf.info(p).duration for p in files)
    truth = {(a, b) for a, b in itertools.combinations(range(len(files)), 2) if family[a] == family[b]}
    predicted = {(a, b) for a, b in itertools.combinations(range(len(files)), 2)
                 if ids[a] in found and ids[b] in found and found[ids[a]]["duplicates.group"] == found[ids[b]]["duplicates.group"]}
    hits = len(truth & predicted)
    errors = [abs(float(found[ids[n]]["duplicates.offset_seconds"]) - starts[n]) for n in range(len(files))
              if starts[n] > 0 and ids[n] in found and found[ids[n]].get("duplicates.of") == ids[origin[n]]]
    missed = sorted({files[n].name for pair in truth - predicted for n in pair})
    print(f"duplicates: {recordings} originals of {seconds:g} s, {2 * recordings} copies ({', '.join(COPY_KINDS)} in turn), "
          f"{recordings} unrelated: pairs precision {hits / max(len(predicted), 1):.3f}, recall {hits / max(len(truth), 1):.3f} "
          f"({hits} of {len(truth)} true pairs, {len(predicted) - hits} false)" + (f"; missed {', '.join(missed[:6])}" if missed else ""))
    print(f"duplicates: excerpts' offsets within {max(errors, default=0):.3f} s of the truth (mean {np.mean(errors or [0]):.3f} s, "
          f"{len(errors)} excerpts)")
    print(f"duplicates: {len(files) / run_cpu:.1f} files/s on one core fingerprinting ({total / run_cpu:.0f}x real time), "
          f"{len(files) / (run_cpu + keep_cpu):.1f} files/s with the lookups and inserts (keep {1000 * keep_cpu / len(files):.1f} ms a file); "
          f"decoding alone {len(files) / decode:.0f} files/s ({run_cpu / decode:.1f}x)")


def _synthetic_hashes(pool: list, shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Hashes drawn part by part (first bin, bin difference, frame difference) from the frequencies of each part in
    ``pool``'s real fingerprints: the index gets real skew (low bins, short pairs) over the whole hash space."""
    hashes = np.concatenate([p.hashes for p in pool]).astype(np.int64)
    drawn = np.zeros(shape, np.int64)
    for shift, mask in ((12, 0xFF), (6, 0x3F), (0, 0x3F)):
        values, counts = np.unique((hashes >> shift) & mask, return_counts=True)
        drawn |= rng.choice(values, size=shape, p=counts / counts.sum()) << shift
    return drawn


def _fill_landmarks(db, prints: np.ndarray, hashes: np.ndarray, frames: np.ndarray) -> None:
    """Landmark rows in bulk (each (print, hash, frame) once): COPY on PostgreSQL, executemany on SQLite."""
    key = np.unique(prints.astype(np.int64) << 36 | hashes << 16 | frames)
    rows = np.stack([key >> 36, (key >> 16) & 0xFFFFF, key & 0xFFFF], axis=1)
    with db.write() as session:
        raw = session.connection().connection.dbapi_connection
        cursor = raw.cursor()
        if db.is_sqlite:
            cursor.executemany("INSERT INTO fingerprint_hashes (fingerprint_id, hash, frame) VALUES (?, ?, ?)", rows.tolist())
        else:
            with cursor.copy("COPY fingerprint_hashes (fingerprint_id, hash, frame) FROM STDIN") as copy:
                copy.write("".join(f"{a}\t{b}\t{c}\n" for a, b, c in rows.tolist()))


def fingerprint_index(sizes: tuple[int, ...], database_url: str | None, seconds: float = 10.0) -> None:
    """The fingerprint index at each size: that many sounds' fingerprints, synthetic (computing 100,000 real ones
    would take about an hour here): each has the landmark count of a real ``seconds`` s recording, its hashes drawn
    from the frequencies of each hash part in 40 real fingerprints (_synthetic_hashes) at random frames, inserted in
    bulk. One real recording is then fingerprinted and kept as the analyzer keeps it, and a copy of it (its MP3)
    looked up: the lookup's time (best of 5) against reading every landmark once (SUM over the table: the least
    that comparing with every file costs), and the index's size."""
    import io

    from sqlalchemy import func, insert, select, text

    from bench.common import best_of, scratch_database
    from core.audio import fingerprint as fp
    from core.jobs.analyzers import duplicates as dup
    from core.store.ids import new_id
    from core.store.models import AudioFingerprint, FingerprintHash

    pool = [fp.fingerprint(speechlike.recording(7000 + n, "clean", seconds=seconds, rate=RATE).samples, RATE) for n in range(40)]
    per_sound = int(np.mean([len(p) for p in pool]))
    probe = speechlike.recording(6999, "clean", seconds=seconds, rate=RATE).samples
    buffer = io.BytesIO()
    sf.write(buffer, probe, RATE, format="MP3", subtype="MPEG_LAYER_III")
    copy, copy_rate = sf.read(io.BytesIO(buffer.getvalue()), dtype="float32")
    query = fp.query_landmarks(copy, copy_rate)
    where = "PostgreSQL" if database_url else "SQLite"
    rng = np.random.default_rng(1)
    for size in sizes:
        with scratch_database(database_url, f"fingerprints{size}") as db:
            owner_id = _owner(db)
            started = time.perf_counter()
            with db.write() as session:  # the hash index built once after the bulk fill, not row by row
                session.execute(text("DROP INDEX ix_fingerprint_hashes_hash"))
            for low in range(0, size, 10_000):
                ids = [new_id() for _ in range(low, min(size, low + 10_000))]
                with db.write() as session:
                    session.execute(insert(Sound), [{"id": i, "created_by": owner_id, "dataset": "prints", "path": f"{low + n:07d}.wav",
                                                     "title": "x", "duration_seconds": seconds} for n, i in enumerate(ids)])
                    prints = session.scalars(insert(AudioFingerprint).returning(AudioFingerprint.id, sort_by_parameter_order=True),
                                             [{"sound_id": i, "version": fp.VERSION, "landmarks": per_sound} for i in ids]).all()
                shape = (len(ids), per_sound)
                _fill_landmarks(db, np.repeat(np.array(prints, np.int64), per_sound).reshape(shape), _synthetic_hashes(pool, shape, rng),
                                rng.integers(0, int(seconds / fp.FRAME_SECONDS), size=shape))
            with db.write() as session:
                session.execute(text("CREATE INDEX ix_fingerprint_hashes_hash ON fingerprint_hashes (hash, fingerprint_id, frame)"))
            filled = time.perf_counter() - started
            probe_id = new_id()
            with db.write() as session:
                session.execute(insert(Sound).values(id=probe_id, created_by=owner_id, dataset="prints", path="probe.wav", title="probe",
                                                     duration_seconds=seconds))
                dup.keep(session, [(probe_id, dup.Output(data=dup.Prints(fp.fingerprint(probe, RATE), query)))], {})
            with db.write() as session:
                session.execute(text("ANALYZE fingerprint_hashes" if database_url else "ANALYZE"))
            with db.read() as session:
                if database_url:
                    index_mb = session.scalar(text("SELECT pg_relation_size('ix_fingerprint_hashes_hash')")) / 1e6
                    table_mb = session.scalar(text("SELECT pg_total_relation_size('fingerprint_hashes')")) / 1e6
                else:
                    index_mb = session.scalar(text("SELECT SUM(pgsize) FROM dbstat WHERE name = 'ix_fingerprint_hashes_hash'")) / 1e6
                    table_mb = session.scalar(text("SELECT SUM(pgsize) FROM dbstat WHERE name IN (SELECT name FROM sqlite_master "
                                                   "WHERE tbl_name = 'fingerprint_hashes')")) / 1e6
                rows = session.scalar(select(func.count()).select_from(FingerprintHash))
                found = dup.lookup(session, query)
                best = max(found.items(), key=lambda item: item[1][1])
                probe_print = session.scalar(select(AudioFingerprint.id).where(AudioFingerprint.sound_id == probe_id))
                lookup_ms = 1000 * best_of(5, lambda session=session: dup.lookup(session, query))
                every = dup.lookup(session, query, budget=10**9)  # every row of every hash: the lookup before issue 29's item 4
                every_ms = 1000 * best_of(5, lambda session=session: dup.lookup(session, query, budget=10**9))
                scan_ms = 1000 * best_of(3, lambda session=session: session.scalar(select(func.sum(FingerprintHash.hash))))
        print(f"fingerprint index on {where}, {size:,} sounds of {seconds:g} s ({rows:,} landmarks, {per_sound} a sound, filled in "
              f"{filled:.0f} s): hash index {index_mb:.0f} MB, landmarks with both indexes {table_mb:.0f} MB; one lookup "
              f"({len(query)} landmarks of an MP3 copy) {lookup_ms:.1f} ms, found its original: {best[0] == probe_print} "
              f"({best[1][1]} agreeing, {len(found) - 1} other fingerprints sharing a hash at most "
              f"{max((v for k, (_, v) in found.items() if k != probe_print), default=0)} agreeing); reading every row of "
              f"every hash of the query {every_ms:.1f} ms ({every[probe_print][1]} agreeing); reading every landmark once "
              f"{scan_ms:.0f} ms ({scan_ms / lookup_ms:.1f}x the lookup)")

VOICE_SIZES = (10_000, 100_000)
INDEX_SIZES = (10_000, 100_000)
BENCHES = {"speech-quality": speech_quality, "speaker-check": speaker_check,
           # sizes, not recordings: --database-url (PostgreSQL) or SQLite
           "voice-search": lambda recordings, seconds, database_url=None: voice_search(VOICE_SIZES, database_url),
           "duplicates": duplicates,
           "fingerprint-index": lambda recordings, seconds, database_url=None: fingerprint_index(INDEX_SIZES, database_url)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", choices=sorted(BENCHES), action="append", help="run only these (default: all)")
    parser.add_argument("--recordings", type=int, default=6, help="voices (recordings) per evaluation set")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each recording")
    parser.add_argument("--database-url", help="voice-search on this PostgreSQL server (default: a SQLite file)")
    args = parser.parse_args()
    for name in args.only or BENCHES:
        if name in ("voice-search", "fingerprint-index"):
            BENCHES[name](args.recordings, args.seconds, args.database_url)
        else:
            BENCHES[name](args.recordings, args.seconds)


if __name__ == "__main__":
    main()
