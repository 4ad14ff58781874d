"""Memory of reading and joining a big metadata table: pandas (Earmark) vs the csv module into a dict per row
(how Earmark read tables before), in fresh processes, on a generated 1,000,000-row CSV.

Each figure is the peak resident memory a process gains while reading the table and planning its join to the
files of an import (1,000 files, and every file the table names) and looking up each file's row, as a
multiple of the table's size.

    python bench/metadata.py [--rows 1000000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

MEASURE = """
import csv, json, resource, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from core.catalogue.metadata import plan_join, read_table
table_path, way, files = Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])
paths = [f"id{10000 + i % 5000}/v{i % 97:02d}/{i:07d}.wav" for i in range(files)]
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.perf_counter()
if way == "pandas":
    join = plan_join(read_table(table_path, table_path.name), paths, table_path.name)
    kept = sum(1 for p in paths if join.row_for(p))  # each file's row, as the import asks for it
else:  # the csv module: every row a dict of str, then keyed by path
    with open(table_path, newline="", encoding="utf-8-sig") as f:
        rows = [{k.strip(): (v or "").strip() for k, v in row.items()} for row in csv.DictReader(f)]
    keyed = {row["path"]: row for row in rows}
    kept = sum(1 for p in paths if keyed.get(p))
print(json.dumps({"peak_mb": (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024,
                  "seconds": time.perf_counter() - started, "kept": kept}))
"""


def make_table(path: Path, rows: int) -> None:
    with path.open("w") as out:
        out.write("path,speaker,gender,set\n")
        for i in range(rows):
            out.write(f"id{10000 + i % 5000}/v{i % 97:02d}/{i:07d}.wav,id{10000 + i % 5000},{'mf'[i % 2]},{'dev' if i % 3 else 'test'}\n")


def measure(table: Path, way: str, files: int) -> dict:
    done = subprocess.run([sys.executable, "-c", MEASURE, str(ROOT), str(table), way, str(files)],
                          check=True, capture_output=True, text=True)
    return json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        table = Path(scratch) / "metadata.csv"
        make_table(table, args.rows)
        size_mb = table.stat().st_size / 2**20
        print(f"table: {args.rows:,} rows, {size_mb:.1f} MB")
        for files in (1_000, args.rows):
            for way in ("csv module", "pandas"):
                figures = measure(table, "pandas" if way == "pandas" else "csv", files)
                print(f"{way:>10}, joined to {files:>9,} files: peak +{figures['peak_mb']:6.0f} MB = "
                      f"{figures['peak_mb'] / size_mb:4.1f}x the table, {figures['seconds']:5.2f} s, {figures['kept']:,} rows kept")


if __name__ == "__main__":
    main()
