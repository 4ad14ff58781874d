"""The Review page of a sound with 3 x 500 regions against one with a single person's 500 (issue 27: "opening
within 1.2x"), on a live app on SQLite, measured in the same run:

  * server side, in this process on the app's database: the page's data (core/ui/review.py ``desk``: every
    person's regions by lane and the gold ones) and the regions as the page hands them to the waveform
    (core/ui/waveform ``region``), with the payload's size in bytes;
  * the waveform's own work on them, in Node with the component's own code bundled by esbuild (merging the
    page's regions, laying out the lanes, marking where people disagree: src/regions.ts, src/review.ts);
  * in headless Chromium (/usr/bin/chromium via playwright, as the e2e tests drive it): from navigation to
    /Review?sound=ID until the lanes canvas shows every person's lane painted and the waveform canvas its
    peaks (pixels read from the canvases, not an attribute).

Each figure is the median of several repeats, alternating the two sounds; one line per figure.

    nice -n 10 python bench/review_page.py                       # 4-minute sounds, 500 regions each, 5 opens
    nice -n 10 python bench/review_page.py --regions 250 --minutes 2 --opens 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(1, str(ROOT))

from common import start_app  # noqa: E402
from waveform import CHROMIUM_ARGS, PASSWORD, USER, cli, log_in, write_audio  # noqa: E402

PEOPLE = ("alice", "bob", "carol")
TAGS = ("speech", "music", "noise")
FRONTEND = ROOT / "core" / "ui" / "waveform" / "frontend"

# In the page, polled every animation frame: performance.now() (ms since navigation) once the waveform canvas has
# its peaks and at least `people` lanes of the lanes canvas have regions painted in them (each person's first lane;
# a region counts as painted where the pixels are coloured, not the grey lane lines); else null.
LANES_DRAWN = """(people) => {
  const find = (sel) => document.querySelector(sel) || [...document.querySelectorAll('*')].map(e => e.shadowRoot)
    .filter(Boolean).map(r => r.querySelector(sel)).find(Boolean);
  const lanes = find('[data-testid=earmark-waveform] canvas.lanes');
  const wave = find('[data-testid=earmark-waveform] canvas.wave');
  if (!lanes || !wave || !lanes.width || !wave.width || !lanes.height) return null;
  const inked = wave.getContext('2d').getImageData(0, 0, wave.width, wave.height).data;
  let waveInk = 0;
  for (let i = 3; i < inked.length; i += 16) if (inked[i] > 0) waveInk++;
  if (waveInk < 200) return null;
  const lane = 22 * (lanes.height / (lanes.getBoundingClientRect().height || lanes.height));
  const pixels = lanes.getContext('2d').getImageData(0, 0, lanes.width, lanes.height).data;
  let full = 0; // lanes with regions painted in them (a person's band may have a second lane for overlaps)
  for (let row = 0; row < Math.floor(lanes.height / lane); row++) {
    let colored = 0;
    for (let y = Math.floor(row * lane); y < Math.floor((row + 1) * lane); y++) {
      for (let x = 0; x < lanes.width; x++) {
        const i = (y * lanes.width + x) * 4;
        const [r, g, b, a] = [pixels[i], pixels[i + 1], pixels[i + 2], pixels[i + 3]];
        if (a > 100 && Math.max(r, g, b) - Math.min(r, g, b) > 60) colored++;
      }
    }
    if (colored >= 100) full++;
  }
  return full >= people ? performance.now() : null;
}"""

# Node: the component's own functions over the page's regions (argv: the bundle, the payload files, repeats).
NODE_TIMING = """
const [bundle, repeats, ...files] = process.argv.slice(2);
const { mergeRegions, layoutReview, disagreements } = await import(bundle);
const fs = await import("node:fs");
const out = {};
for (const file of files) {
  const { regions, people } = JSON.parse(fs.readFileSync(file, "utf8"));
  const times = { merge: [], layout: [], disagree: [] };
  let marked = 0;
  for (let i = 0; i < Number(repeats); i++) {
    let t = performance.now();
    const merged = mergeRegions([], regions, new Set());
    times.merge.push(performance.now() - t);
    t = performance.now();
    layoutReview(merged, people);
    times.layout.push(performance.now() - t);
    t = performance.now();
    marked = disagreements(merged).size;
    times.disagree.push(performance.now() - t);
  }
  out[file] = { times, marked };
}
console.log(JSON.stringify(out));
"""


def median(values: list[float]) -> float:
    return statistics.median(values)


def regions_of(rng: np.random.Generator, minutes: float, count: int, people: int) -> list[list[tuple[float, float, str]]]:
    """``people`` versions of one sound's ``count`` segments: each person keeps most segments within ~30 ms of
    the others' and moves or retags the rest (where a reviewer has to decide)."""
    slot = minutes * 60 / count
    base = [(i * slot + rng.uniform(0, slot * 0.3), rng.uniform(0.4, 0.7) * slot, TAGS[rng.integers(len(TAGS))])
            for i in range(count)]
    versions = []
    for _ in range(people):
        mine = []
        for start, length, tag in base:
            if rng.random() < 0.15:  # this person saw it elsewhere, or called it something else
                start, tag = start + rng.uniform(0.2, 0.3) * slot, TAGS[rng.integers(len(TAGS))]
            start = max(0.0, start + rng.uniform(-0.03, 0.03))
            mine.append((round(start, 3), round(start + length, 3), tag))
        versions.append(mine)
    return versions


