"""Subset export: flat memory on a large subset, and speed on S3 with a real region's latency.

Part 1 (memory): imports 200 WAV files of ~10 MB (2 GB) into local storage, then runs
``python -m core export`` for 20 and for 200 files in a child process and reports each one's peak RSS.
Part 2 (speed): starts ``bench/slow_s3.py`` (20 ms per request), imports 1,000 WAV files of ~250 KB,
then times in the same run: the seed's approach (list the bucket, sample, sequential ``get_object``, an
in-memory deflated ``ZipFile``) and Earmark's export of a 1,000-file subset.
Run: ``python bench/export.py [--big-files 200] [--files 1000]``.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import free_port  # noqa: E402
from import_s3 import BUCKET, SLOW_S3  # noqa: E402

CHILD_RSS = (
    "import resource, subprocess, sys, time; t = time.perf_counter();"
    "r = subprocess.run(sys.argv[1:], capture_output=True, text=True);"
    "print(time.perf_counter() - t); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss);"
    "print((r.stdout + r.stderr).strip().splitlines()[-1])"
)


def write_wavs(folder: Path, count: int, seconds: float) -> int:
    rng = np.random.default_rng(2)
    total = 0
    for i in range(count):
        path = folder / f"spk{i % 20:03d}" / f"{i:05d}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, (0.1 * rng.standard_normal(int(seconds * 16_000))).astype(np.float32), 16_000, subtype="PCM_16")
        total += path.stat().st_size
    return total


def run_measured(env: dict[str, str], *command: str) -> tuple[float, float, str]:
    out = subprocess.run([sys.executable, "-c", CHILD_RSS, sys.executable, "-m", "core", *command], cwd=ROOT, env=env,
                         capture_output=True, text=True, check=True)
    seconds, rss, line = out.stdout.strip().split("\n", 2)
    return float(seconds), int(rss) / 1024, line


def memory_part(big_files: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("EARMARK_")} | {
            "EARMARK_DATA_DIR": f"{tmp}/data", "PYTHONPATH": str(ROOT), "EARMARK_MAX_UPLOAD_MB": "64"}
        size = write_wavs(Path(tmp) / "big", big_files, 330.0)  # ~10.6 MB each
        print(f"{big_files} WAV files, {size / 1e9:.2f} GB in all")
        subprocess.run([sys.executable, "-m", "core", "import", f"{tmp}/big", "--dataset", "big", "--quiet"], cwd=ROOT, env=env,
                       check=True, capture_output=True)
        for count in (big_files // 10, big_files):
            seconds, rss, line = run_measured(env, "export", "--out", f"{tmp}/out{count}.zip", "--count", str(count),
                                              "--seed", "1", "--dataset", "big", "--quiet")
            print(f"export of {count} files ({Path(f'{tmp}/out{count}.zip').stat().st_size / 1e9:.2f} GB ZIP): "
                  f"{seconds:.1f} s, peak RSS {rss:.0f} MB")
            os.unlink(f"{tmp}/out{count}.zip")


def seed_approach(client, count: int) -> bytes:
    """voxceleb_s3_api.md's download: list everything, sample, fetch one by one, deflate in memory."""
    keys = []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix="data/audio/"):
        keys += [item["Key"] for item in page.get("Contents", [])]
    chosen = random.Random(1).sample(keys, min(count, len(keys)))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for key in chosen:
            zf.writestr(key.split("/", 2)[2], client.get_object(Bucket=BUCKET, Key=key)["Body"].read())
    return buffer.getvalue()


def speed_part(files: int) -> None:
    import boto3
    from botocore.config import Config

    port = free_port()
    server = subprocess.Popen([sys.executable, str(SLOW_S3), "--port", str(port), "--latency-ms", "20"],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        while (line := server.stdout.readline()) and line.strip() != "ready":
            pass
        endpoint = f"http://127.0.0.1:{port}"
        creds = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_REGION": "us-east-1"}
        os.environ.update(creds)
        client = boto3.client("s3", endpoint_url=endpoint, config=Config(max_pool_connections=32))
        client.create_bucket(Bucket=BUCKET)
        with tempfile.TemporaryDirectory() as tmp:
            env = {k: v for k, v in os.environ.items() if not k.startswith("EARMARK_")} | creds | {
                "EARMARK_DATA_DIR": f"{tmp}/data", "EARMARK_STORAGE_URL": f"s3://{BUCKET}/data",
                "EARMARK_S3_ENDPOINT_URL": endpoint, "PYTHONPATH": str(ROOT)}
            write_wavs(Path(tmp) / "small", files, 8.0)
            subprocess.run([sys.executable, "-m", "core", "import", f"{tmp}/small", "--dataset", "vox", "--workers", "8", "--quiet"],
                           cwd=ROOT, env=env, check=True, capture_output=True)
            t0 = time.perf_counter()
            seed_zip = seed_approach(client, files)
            seed_s = time.perf_counter() - t0
            print(f"seed approach, {files} files: {seed_s:.1f} s ({len(seed_zip) / 1e6:.0f} MB ZIP built in memory)")
            seconds, rss, line = run_measured(env, "export", "--out", f"{tmp}/ours.zip", "--count", str(files), "--seed", "1",
                                              "--dataset", "vox", "--quiet")
            print(f"earmark export, {files} files: {seconds:.1f} s including Python start-up, peak RSS {rss:.0f} MB ({line})")
            print(f"speed-up: {seed_s / seconds:.1f}x")
    finally:
        server.terminate()
        server.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--big-files", type=int, default=200)
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--skip-memory", action="store_true")
    args = parser.parse_args()
    if not args.skip_memory:
        memory_part(args.big_files)
    speed_part(args.files)


if __name__ == "__main__":
    main()
