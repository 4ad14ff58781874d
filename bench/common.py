"""Helpers the benchmarks share: timing a call several times, a free loopback port."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable


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