def build(env: dict[str, str], data: Path, minutes: float, count: int) -> tuple[dict[str, str], object, object]:
    """The two sounds, assigned, annotated and submitted: 'single' (alice's regions) and 'triple' (alice's,
    bob's and carol's). Returns their ids, the database and the reviewing user."""
    from core.annotations.service import AnnotationService
    from core.catalogue.search import CatalogueQuery
    from core.store.db import Database
    from core.store.models import User
    from core.team import queue
    from core.team.assignments import AssignRequest, assign, take_back

    audio = data.parent / "audio"
    for name, extra in (("single", 0), ("triple", 1)):  # a second apart: not the same file twice
        (audio / name).mkdir(parents=True)
        write_audio(audio / name / f"{name}.flac", minutes * 60 + extra, 16_000)
        cli(env, "import", str(audio / name), "--dataset", "review", "--quiet")
    for person in PEOPLE:
        cli(env, "users", "add", person, "--type", "human")
    sounds = {Path(s["path"]).stem: s["id"] for s in json.loads(cli(env, "sounds", "--dataset", "review", "--json"))}
    db = Database(f"sqlite:///{data}/earmark.db")
    rng = np.random.default_rng(27)
    with db.write() as session:
        users = {u.user_name: u for u in session.query(User)}
        assign(session, users[USER], AssignRequest(CatalogueQuery(dataset="review"), PEOPLE, per_sound=3))
        for person in PEOPLE[1:]:
            take_back(session, users[USER], "review", person, sound_ids=[sounds["single"]])
    for name, people in (("single", PEOPLE[:1]), ("triple", PEOPLE)):
        for person, version in zip(people, regions_of(rng, minutes, count, len(people)), strict=True):
            with db.write() as session:
                who = session.query(User).filter_by(user_name=person).one()
                service = AnnotationService(session)
                for start, end, tag in version:
                    service.create(who, sounds[name], start_seconds=start, end_seconds=end, tags=[tag])
                queue.submit(session, who, sounds[name])
    with db.read() as session:
        reviewer = session.query(User).filter_by(user_name=USER).one()
        session.expunge(reviewer)
    return sounds, db, reviewer


def server_side(db, reviewer, sound_id: str, repeats: int, out: Path) -> dict[str, float]:
    """The page's data for one sound, as core/ui/review.py and core/ui/waveform build it; writes the waveform's
    payload (regions and people) to ``out`` for the Node timing."""
    from core.ui.review import desk
    from core.ui.waveform import region

    app = SimpleNamespace(db=db)
    desk_ms, payload_ms = [], []
    for _ in range(repeats):
        started = time.perf_counter()
        found = desk(app, reviewer, sound_id)  # type: ignore[arg-type]
        desk_ms.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        regions = [region(a, reviewer, review=True) for a in found.annotations]
        payload = json.dumps(regions)
        payload_ms.append((time.perf_counter() - started) * 1000)
    people = [{"id": person, "name": name} for person, name in found.people]
    out.write_text(json.dumps({"regions": regions, "people": people}))
    return {"desk_ms": median(desk_ms), "payload_ms": median(payload_ms), "payload_bytes": len(payload.encode()),
            "regions": len(regions), "lanes": len(found.people)}


def node_side(payloads: dict[str, Path], repeats: int, work: Path) -> dict[str, dict]:
    bundle = work / "review-bundle.mjs"
    entry = work / "entry.ts"
    entry.write_text(f'export {{ mergeRegions }} from "{FRONTEND}/src/regions";\n'
                     f'export {{ layoutReview, disagreements }} from "{FRONTEND}/src/review";\n')
    subprocess.run([str(FRONTEND / "node_modules" / ".bin" / "esbuild"), str(entry), "--bundle", "--format=esm",
                    "--platform=node", f"--outfile={bundle}", "--log-level=error"], check=True)
    script = work / "timing.mjs"
    script.write_text(NODE_TIMING)
    answer = subprocess.run(["node", str(script), str(bundle), str(repeats), *map(str, payloads.values())],
                            check=True, capture_output=True, text=True).stdout
    found = json.loads(answer)
    return {name: found[str(path)] for name, path in payloads.items()}


