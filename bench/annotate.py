"""The Annotate page on hour-long files: peaks at ingest, waveform figures for any window, memory while browsing.

Makes a 1-hour and a 10-second 16 kHz mono WAV in a temporary local storage, then measures in the same run:
  * baseline: reading the file's samples once (int16, in blocks), against computing the peaks pyramid;
  * the server time to prepare the waveform figure (read the window + build the plotly figure) for windows from
    1 second to the whole file, at several positions, and the number of plotted points;
  * the memory allocated while browsing 40 windows (tracemalloc peak), for both files.
Run: ``python bench/annotate.py [--minutes 60]``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import tracemalloc
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import best_of  # noqa: E402

from core import peaks  # noqa: E402
from core.audio.waveform import View, overview_figure, waveform_figure  # noqa: E402
from core.store.storage import LocalStorage  # noqa: E402

RATE = 16_000


def make_wav(path: Path, seconds: float) -> None:
    rng = np.random.default_rng(3)
    with sf.SoundFile(path, "w", RATE, 1, subtype="PCM_16") as f:
        for start in range(0, int(seconds * RATE), 60 * RATE):
            n = min(60 * RATE, int(seconds * RATE) - start)
            t = (start + np.arange(n)) / RATE
            f.write((0.3 * np.sin(2 * np.pi * 220 * t) * (0.5 + 0.5 * np.sin(t / 7)) + 0.02 * rng.standard_normal(n)).astype(np.float32))


def read_once(path: Path) -> None:
    with sf.SoundFile(path) as f:
        for _ in f.blocks(blocksize=peaks.READ_FRAMES, dtype="int16"):
            pass


def figure_for(storage, view: View, duration: float):
    line = peaks.envelope(storage, "a.wav", "p.bin", view.start, view.end)
    waveform_figure(line, view)
    return line


def measure(seconds: float, label: str, repeats: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make_wav(root / "a.wav", seconds)
        storage = LocalStorage(root)
        read_s = best_of(repeats, lambda: read_once(root / "a.wav"))
        pyramid: list[bytes] = []
        peaks_s = best_of(repeats, lambda: pyramid.append(peaks.compute((root / "a.wav").open("rb"))))
        storage.put("p.bin", pyramid[-1])
        size_mb = (root / "a.wav").stat().st_size / 1e6
        print(f"{label}: file {size_mb:.1f} MB, read samples once {read_s * 1000:.0f} ms, peaks pyramid {peaks_s * 1000:.0f} ms "
              f"({peaks_s / read_s:.2f}x the read; pyramid {len(pyramid[-1]) / 1e6:.2f} MB)")
        whole = peaks.envelope(storage, "a.wav", "p.bin", 0, seconds, max_points=1200)
        worst, worst_points = 0.0, 0
        for length in sorted({min(x, seconds) for x in (1, 10, 60, 600, seconds)}):
            for where in (0.0, 0.37, 1.0):
                view = View.clamp(where * (seconds - length), length, seconds)
                elapsed = best_of(repeats, lambda view=view: figure_for(storage, view, seconds))
                line = figure_for(storage, view, seconds)
                worst, worst_points = max(worst, elapsed), max(worst_points, line.points)
            print(f"  window {length:>6g} s: figure prepared in {elapsed * 1000:5.1f} ms, {line.points:,} points ({line.source})")
        overview = best_of(repeats, lambda: overview_figure(whole, View(0, 1), seconds))
        print(f"  slowest window {worst * 1000:.1f} ms, most points {worst_points:,}; overview figure {overview * 1000:.1f} ms")
        rng = np.random.default_rng(0)
        tracemalloc.start()
        for _ in range(40):
            length = float(rng.choice([1, 10, 60, 600, seconds]))
            figure_for(storage, View.clamp(rng.random() * seconds, min(length, seconds), seconds), seconds)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(f"  memory allocated while browsing 40 windows: peak {peak / 1e6:.1f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=60)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    measure(10.0, "10-second file", args.repeats)
    measure(args.minutes * 60, f"{args.minutes:g}-minute file", args.repeats)


if __name__ == "__main__":
    main()
