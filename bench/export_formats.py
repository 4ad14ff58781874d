"""Training-format export (issue 28) against the subset ZIP, in the same run: N short sounds written as Parquet
shards and as WebDataset shards, each run as a user runs it (``python -m core export ...`` in a child process,
its own peak RSS through bench/common.py's run_measured), and the ZIP export of the same N sounds (``--out``) as
the baseline. Targets: throughput within 1.5x of the ZIP's, peak memory under 300 MB.

    python bench/export_formats.py [--sizes 10000,100000] [--s3] [--latency-ms 20] [--runs zip,parquet,webdataset]
                                   [--baseline REF] [--seconds 0.25] [--distinct K]

``--baseline REF`` (a git ref or a folder) also writes the ZIP with that tree's code, first, on the same data: a
change to the ZIP export measured before and after in one run (issue 28: the ZIP written a window at a time).

Local: Earmark's storage is a folder, the shards go to a folder. With ``--s3``: storage and target are buckets of
bench/slow_s3.py (moto behind a proxy holding every new request 20 ms, a real region's latency): the ZIP is
written to a local file, the shards to ``s3://bench/out/...`` in parts. The catalogue is built directly (rows
inserted in bulk, as bench/scale.py does; every sound a distinct 0.25 s WAV of noise whose object is written to
storage first, with its real size and sha256), so the figures are the export's alone.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import os
import sys
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import REPOSITORY, baseline_tree, run_measured  # noqa: E402
from scale import s3_server  # noqa: E402
from sqlalchemy import insert  # noqa: E402

from core.accounts.users import UserService  # noqa: E402
from core.store import migrate  # noqa: E402
from core.store.db import Database  # noqa: E402
from core.store.ids import new_id  # noqa: E402
from core.store.models import Sound, SoundField, StoredFile, utcnow  # noqa: E402

RATE, SECONDS = 16_000, 0.25  # SECONDS: --seconds
DISTINCT = 0  # --distinct: objects written, the rest hard links to them (0: every object written)
DATASET = "bench"
# ``python -m core`` from another tree: its folder first on sys.path (``-m`` would put the working directory first)
_FROM_TREE = "import runpy, sys; sys.path.insert(0, sys.argv.pop(1)); runpy.run_module('core', run_name='__main__', alter_sys=True)"


def sound_bytes(i: int) -> bytes:
    out = io.BytesIO()
    samples = np.random.default_rng(i).normal(0, 0.1, int(SECONDS * RATE)).astype("float32")
    sf.write(out, samples, RATE, format="WAV", subtype="PCM_16")
    return out.getvalue()


def path_of(i: int) -> str:
    return f"spk{i // 50:05d}/{i:07d}.wav"


def put_objects(count: int, storage_dir: Path, s3: dict[str, str] | None) -> dict[int, tuple[int, str]]:
    """Every sound's object in storage; its size and sha256."""
    client = None
    if s3:
        import boto3
        from botocore.config import Config

        client = boto3.client("s3", endpoint_url=s3["EARMARK_S3_ENDPOINT_URL"], aws_access_key_id="bench",
                              aws_secret_access_key="bench", region_name="us-east-1", config=Config(max_pool_connections=32))

    def put(i: int) -> tuple[int, tuple[int, str]]:
        data = sound_bytes(i)
        key = f"audio/{DATASET}/{path_of(i)}"
        if client is not None:
            client.put_object(Bucket="bench", Key=f"data/{key}", Body=data)
        else:
            target = storage_dir / key
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        return i, (len(data), hashlib.sha256(data).hexdigest())

    def link(i: int) -> tuple[int, tuple[int, str]]:
        """A hard link to an object written already: the same content under its own key, no bytes written."""
        target = storage_dir / f"audio/{DATASET}/{path_of(i)}"
        target.parent.mkdir(parents=True, exist_ok=True)
        os.link(storage_dir / f"audio/{DATASET}/{path_of(i % distinct)}", target)
        return i, objects[i % distinct]

    distinct = count if s3 or not DISTINCT else min(count, DISTINCT)
    with ThreadPoolExecutor(32 if client else 4) as pool:
        objects = dict(pool.map(put, range(distinct)))
        objects |= dict(pool.map(link, range(distinct, count)))
    return objects


