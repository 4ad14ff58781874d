"""Analyzer throughput: jobs over 1,000 ten-second clips with 1 and with 2 worker processes.

Imports N generated 10-second 16 kHz clips (speech-like recordings, clean and noisy) into a local catalogue, then for each
analyzer submits a job and times `python -m core worker --once` processes (1, then 2) until it is done. Prints
files/s, seconds of audio per second, and the speed-up of 2 workers over 1 (measured in the same run).
Run: ``python bench/jobs.py [--files 1000]``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.accounts.users import UserService  # noqa: E402
from core.context import open_earmark  # noqa: E402
from core.jobs.queue import JobService  # noqa: E402
from core.store.config import load_settings  # noqa: E402
from core.store.models import Job  # noqa: E402
from tests.speechlike import CONDITIONS, recording  # noqa: E402

SECONDS = 10.0
RATE = 16_000


def clips(folder: Path, count: int) -> None:
    """Speech-like clips (core/speechlike.py), the noise conditions taken in turn."""
    for i in range(count):
        path = folder / f"spk{i % 25:03d}" / f"{i:05d}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        clip = recording(i, CONDITIONS[i % len(CONDITIONS)], seconds=SECONDS, rate=RATE)
        sf.write(path, clip.samples, RATE, subtype="PCM_16")


def timed_job(app, env: dict[str, str], analyzer: str, workers: int) -> float:
    with app.db.write() as session:
        users = UserService(session)
        job = JobService(session).submit(users.by_name("runner"), analyzer, params={})  # every sound
        job_id = job.id
    started = time.perf_counter()
    processes = [subprocess.Popen([sys.executable, "-m", "core", "worker", "--once"], cwd=ROOT, env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(workers)]
    for process in processes:
        process.wait()
    elapsed = time.perf_counter() - started
    with app.db.read() as session:
        job = session.get(Job, job_id)
        assert job.state == "completed" and job.done == job.total, (job.state, job.done, job.total)
    return elapsed


def timed_start(env: dict[str, str]) -> float:
    """A worker's fixed cost: start, find the queue empty, exit."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "core", "worker", "--once"], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--analyzers", default="audio-stats,speech-activity,onsets", help="comma-separated")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("EARMARK_")} | {
            "EARMARK_DATA_DIR": f"{tmp}/data", "PYTHONPATH": str(ROOT), "EARMARK_WORKERS": "0"}
        clips(Path(tmp) / "clips", args.files)
        subprocess.run([sys.executable, "-m", "core", "import", f"{tmp}/clips", "--dataset", "bench", "--quiet"],
                       cwd=ROOT, env=env, check=True, capture_output=True)
        app = open_earmark(load_settings({"EARMARK_DATA_DIR": f"{tmp}/data"}, env_file=None))
        with app.db.write() as session:
            users = UserService(session)
            users.create(None, "admin", "admin-password", "human", is_admin=True)
            users.create(users.by_name("admin"), "runner", "runner-password", "human")
        audio = args.files * SECONDS
        idle = min(timed_start(env) for _ in range(3))
        print(f"a worker's start-up and exit with an empty queue: {idle:.2f} s (included in the times below)")
        for analyzer in args.analyzers.split(","):
            one = timed_job(app, env, analyzer, 1)
            two = timed_job(app, env, analyzer, 2)
            print(f"{analyzer:15s} {args.files} clips of {SECONDS:g} s: 1 worker {one:6.1f} s ({args.files / one:6.1f} files/s, "
                  f"{audio / one:7.0f} s of audio/s); 2 workers {two:6.1f} s ({args.files / two:6.1f} files/s, "
                  f"{audio / two:7.0f} s of audio/s); speed-up {one / two:.2f}x, "
                  f"{(one - idle) / max(two - idle, 1e-9):.2f}x without the start-up")


if __name__ == "__main__":
    main()
