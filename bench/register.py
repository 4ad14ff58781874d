"""Registering files in place (issue 25) at two sizes: ``python -m core import DIR --in-place`` (and
``s3://bucket/prefix`` with ``--s3``) of SMALL and LARGE small WAV files, as a user runs it, in a child process:
its time, files per second, the large/small time ratio (target: at most 11x for 10x the files), its peak RSS; then
the same command again (a re-run: every file already registered, nothing read), timed the same way. Beside them,
in the same run, ``python -m core import DIR`` (the copy) of the small set: the baseline a registration replaces.

    python bench/register.py [--database-url postgresql+psycopg://...] [--small 10000] [--large 100000] [--s3]

With ``--s3`` the files are put once into a bucket of ``bench/slow_s3.py`` (moto behind a proxy adding 20 ms to
every request) and registered from there; Earmark's own storage stays a local folder.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import run_measured, scratch_database  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RATE = 16_000


def clip(i: int) -> bytes:
    """0.3 s of 16 kHz noise, different for every i (so no two are the same file)."""
    samples = np.random.default_rng(i).normal(0, 0.1, int(0.3 * RATE)).astype("float32")
    out = io.BytesIO()
    sf.write(out, samples, RATE, format="WAV", subtype="PCM_16")
    return out.getvalue()


def key(i: int) -> str:
    return f"id{i // 50:05d}/v{i % 7}/{i:07d}.wav"  # VoxCeleb's layout: speaker/video/utterance


def write_folder(folder: Path, count: int) -> None:
    for i in range(count):
        path = folder / key(i)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(clip(i))


def run(command: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Wall time, the child's own peak RSS (MB) and its last line of output."""
    seconds, rss, out, errors, status, _cpu = run_measured([sys.executable, "-m", "core", *command], env)
    if status != 0:
        raise SystemExit(f"{' '.join(command)} failed: {errors[-2000:]}")
    return seconds, rss, (out.strip().splitlines() or [""])[-1]


def environment(database_url: str, data: Path, extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EARMARK_")}
    return env | {"EARMARK_DATABASE_URL": database_url, "EARMARK_DATA_DIR": str(data), "PYTHONPATH": str(ROOT)} | extra


def fill_bucket(endpoint: str, count: int) -> None:
    import boto3
    from botocore.config import Config

    client = boto3.client("s3", endpoint_url=endpoint, config=Config(max_pool_connections=32))
    client.create_bucket(Bucket="voices")
    with ThreadPoolExecutor(32) as pool:
        list(pool.map(lambda i: client.put_object(Bucket="voices", Key=f"vox/{key(i)}", Body=clip(i)), range(count)))


def measure(args: argparse.Namespace, count: int, work: Path) -> dict[str, float | str]:
    extra: dict[str, str] = {}
    source = str(work / f"files-{count}")
    with scratch_database(args.database_url, f"register_{count}") as db:
        if args.s3:
            from import_s3 import slow_s3

            with slow_s3(20) as (endpoint, env):
                fill_bucket(endpoint, count)
                extra = {k: env[k] for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION")}
                extra["EARMARK_SOURCE_S3_ENDPOINT_URL"] = endpoint
                return _runs(db.url, ["s3://voices/vox"], work / f"data-{count}", extra, count)
        write_folder(Path(source), count)
        return _runs(db.url, [source, "--in-place"], work / f"data-{count}", extra, count)


def _runs(database_url: str, source: list[str], data: Path, extra: dict[str, str], count: int) -> dict[str, float | str]:
    env = environment(database_url, data, extra)
    first, rss, line = run(["import", *source, "--dataset", "bench", "--quiet"], env)
    again, rss_again, line_again = run(["import", *source, "--dataset", "bench", "--quiet"], env)
    registered = re.search(r"([\d,]+) registered", line)
    if not registered or int(registered.group(1).replace(",", "")) != count:
        raise SystemExit(f"expected {count:,} registered: {line}")
    return {"files": count, "seconds": first, "rss_mb": rss, "again": again, "again_rss_mb": rss_again, "line": line_again}


def baseline(args: argparse.Namespace, count: int, work: Path) -> float:
    """``python -m core import`` (a copy into Earmark's storage) of the small set's files: its time."""
    folder = work / f"files-{count}"
    if not folder.exists():
        write_folder(folder, count)
    with scratch_database(args.database_url, f"copy_{count}") as db:
        seconds, _, _ = run(["import", str(folder), "--dataset", "bench", "--quiet"], environment(db.url, work / "copy", {}))
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url")
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--s3", action="store_true")
    args = parser.parse_args()
    where = "s3 (slow_s3, 20 ms)" if args.s3 else "local folder"
    print(f"register from a {where} on {'postgresql' if args.database_url else 'sqlite'}, {os.cpu_count()} cores; "
          f"load average {os.getloadavg()[0]:.1f}", flush=True)
    with tempfile.TemporaryDirectory(prefix="earmark-register-") as tmp:
        results = []
        for count in (args.small, args.large):
            result = measure(args, count, Path(tmp))
            results.append(result)
            print(f"register {count:>7,}: {result['seconds']:7.1f} s, {count / result['seconds']:5.0f} files/s, peak RSS "
                  f"{result['rss_mb']:.0f} MB; again (all known): {result['again']:.1f} s ({result['line']})", flush=True)
        ratio = results[1]["seconds"] / results[0]["seconds"]
        again = results[1]["again"] / results[0]["again"]
        print(f"{args.large:,} / {args.small:,} files: register {ratio:.2f}x (target <= {1.1 * args.large / args.small:.0f}x), "
              f"re-run {again:.2f}x", flush=True)
        if not args.s3:
            copy = baseline(args, args.small, Path(tmp))
            print(f"baseline, the same {args.small:,} files copied by `import` (no --in-place): {copy:.1f} s, "
                  f"{args.small / copy:.0f} files/s; registering took {results[0]['seconds'] / copy:.2f}x that", flush=True)


if __name__ == "__main__":
    main()