def build(db: Database, objects: dict[int, tuple[int, str]]) -> None:
    with db.write() as session:
        owner = UserService(session).create(None, "bench", "bench-password-1", "dataset", is_admin=True).id
    now = utcnow()
    for low in range(0, len(objects), 20_000):
        files, sounds, fields = [], [], []
        for i in range(low, min(len(objects), low + 20_000)):
            size, sha = objects[i]
            sound_id, file_id = new_id(), new_id()
            files.append({"id": file_id, "key": f"audio/{DATASET}/{path_of(i)}", "category": "audio", "purpose": "ingestion",
                          "original_filename": path_of(i).rsplit("/", 1)[1], "extra": {}, "size": size, "sha256": sha,
                          "created_by": owner, "date_created": now})
            sounds.append({"id": sound_id, "created_by": owner, "dataset": DATASET, "path": path_of(i), "title": f"{i:07d}",
                           "file_id": file_id,
                           "sha256": sha if not DISTINCT or i < DISTINCT else None,  # a link's: once per dataset "format": "WAV", "subtype": "PCM_16", "sample_rate": RATE,
                           "channels": 1, "frames": int(SECONDS * RATE), "duration_seconds": SECONDS, "date_created": now})
            fields.append({"sound_id": sound_id, "name": "speaker_id", "value": f"spk{i // 50:05d}"})
        with db.write() as session:
            for model, rows in ((StoredFile, files), (Sound, sounds), (SoundField, fields)):
                session.execute(insert(model), rows)


@contextlib.contextmanager
def storage_for(use_s3: bool, latency_ms: float) -> Iterator[dict[str, str] | None]:
    if not use_s3:
        yield None
        return
    with s3_server(latency_ms) as env:
        yield env


def measure(count: int, use_s3: bool, latency_ms: float, asked: list[str], tree: Path | None) -> None:
    with tempfile.TemporaryDirectory() as tmp, storage_for(use_s3, latency_ms) as s3:
        data = Path(tmp) / "data"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("EARMARK_", "AWS_"))} | {
            "EARMARK_DATA_DIR": str(data), "PYTHONPATH": str(REPOSITORY)} | (s3 or {})
        if s3:
            env["EARMARK_STORAGE_URL"] = "s3://bench/data"
        data.mkdir(parents=True)
        db = Database(f"sqlite:///{data}/earmark.db")
        migrate.upgrade(db)
        build(db, put_objects(count, data / "objects", s3))
        db.dispose()
        where = f"S3 at {latency_ms:g} ms" if s3 else "local"
        base = ["-m", "core", "export", "--count", str(count), "--seed", "1", "--dataset", DATASET, "--quiet"]
        runs: dict[str, list[str]] = {}
        if tree:
            runs["zip, baseline code"] = ["-c", _FROM_TREE, str(tree), *base[2:], "--out", f"{tmp}/baseline.zip"]
        runs["zip"] = [*base, "--out", f"{tmp}/subset.zip"]
        for fmt in (f for f in ("parquet", "webdataset") if f in asked):
            runs[fmt] = [*base, "--formats", fmt, "--to", f"s3://bench/out/{fmt}" if s3 else f"{tmp}/{fmt}"]
        seconds: dict[str, float] = {}
        for name, command in runs.items():
            wall, rss, _out, errors, status, cpu = run_measured([sys.executable, *command], env)
            if status:
                raise SystemExit(f"{name} failed: {errors[-2000:]}")
            seconds[name] = wall
            with contextlib.suppress(FileNotFoundError):
                os.remove(f"{tmp}/baseline.zip")  # the disk holds one ZIP at a time
            before = seconds.get("zip, baseline code")
            ratio = (f", {wall / seconds['zip']:.2f}x the ZIP's time" if name not in ("zip", "zip, baseline code")
                     else f", {wall / before:.2f}x the baseline code's time" if name == "zip" and before else "")
            print(f"{where}, {count:,} sounds, {name}: {wall:.1f} s ({count / wall:,.0f} sounds/s{ratio}), "
                  f"peak RSS {rss:.0f} MB, CPU {cpu:.1f} s", flush=True)


def main() -> None:
    global SECONDS, DISTINCT
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--s3", action="store_true")
    parser.add_argument("--latency-ms", type=float, default=20)
    parser.add_argument("--runs", default="zip,parquet,webdataset", help="which exports besides the ZIP")
    parser.add_argument("--baseline", help="a git ref or folder whose code writes the ZIP too (first), on the same data")
    parser.add_argument("--seconds", type=float, default=SECONDS, help="each sound's length")
    parser.add_argument("--distinct", type=int, default=0, help="local only: write this many objects, the rest as hard "
                                                                "links to them (a million sounds without 8 GB of noise)")
    args = parser.parse_args()
    SECONDS, DISTINCT = args.seconds, args.distinct
    with tempfile.TemporaryDirectory() as scratch, baseline_tree(args.baseline, Path(scratch)) as tree:
        for size in (int(s) for s in args.sizes.split(",")):
            measure(size, args.s3, args.latency_ms, args.runs.split(","), tree)


if __name__ == "__main__":
    main()
