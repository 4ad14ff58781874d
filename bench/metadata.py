"""Memory of reading a big metadata table and joining it to the files of an import, as a multiple of the table's
size: this tree against a baseline tree (by default f4fee27, the code before the join stopped keeping Python
objects per file) in the same run, on a generated VoxCeleb-like CSV of each size asked for.

Each figure is the peak resident memory a fresh process gains (its peak reset through /proc/self/clear_refs) while
it reads the table, plans its join to the files (1,000 of them, or every file the table names) and looks up each
file's row as the import does. "table" is measured after the process has read and joined a 1,000-row table once,
so pandas and Arrow are loaded and their pools and threads set up: what the table itself costs. "fresh process"
also counts loading pandas and Arrow (~100 MB, about half of it shared library code), paid once per process.
The median of --repeat runs is shown. Linux only (/proc).

    python bench/metadata.py                              # 100,000 and 1,000,000 rows, ~10 min on 2 cores
    python bench/metadata.py --rows 100000 --repeat 1     # quicker
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from common import baseline_tree  # noqa: E402

BASELINE = "f4fee27"

MEASURE = """
import json, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from core.catalogue.metadata import plan_join, read_table
table_path, warm_path, files, warm = Path(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4]), sys.argv[5] == "table"

def status(field):
    with open("/proc/self/status") as lines:
        return next(int(line.split()[1]) for line in lines if line.startswith(field + ":")) / 1024

with table_path.open() as lines:  # the import's files: every path the table names, or an even sample of them
    next(lines)
    paths = [line.split(",", 1)[0] for line in lines]
paths = paths[::max(1, len(paths) // files)][:files]
if warm:
    join = plan_join(read_table(warm_path, warm_path.name), paths[:1000], warm_path.name)
    [join.row_for(p) for p in paths[:1000]]
    del join
with open("/proc/self/clear_refs", "w") as refs:
    refs.write("5")  # the peak (VmHWM) starts again from the current RSS
before = status("VmRSS")
started = time.perf_counter()
join = plan_join(read_table(table_path, table_path.name), paths, table_path.name)
kept = sum(1 for p in paths if join.row_for(p))  # each file's row, as the import asks for it
print(json.dumps({"peak_mb": status("VmHWM") - before, "seconds": time.perf_counter() - started, "kept": kept}))
"""

NATIONALITIES = ["USA", "UK", "India", "Canada", "Germany", "Australia", "France", "Ireland", "Mexico", "Italy"]
VIDEO_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def make_table(path: Path, rows: int, seed: int = 0) -> None:
    """A VoxCeleb2-like table: ``idNNNNN/<11-character video id>/NNNNN.wav``, the speaker, the video, gender,
    nationality and duration; 6,000 speakers of 5-40 videos of 1-6 utterances (64 bytes a row)."""
    rng = random.Random(seed)
    with path.open("w") as out:
        out.write("path,speaker_id,video_id,gender,nationality,duration\n")
        written, speaker = 0, 0
        while written < rows:
            spk, gender, country = f"id{speaker % 6000:05d}", "mf"[speaker % 2], NATIONALITIES[speaker % len(NATIONALITIES)]
            for _ in range(rng.randint(5, 40)):
                video = "".join(rng.choice(VIDEO_LETTERS) for _ in range(11))
                for clip in range(1, rng.randint(2, 7)):
                    if written == rows:
                        return
                    out.write(f"{spk}/{video}/{clip:05d}.wav,{spk},{video},{gender},{country},{rng.uniform(4, 20):.2f}\n")
                    written += 1
            speaker += 1


def measure(tree: Path, table: Path, warm: Path, files: int, mode: str, repeat: int) -> dict:
    runs = [json.loads(subprocess.run([sys.executable, "-c", MEASURE, str(tree), str(table), str(warm), str(files), mode],
                                      check=True, capture_output=True, text=True).stdout) for _ in range(repeat)]
    return {"peak_mb": statistics.median(r["peak_mb"] for r in runs), "seconds": statistics.median(r["seconds"] for r in runs),
            "kept": runs[0]["kept"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--baseline", default=BASELINE, help="a commit (exported with git archive) or a folder; '' for none")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch, baseline_tree(args.baseline, Path(scratch)) as baseline:
        trees = [("now", ROOT)] + ([(f"baseline {args.baseline}", baseline)] if baseline else [])
        warm = Path(scratch) / "warm-up.csv"
        make_table(warm, 1_000)
        print("| rows | table | files joined | measured | " + " | ".join(name for name, _ in trees) + " |")
        print("|---:|---:|---:|---|" + "---:|" * len(trees))
        for rows in args.rows:
            table = Path(scratch) / f"metadata-{rows}.csv"
            make_table(table, rows)
            size_mb = table.stat().st_size / 2**20
            for files in (1_000, rows):
                for mode in ("table", "fresh process"):
                    cells = []
                    for _, tree in trees:
                        got = measure(tree, table, warm, files, mode, args.repeat)
                        assert got["kept"] == files, got
                        cells.append(f"{got['peak_mb']:.0f} MB = **{got['peak_mb'] / size_mb:.1f}x**, {got['seconds']:.1f} s")
                    print(f"| {rows:,} | {size_mb:.1f} MB | {files:,} | {mode} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