def open_page(page, url: str, sound_id: str, people: int) -> tuple[float, float]:
    """Milliseconds from navigation to /Review?sound=ID until the waveform and every person's lane are painted, and
    of those, from navigation to the component receiving the sound (its "earmark:sound" mark: the server's part)."""
    page.goto(f"{url}/Review?sound={sound_id}", wait_until="commit")
    try:
        handle = page.wait_for_function(LANES_DRAWN, arg=people, polling="raf", timeout=60_000)
    except Exception:
        page.screenshot(path=str(Path(tempfile.gettempdir()) / "review_page_not_drawn.png"), full_page=True)
        raise SystemExit(f"the lanes of {sound_id} were not painted within 60 s: see review_page_not_drawn.png "
                         f"in {tempfile.gettempdir()}") from None
    mounted = page.evaluate("performance.getEntriesByName('earmark:sound').at(-1)?.startTime ?? NaN")
    return float(handle.json_value()), float(mounted)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--regions", type=int, default=500, help="regions per person (default 500)")
    parser.add_argument("--minutes", type=float, default=4.0, help="each sound's length (default 4)")
    parser.add_argument("--opens", type=int, default=5, help="page opens of each sound, after one warm-up (default 5)")
    parser.add_argument("--repeats", type=int, default=7, help="server-side and Node repeats (default 7)")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        data = work / "data"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("EARMARK_", "AWS_"))}
        env |= {"EARMARK_DATA_DIR": str(data), "EARMARK_WORKERS": "0", "EARMARK_PASSWORD": PASSWORD}
        cli(env, "users", "add", USER, "--type", "dataset", "--admin")
        started = time.perf_counter()
        sounds, db, reviewer = build(env, data, args.minutes, args.regions)
        print(f"Two {args.minutes:g}-minute sounds, {args.regions} regions per person, built in "
              f"{time.perf_counter() - started:.0f} s", flush=True)
        payloads = {name: work / f"{name}.json" for name in ("single", "triple")}
        server = {name: server_side(db, reviewer, sounds[name], args.repeats, payloads[name]) for name in payloads}
        node = node_side(payloads, args.repeats, work)
        lines = []
        for label, key, unit in (("page data (core/ui/review.py desk)", "desk_ms", "ms"),
                                 ("regions for the waveform (serialised)", "payload_ms", "ms"),
                                 ("payload", "payload_bytes", "bytes")):
            one, three = server["single"][key], server["triple"][key]
            lines.append(f"server {label}: 1 person {one:,.1f} {unit}, 3 people {three:,.1f} {unit} ({three / one:.2f}x)")
        for label, key in (("merging the regions", "merge"), ("laying out the lanes", "layout"),
                           ("marking disagreement", "disagree")):
            one, three = median(node["single"]["times"][key]), median(node["triple"]["times"][key])
            lines.append(f"waveform (Node) {label}: 1 person {one:.2f} ms, 3 people {three:.2f} ms ({three / one:.2f}x)")
        lines.append(f"regions marked as disagreeing: 1 person {node['single']['marked']}, "
                     f"3 people {node['triple']['marked']} of {server['triple']['regions']}")
        for line in lines:
            print(line, flush=True)
        process, url = start_app(ROOT, env)
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
                page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
                log_in(page, url)
                opened: dict[str, list[float]] = {"single": [], "triple": []}
                mounted: dict[str, list[float]] = {"single": [], "triple": []}
                for round_ in range(args.opens + 1):
                    for name, people in (("single", 1), ("triple", 3)):
                        drawn, sound = open_page(page, url, sounds[name], people)
                        if round_:  # the first of each is a warm-up
                            opened[name].append(drawn)
                            mounted[name].append(sound)
                browser.close()
        finally:
            process.terminate()
            process.wait(timeout=30)
        one, three = median(mounted["single"]), median(mounted["triple"])
        print(f"Chromium navigation -> the component has the sound (the page's run): 1 person {one:,.0f} ms, "
              f"3 people {three:,.0f} ms ({three / one:.2f}x)", flush=True)
        one = median([d - m for d, m in zip(opened["single"], mounted["single"], strict=True)])
        three = median([d - m for d, m in zip(opened["triple"], mounted["triple"], strict=True)])
        print(f"Chromium the component's sound -> waveform and lanes painted: 1 person {one:,.0f} ms, "
              f"3 people {three:,.0f} ms ({three / one:.2f}x)", flush=True)
        one, three = median(opened["single"]), median(opened["triple"])
        print(f"Chromium navigation -> waveform and lanes painted: 1 person {one:,.0f} ms, 3 people {three:,.0f} ms "
              f"({three / one:.2f}x; median of {args.opens}; 1 person {min(opened['single']):,.0f}-{max(opened['single']):,.0f}, "
              f"3 people {min(opened['triple']):,.0f}-{max(opened['triple']):,.0f})", flush=True)


if __name__ == "__main__":
    main()
