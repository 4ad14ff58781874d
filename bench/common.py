"""Helpers the benchmarks share: timing a call several times, a free loopback port, the app started as a user
starts it, a scratch database on either backend."""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

REPOSITORY = Path(__file__).resolve().parent.parent

if TYPE_CHECKING:
    from core.store.db import Database


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


@contextlib.contextmanager
def scratch_database(database_url: str | None, name: str) -> Iterator[Database]:
    """An empty, migrated database for a benchmark called ``name``: with ``database_url`` (PostgreSQL) a schema of
    its own there, dropped afterwards; without, a SQLite file in a temporary folder."""
    from core.store import migrate
    from core.store.db import Database, scratch_schema

    with contextlib.ExitStack() as stack:
        if database_url:
            url = stack.enter_context(scratch_schema(database_url, f"bench_{name}_{os.getpid()}"))
        else:
            url = f"sqlite:///{stack.enter_context(tempfile.TemporaryDirectory())}/{name}.db"
        db = Database(url)
        migrate.upgrade(db)
        try:
            yield db
        finally:
            db.dispose()


@contextlib.contextmanager
def baseline_tree(ref: str | None, work: Path) -> Iterator[Path | None]:
    """The tree to serve as a benchmark's baseline in the same run: None without one; a folder as it is; otherwise
    ``git archive REF`` unpacked under ``work`` (the repository's working copy and worktrees are not touched)."""
    if not ref:
        yield None
        return
    if Path(ref).is_dir():
        yield Path(ref).resolve()
        return
    tree = work / "baseline-tree"
    tree.mkdir()
    root = Path(__file__).resolve().parent.parent
    archive = subprocess.run(["git", "-C", str(root), "archive", ref], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    yield tree


# A child's own peak RSS and CPU time: RUSAGE_CHILDREN of a launcher that runs only it (the benchmark's own
# RUSAGE_CHILDREN would report the largest of all its children so far, such as an S3 server it started earlier).
_LAUNCHER = ("import resource, subprocess, sys; status = subprocess.call(sys.argv[1:]); "
             "u = resource.getrusage(resource.RUSAGE_CHILDREN); "
             "sys.stderr.write('\\nMAXRSS %d CPU %.3f\\n' % (u.ru_maxrss, u.ru_utime + u.ru_stime)); sys.exit(status)")


def run_measured(command: list[str], env: dict[str, str]) -> tuple[float, float, str, str, int, float]:
    """Run ``command``; its wall time, its own peak RSS in MB, stdout, stderr, exit status and CPU time (user and
    system, all its threads: less moved by the other processes of a shared machine than its wall time)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        status = subprocess.call([sys.executable, "-c", _LAUNCHER, *command], cwd=REPOSITORY, env=env, stdout=out, stderr=err)
        seconds = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        errors = err.read()
        found = re.findall(r"MAXRSS (\d+) CPU ([\d.]+)", errors)
        rss, cpu = (int(found[-1][0]) / 1024, float(found[-1][1])) if found else (float("nan"), float("nan"))
        return seconds, rss, out.read(), errors, status, cpu
