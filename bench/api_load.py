"""The HTTP API under load: N concurrent clients for S seconds against a live app on SQLite (the demo plus
10,000 generated sounds), listing sounds, reading a sound's annotations, creating and patching annotations.

The same load runs against this tree and against a baseline commit (checked out with `git worktree`) in the
same run, one after the other; each figure is printed for both. Each server is started as a user starts it
(`streamlit run app.py`), with no background job workers.

    python bench/api_load.py                        # 50 clients, 60 s, baseline: the commit before FastAPI
    python bench/api_load.py --clients 16 --seconds 20 --baseline HEAD~3
    python bench/api_load.py --floor                # the same clients on the two cheapest routes, this tree

The floor: every client sends `GET /health` (no credentials, no database), then `GET /analyzers` (checked
credentials, a fixed answer), the quickest any route can be on this machine and stack. In a closed loop the mean
wait is clients / throughput (Little's law), so 50 clients at p99 <= 100 ms need well over 500 requests/s.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import defaultdict
from pathlib import Path

import httpx2 as httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from common import start_app  # noqa: E402

USER, PASSWORD = "bench", "bench-password-1"
BASELINE = "2286655"  # the last commit with the hand-rolled Starlette API
# A few thousand sounds by reference, written with whichever layout the tree has (the baseline's core is flat).
SEED_SOUNDS = """
import sys
from core.context import open_earmark
try:
    from core.store.config import settings
    from core.accounts.users import UserService
    from core.catalogue.sounds import SoundService
except ImportError:
    from core.config import settings
    from core.users import UserService
    from core.sounds import SoundService
app = open_earmark(settings())
count = int(sys.argv[1])
for start in range(0, count, 1000):
    with app.db.write() as session:
        user = UserService(session).by_name("bench")
        sounds = SoundService(session, app.storage)
        for n in range(start, min(count, start + 1000)):
            sounds.create_reference(user, title=f"generated {n:05d}", duration_seconds=1 + n % 600,
                                    audio_url=f"https://example.org/a/{n}.ogg", tags=[f"t{n % 20}"], dataset=f"gen{n % 10}")
