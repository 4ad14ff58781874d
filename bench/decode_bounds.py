"""What the worst file the upload limit allows costs the server (issue 24): peak memory of a live app (`streamlit
run app.py`, SQLite) for the spectrogram and the audio part of a 512 MB 8-bit WAV at 8 MHz (67 s: a whole view
of it is inside the 120-s spectrogram limit and the 10-minute part limit), one request and several at once.

The worst file: memory per view used to grow with the samples in it (all read as float32, then their mean), and an
8-bit sample is the fewest bytes a sample can take, so 512 MB holds 512 M samples; at 8 MHz they all fit in one
view. Each figure is the server's peak RSS during the request(s) above its RSS just before (the kernel's peak is
reset first: /proc/PID/clear_refs), read from /proc/PID/status. Bodies are read and dropped as they arrive.

With --baseline REF (a commit, exported with `git archive`, or a folder) the same is measured on that tree's app
in the same run, each figure followed by the baseline's. The baseline's whole-file part and its four concurrent
spectrograms are left out unless --baseline-all: at several GB each they can exhaust a small machine.

    python bench/decode_bounds.py                               # ~2 min on 2 cores
    python bench/decode_bounds.py --baseline 6f60a7c            # and the old code path: ~4 min, peaks ~5 GB
    python bench/decode_bounds.py --mb 64 --baseline 6f60a7c    # a smaller file, quicker
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from common import baseline_tree, start_app  # noqa: E402

USER, PASSWORD = "bench", "bench-password-1"
RATE = 8_000_000


def write_worst(path: Path, megabytes: int) -> float:
    """An 8-bit mono WAV of exactly ``megabytes`` MiB at RATE: a 1 kHz tone under noise. Returns its seconds."""
    head = bytearray(_header())
    samples = megabytes * 1024 * 1024 - len(head)
    head[4:8] = (len(head) - 8 + samples).to_bytes(4, "little")
    head[-4:] = samples.to_bytes(4, "little")
    rng = np.random.default_rng(0)
    with path.open("wb") as out:
        out.write(head)
        for start in range(0, samples, 1 << 24):
            n = min(1 << 24, samples - start)
            t = (start + np.arange(n)) / RATE
            wave = 128 + 60 * np.sin(2 * np.pi * 1000 * t) + rng.integers(-20, 21, n)
            out.write(wave.astype(np.uint8).tobytes())
    return samples / RATE


def _header() -> bytes:
    import io

    out = io.BytesIO()
    sf.write(out, np.zeros(0, np.float32), RATE, format="WAV", subtype="PCM_U8")
    return out.getvalue()


def cli(tree: Path, env: dict[str, str], *args: str) -> str:
    return subprocess.run([sys.executable, "-m", "core", *args], cwd=tree, env=env, check=True, capture_output=True,
                          text=True).stdout


def prepare(tree: Path, data: Path, folder: Path) -> tuple[dict[str, str], str]:
    """A data folder for the app in ``tree``: the user, and the file imported by that tree's own code."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EARMARK_", "AWS_"))}
    env |= {"EARMARK_DATA_DIR": str(data), "EARMARK_WORKERS": "0", "EARMARK_PASSWORD": PASSWORD}
    cli(tree, env, "users", "add", USER, "--type", "dataset", "--admin")
    cli(tree, env, "import", str(folder), "--dataset", "worst", "--quiet")
    listed = json.loads(cli(tree, env, "sounds", "--dataset", "worst", "--json"))
    if not listed:
        raise SystemExit(f"the app in {tree} did not import the file")
    return env, listed[0]["id"]


