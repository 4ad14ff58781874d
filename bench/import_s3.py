"""Bulk import into S3 over HTTP with a real region's latency, against the seed's sequential upload loop.

Starts ``bench/slow_s3.py`` (moto behind a proxy adding 20 ms to every request), writes N small WAV
files (~250 KB each), then measures in the same run:
  * baseline: one ``put_object`` after another (the seed's one-file-at-a-time approach), in this process;
  * Earmark: ``python -m core import DIR --workers W`` into S3 + SQLite (hash, probe, dedupe, record),
    with its peak RSS, for N/4 and N files (memory must not grow with the number of files).
Run: ``python bench/import_s3.py [--files 1000] [--workers 8] [--latency-ms 20]``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import numpy as np
import soundfile as sf
from botocore.config import Config

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import free_port  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SLOW_S3 = Path(__file__).resolve().parent / "slow_s3.py"  # moto behind a latency proxy, ours
BUCKET = "bench"


def write_wavs(folder: Path, count: int) -> int:
    rng = np.random.default_rng(1)
    total = 0
    for i in range(count):
        path = folder / f"id{i % 50:05d}" / f"vid{i % 7}" / f"{i:05d}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, (0.1 * rng.standard_normal(8 * 16_000)).astype(np.float32), 16_000, subtype="PCM_16")
        total += path.stat().st_size
    return total


def baseline(client, folder: Path, prefix: str) -> float:
    started = time.perf_counter()
    for path in sorted(folder.rglob("*.wav")):
        client.put_object(Bucket=BUCKET, Key=f"{prefix}/{path.relative_to(folder).as_posix()}", Body=path.read_bytes())
    return time.perf_counter() - started


def earmark_import(env: dict[str, str], folder: Path, run: str, workers: int, max_files: int) -> tuple[float, float, str]:
    """Wall time, peak RSS (MB) of the import process, and its summary line."""
    env = env | {"EARMARK_DATA_DIR": str(folder.parent / f"data-{run}"), "EARMARK_STORAGE_URL": f"s3://{BUCKET}/{run}"}
    probe = (
        "import resource, subprocess, sys, time;"
        "t = time.perf_counter();"
        f"r = subprocess.run([sys.executable, '-m', 'core', 'import', {str(folder)!r}, '--dataset', 'bench',"
        f" '--workers', '{workers}', '--max-files', '{max_files}', '--quiet'], capture_output=True, text=True);"
        "print(time.perf_counter() - t); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss);"
        "print(r.stdout.strip() or r.stderr.strip())"
    )
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    seconds, rss_kb, summary = out.stdout.strip().split("\n", 2)
    return float(seconds), int(rss_kb) / 1024, summary


@contextlib.contextmanager
def slow_s3(latency_ms: float) -> Iterator[tuple[str, dict[str, str]]]:
    """A fresh S3 server (moto behind the latency proxy) with the bucket made: its endpoint and the environment
    for a child process. Each run gets its own, so none is slowed by the objects an earlier run left in moto's
    memory (moto answers more slowly as it holds more; a real region does not)."""
    port = free_port()
    server = subprocess.Popen([sys.executable, str(SLOW_S3), "--port", str(port), "--latency-ms", str(latency_ms)],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        while (line := server.stdout.readline()) and line.strip() != "ready":
            pass
        endpoint = f"http://127.0.0.1:{port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("EARMARK_")} | {
            "EARMARK_S3_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_REGION": "us-east-1", "PYTHONPATH": str(ROOT),
        }
        os.environ.update({k: env[k] for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION")})
        boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=BUCKET)
        yield endpoint, env
    finally:
        server.terminate()
        server.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=16, help="as the command line's default")
    parser.add_argument("--latency-ms", type=float, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "wavs"
        size = write_wavs(folder, args.files)
        print(f"{args.files} WAV files, {size / args.files / 1024:.0f} KB each, S3 latency {args.latency_ms:g} ms per request")
        with slow_s3(args.latency_ms) as (endpoint, _):
            client = boto3.client("s3", endpoint_url=endpoint, config=Config(max_pool_connections=32))
            base = baseline(client, folder, "baseline")
        print(f"baseline sequential put_object: {base:.1f} s ({args.files / base:.1f} files/s)")
        quarter = args.files // 4
        with slow_s3(args.latency_ms) as (_, env):
            small_s, small_rss, small_line = earmark_import(env, folder, "quarter", args.workers, quarter)
        print(f"earmark import, {quarter} files, --workers {args.workers}: {small_s:.1f} s, peak RSS {small_rss:.0f} MB ({small_line})")
        with slow_s3(args.latency_ms) as (_, env):
            full_s, full_rss, full_line = earmark_import(env, folder, "full", args.workers, args.files)
        print(f"earmark import, {args.files} files, --workers {args.workers}: {full_s:.1f} s, peak RSS {full_rss:.0f} MB ({full_line})")
        print(f"speed-up over the baseline: {base / full_s:.1f}x; peak RSS {args.files} vs {quarter} files: {full_rss / small_rss:.2f}x")


if __name__ == "__main__":
    main()