"""


def prepare(tree: Path, data_dir: Path, sounds: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EARMARK_", "AWS_"))}
    env |= {"EARMARK_DATA_DIR": str(data_dir), "EARMARK_WORKERS": "0", "EARMARK_PASSWORD": PASSWORD}
    for args in (["users", "add", USER, "--type", "dataset", "--admin"], ["demo"]):
        subprocess.run([sys.executable, "-m", "core", *args], cwd=tree, env=env, check=True, capture_output=True)
    subprocess.run([sys.executable, "-c", SEED_SOUNDS, str(sounds)], cwd=tree, env=env, check=True)
    return env


FLOOR_ROUTES = ("/api/v1/health", "/api/v1/analyzers")


class Load:
    def __init__(self, url: str, sound_ids: list[str], think: float = 0.0, only: str | None = None) -> None:
        self.url, self.sound_ids, self.think, self.only = url, sound_ids, think, only
        self.times: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)  # per "op status", e.g. "create annotation 500"

    async def timed(self, op: str, call) -> httpx.Response | None:
        started = time.perf_counter()
        try:
            response = await call
        except httpx.HTTPError as exc:
            self.errors[f"{op} {type(exc).__name__}"] += 1
            return None
        self.times[op].append((time.perf_counter() - started) * 1000)
        if response.status_code >= 400:
            self.errors[f"{op} {response.status_code}"] += 1
            return None
        return response

    async def client(self, http: httpx.AsyncClient, until: float, seed: int) -> None:
        rng = random.Random(seed)
        mine: list[tuple[str, int]] = []  # (annotation id, version) this client made, to patch
        while time.monotonic() < until:
            if self.think:  # a pause between requests (exponential, mean `think` s): a script or person at work
                await asyncio.sleep(rng.expovariate(1 / self.think))
            roll = rng.random()
            sound = rng.choice(self.sound_ids)
            if self.only:  # the floor: one cheap route, nothing else
                await self.timed(f"GET {self.only}", http.get(self.only))
            elif roll < 0.4:
                params = {"page_size": 50, "dataset": f"gen{rng.randrange(10)}"} if rng.random() < 0.5 else {"page_size": 50}
                await self.timed("list sounds", http.get("/api/v1/sounds", params=params))
            elif roll < 0.7:
                await self.timed("read annotations", http.get(f"/api/v1/sounds/{sound}/annotations", params={"page_size": 100}))
            elif roll < 0.85 or not mine:
                start = round(rng.uniform(0, 1), 3)
                made = await self.timed("create annotation", http.post(
                    f"/api/v1/sounds/{sound}/annotations", json={"start_seconds": start, "duration_seconds": 0.25, "tags": ["load"]}))
                if made is not None:
                    mine.append((made.json()["id"], made.json()["version"]))
            else:
                index = rng.randrange(len(mine))
                annotation_id, version = mine[index]
                patched = await self.timed("patch annotation", http.patch(
                    f"/api/v1/annotations/{annotation_id}", json={"version": version, "text": f"v{version + 1}"}))
                if patched is not None:
                    mine[index] = (annotation_id, patched.json()["version"])

    async def run(self, clients: int, seconds: float) -> float:
        auth = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
        async with httpx.AsyncClient(base_url=self.url, headers={"Authorization": auth}, timeout=30, limits=limits) as http:
            until = time.monotonic() + seconds
            started = time.monotonic()
            await asyncio.gather(*(self.client(http, until, n) for n in range(clients)))
            return time.monotonic() - started


def demo_sound_ids(url: str) -> list[str]:
    import json

    auth = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    request = urllib.request.Request(f"{url}/api/v1/sounds?dataset=demo&page_size=100", headers={"Authorization": auth})
    with urllib.request.urlopen(request, timeout=30) as response:
        return [s["id"] for s in json.load(response)["items"]]


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system, every thread) the server process has used: per request, a figure the machine's
    noise moves less than throughput. NaN where /proc is missing."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else (values or [0.0])[0]


def measure(name: str, tree: Path, clients: int, seconds: float, sounds: int, think: float = 0.0,
            only: str | None = None) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as scratch:
        env = prepare(tree, Path(scratch) / "data", sounds)
        process, url = start_app(tree, env)
        try:
            load = Load(url, demo_sound_ids(url))
            asyncio.run(load.run(4, 3))  # warm up: caches, the first bcrypt check, imports
            load = Load(url, load.sound_ids, think, only)
            cpu_before = cpu_seconds(process.pid)
            elapsed = asyncio.run(load.run(clients, seconds))
            cpu_used = cpu_seconds(process.pid) - cpu_before
        finally:
            process.terminate()
            process.wait(30)
    return figures_of(name, load, elapsed, cpu_used)


def figures_of(name: str, load: Load, elapsed: float, cpu_used: float) -> dict[str, float]:
    every = [t for times in load.times.values() for t in times]
    errors = sum(load.errors.values())
    figures = {"requests/s": len(every) / elapsed, "p50 ms": percentile(every, 50), "p95 ms": percentile(every, 95),
               "p99 ms": percentile(every, 99), "errors": errors,
               "server CPU ms per request": 1000 * cpu_used / max(len(every), 1)}
    for op in sorted(load.times):
        figures[f"{op} p50 ms"] = percentile(load.times[op], 50)
        figures[f"{op} p99 ms"] = percentile(load.times[op], 99)
    print(f"{name}: {len(every):,} requests in {elapsed:.1f} s, {errors} errors {dict(load.errors) or ''}", flush=True)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--sounds", type=int, default=10_000, help="generated sounds beside the demo's 32")
    parser.add_argument("--baseline", default=BASELINE, help="the commit to compare with (git worktree), or none")
    parser.add_argument("--think", type=float, default=0.0,
                        help="mean pause (s) between a client's requests; 0: each sends its next request at once (saturation)")
    parser.add_argument("--floor", action="store_true", help="the same clients on the two cheapest routes, this tree only")
    args = parser.parse_args()
    if args.floor:
        for route in FLOOR_ROUTES:
            figures = measure(f"floor {route}", ROOT, args.clients, args.seconds, 0, args.think, only=route)
            print("   " + "   ".join(f"{key} {figures[key]:.1f}" for key in ("requests/s", "p50 ms", "p99 ms", "errors",
                                                                             "server CPU ms per request")))
        return
    if args.baseline == "none":  # this tree alone, e.g. while tuning
        for key, value in measure("this tree", ROOT, args.clients, args.seconds, args.sounds, args.think).items():
            print(f"{key:>28}: {value:9.1f}")
        return
    with tempfile.TemporaryDirectory() as scratch:
        baseline_tree = Path(scratch) / "baseline"
        subprocess.run(["git", "worktree", "add", "--detach", "-q", str(baseline_tree), args.baseline], cwd=ROOT, check=True)
        try:
            before = measure(f"baseline {args.baseline}", baseline_tree, args.clients, args.seconds, args.sounds, args.think)
            after = measure("this tree", ROOT, args.clients, args.seconds, args.sounds, args.think)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(baseline_tree)], cwd=ROOT, check=False)
    print(f"{args.clients} clients, {args.seconds:.0f} s, think {args.think} s, demo + {args.sounds:,} sounds, SQLite")
    for key in after:
        b, a = before.get(key, float("nan")), after[key]
        print(f"{key:>28}: baseline {b:9.1f}   now {a:9.1f}")


if __name__ == "__main__":
    main()
