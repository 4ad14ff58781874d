"""Helpers the benchmarks share: timing a call several times, a free loopback port, the app started as a user
starts it."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path


def times_ms(fn: Callable[[], object], repeats: int) -> list[float]:
    """Wall time of ``repeats`` calls of ``fn``, in milliseconds."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return times


def best_of(repeats: int, fn: Callable[[], object]) -> float:
    """The fastest of ``repeats`` calls, in seconds: the figure least disturbed by a noisy machine."""
    return min(times_ms(fn, repeats)) / 1000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(tree: Path, env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    """`streamlit run app.py` from ``tree`` on a free loopback port with ``env``; its process and URL once its
    API answers (SystemExit if it does not within 90 s)."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
                                "--server.address", "127.0.0.1", "--server.headless", "true"],
                               cwd=tree, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/api/v1/health", timeout=2):
                return process, url
        except OSError:
            time.sleep(0.3)
    process.kill()
    raise SystemExit(f"the server in {tree} did not start")