class Server:
    """One app, its process, and the peak of its resident memory."""

    def __init__(self, process: subprocess.Popen, url: str) -> None:
        self.process, self.url = process, url
        self.auth = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()

    def _status(self, field: str) -> int:
        with open(f"/proc/{self.process.pid}/status") as status:
            line = next(line for line in status if line.startswith(field + ":"))
        return int(line.split()[1]) * 1024

    def get(self, path: str) -> tuple[int, int, str]:
        """Status, bytes of body (read a MB at a time and dropped) and the error sentence of an answer."""
        request = urllib.request.Request(self.url + path, headers={"Authorization": self.auth})
        try:
            with urllib.request.urlopen(request, timeout=600) as answer:
                size = 0
                while chunk := answer.read(1 << 20):
                    size += len(chunk)
                return answer.status, size, ""
        except urllib.error.HTTPError as exc:
            return exc.code, 0, json.loads(exc.read() or b"{}").get("error", "")

    def peak(self, paths: list[str]) -> tuple[int, float, list[tuple[int, int, str]]]:
        """The server's peak RSS above its RSS before, while ``paths`` are asked for all at once; wall seconds."""
        with open(f"/proc/{self.process.pid}/clear_refs", "w") as refs:
            refs.write("5")  # the peak (VmHWM) starts again from the current RSS
        before = self._status("VmRSS")
        answers: list[tuple[int, int, str]] = [None] * len(paths)  # type: ignore[list-item]
        threads = [threading.Thread(target=lambda i=i, p=p: answers.__setitem__(i, self.get(p))) for i, p in enumerate(paths)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return self._status("VmHWM") - before, time.perf_counter() - started, answers


@contextlib.contextmanager
def serving(tree: Path, env: dict[str, str]) -> Iterator[Server]:
    process, url = start_app(tree, env)
    try:
        yield Server(process, url)
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()


def measure(tree: Path, work: Path, folder: Path, seconds: float, everything: bool, label: str) -> dict[str, str]:
    """The figures of one tree's app, as text, by name."""
    env, sound = prepare(tree, work / f"data-{label}", folder)
    figures: dict[str, str] = {}
    whole = f"/api/v1/sounds/{sound}/spectrogram?start=0&end={seconds:.3f}"
    part = f"/api/v1/sounds/{sound}/audio?start=0&end=7.2"  # 57.6 M samples: the most a part may read now
    cases = [("spectrogram of the whole file, 1 request", [whole]),
             ("audio part of 7.2 s (57.6 M samples), 1 request", [part]),
             ("audio part of the whole file, 1 request", [f"/api/v1/sounds/{sound}/audio?start=0&end={seconds:.3f}"])]
    if everything:
        cases.insert(1, ("spectrogram of the whole file, 4 requests at once", [whole] * 4))
    with serving(tree, env) as server:
        server.get(f"/api/v1/sounds/{sound}/spectrogram?start=0&end=0.001")  # libraries loaded, caches warm
        for name, paths in cases:
            if not everything and name.startswith("audio part of the whole"):
                continue
            grew, wall, answers = server.peak(paths)
            codes = sorted({a[0] for a in answers})
            said = next((a[2] for a in answers if a[2]), "")
            figures[name] = (f"{grew / 2**20:,.0f} MB in {wall:.2f} s (HTTP {'/'.join(map(str, codes))}"
                             + (f": {said}" if said else f", {answers[0][1]:,} bytes each") + ")")
            print(f"  {label}: {name}: {figures[name]}", flush=True)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=int, default=512, help="the file's size in MiB (default 512: EARMARK_MAX_UPLOAD_MB)")
    parser.add_argument("--baseline", metavar="REF", help="also measure the app of REF (a commit or a folder), e.g. 6f60a7c")
    parser.add_argument("--baseline-all", action="store_true", help="the baseline's parts and concurrent spectrograms too")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="earmark-bench-decode-") as tmp:
        work = Path(tmp)
        folder = work / "audio"
        folder.mkdir()
        seconds = write_worst(folder / "worst.wav", args.mb)
        print(f"worst file: {args.mb} MiB, 8-bit mono at {RATE / 1e6:g} MHz, {seconds:.1f} s", flush=True)
        now = measure(ROOT, work, folder, seconds, True, "now")
        with baseline_tree(args.baseline, work) as tree:
            before = measure(tree, work, folder, seconds, args.baseline_all, "baseline") if tree else {}
    print()
    for name, figure in now.items():
        print(f"{name}: {figure}" + (f"  vs baseline {before[name]}" if name in before else ""))


if __name__ == "__main__":
    main()
