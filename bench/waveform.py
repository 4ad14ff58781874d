"""The Annotate page's waveform component in headless Chromium, against a live app on SQLite (issues 13 and 23).

Measured in the same run, on each app (this tree, and with --baseline REF also REF unpacked with git archive, served with its
own data folder, so each figure reads "now vs baseline (ratio now/baseline)"):
  * waveform ready (page asked -> the first view drawn) for a 10-second clip and a 3-hour FLAC, and their ratio;
  * each view after a zoom (I) and a scroll (Right), key press -> drawn; the page's JS heap (DevTools, after GC);
  * the same 3-hour file with 10,000 regions (2,000 people's, 8,000 a featurebot's suggestions, written with
    core.annotations.service straight into the app's database and counted back through the HTTP API):
    page asked -> drawn; the whole view drawn after its peaks arrived (Resource Timing's responseEnd of the last
    /peaks response before it -> data-ready="true"); zoom steps from the whole file down to ~3 s, scroll steps,
    zoom out; mouse-up -> a new region drawn (the next animation frame), drawn in a 20-s stretch left free of
    regions in a ~40-s view, each once the page is quiet again; the JS heap with them loaded;
  * mouse-up -> new region in the page, -> painted (the next animation frame), -> saved (data-saved);
    a moved edge shown (mouse move -> next frame) and saved;
  * an annotator's loop on a 60-second clip at a human-like pace (a drag over 300 ms, a key, an edge fixed):
    the seconds a person waits per region, on the component and on the classic chart and form
    (drag a box, the page reruns, pick a tag, Save, the page reruns), the way regions were made before.

    python bench/waveform.py                            # ~3 min on 2 cores
    python bench/waveform.py --quick                    # fewer opens, drags and regions: ~2 min
    python bench/waveform.py --quick --baseline 6f60a7c # both apps in one run: ~3.5 min (default: ~5.5)
    python bench/waveform.py --regions 10 --form-regions 3 --hours 1

A key is a keydown dispatched on the waveform's box (as the tests do); if that moves no view, the run says so and
dispatches it with composed: true (out of a shadow root), then, failing that, presses real keys with the pointer over
the waveform. Mouse-ups and moves are recorded as pointer events. A figure that cannot be measured prints why.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(1, str(ROOT))

from common import baseline_tree, start_app  # noqa: E402

USER, PASSWORD = "bench", "bench-password-1"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

FIND_BOX = """(document.querySelector('[data-testid=earmark-waveform]') ||
              [...document.querySelectorAll('*')].map(e => e.shadowRoot).filter(Boolean)
                .map(r => r.querySelector('[data-testid=earmark-waveform]')).find(Boolean))"""

# Before any page script: keep every Resource Timing entry, and note the moment (performance.now()) each time a
# waveform's data-ready turns "true", in the document or in any shadow root.
READY_WATCH = """(() => {
  performance.setResourceTimingBufferSize(100000);
  window.__readyAt = [];
  const watch = (root) => new MutationObserver((changes) => {
    const now = performance.now();
    for (const c of changes) {
      if (c.oldValue !== 'true' && c.target.getAttribute('data-ready') === 'true' &&
          c.target.getAttribute('data-testid') === 'earmark-waveform') window.__readyAt.push(now);
    }
  }).observe(root, {subtree: true, attributes: true, attributeOldValue: true, attributeFilter: ['data-ready']});
  watch(document);
  const attach = Element.prototype.attachShadow;
  Element.prototype.attachShadow = function (init) { const root = attach.call(this, init); watch(root); return root; };
})()"""

# In the page, after the first view is drawn: that moment, and the end of the last /peaks response before it.
PEAKS_TO_READY = """() => {
  const ready = window.__readyAt[0];
  const peaks = performance.getEntriesByType('resource')
    .filter(e => e.name.includes('/peaks') && e.responseEnd <= ready);
  if (ready === undefined || !peaks.length) return null;
  return {ready, peaks: peaks.length, after: ready - Math.max(...peaks.map(e => e.responseEnd))};
}"""

# In the page: press a key on the waveform (a keydown dispatched on its box; `composed`: one that also leaves a
# shadow root) and resolve with the milliseconds until a new view is drawn (data-ready "true" with other
# data-view-start/-end), seen at an animation frame; null if none within the timeout.
KEY_TO_READY = """async ([key, timeout, composed]) => {
  const box = __FIND_BOX__;
  const before = [box.dataset.viewStart, box.dataset.viewEnd];
  const started = performance.now();
  box.dispatchEvent(new KeyboardEvent('keydown', {key, bubbles: true, composed}));
  return await new Promise((done) => {
    const check = () => {
      if (box.dataset.ready === 'true' && (box.dataset.viewStart !== before[0] || box.dataset.viewEnd !== before[1]))
        return done(performance.now() - started);
      if (performance.now() - started > timeout) return done(null);
      requestAnimationFrame(check);
    };
    requestAnimationFrame(check);
  });
}""".replace("__FIND_BOX__", FIND_BOX)

# The same with a real key press (sent by Playwright after this arms it): timed from the keydown event.
ARM_REAL_KEY = """(timeout) => {
  const box = __FIND_BOX__;
  const before = [box.dataset.viewStart, box.dataset.viewEnd];
  window.__viewWait = new Promise((done) => {
    let pressed = null;
    const armed = performance.now();
    const onKey = (e) => { pressed = e.timeStamp; window.removeEventListener('keydown', onKey, true); };
    window.addEventListener('keydown', onKey, true);
    const check = () => {
      if (pressed !== null && box.dataset.ready === 'true' &&
          (box.dataset.viewStart !== before[0] || box.dataset.viewEnd !== before[1]))
        return done(performance.now() - pressed);
      if (performance.now() - armed > timeout) return done(null);
      requestAnimationFrame(check);
    };
    requestAnimationFrame(check);
  });
}""".replace("__FIND_BOX__", FIND_BOX)

# In the page: after every mouse-up (a region drawn or an edge let go), the time from the event to the next
# animation frame, i.e. to the first paint that can show it; per mouse move during a drag, the same; per
# change saved (data-saved turning true), the time since the last action (mouse-up or key). Pointer events, seen
# first (capture on window): a component that cancels pointerdown gets no mouseup/mousemove at all.
RECORDER = """() => {
  const box = __FIND_BOX__;
  const layer = box.querySelector('.regions') || box;
  const log = window.__regions = {drawn: [], saved: [], moves: []};
  let action = 0;
  const frame = (list, since) => requestAnimationFrame(() => list.push(performance.now() - since));
  window.addEventListener('pointerup', (e) => { action = e.timeStamp; frame(log.drawn, e.timeStamp); }, true);
  window.addEventListener('keydown', (e) => { action = e.timeStamp; }, true);
  window.addEventListener('pointermove', (e) => { if (e.buttons === 1) frame(log.moves, e.timeStamp); }, true);
  new MutationObserver((changes) => {
    const now = performance.now();
    for (const change of changes) {
      if (change.oldValue === 'false' && change.target.dataset.saved === 'true') log.saved.push(now - action);
    }
  }).observe(layer, {subtree: true, attributes: true, attributeOldValue: true, attributeFilter: ['data-saved']});
}""".replace("__FIND_BOX__", FIND_BOX)

# Run in an app's tree with its environment: people's regions and a featurebot's suggestions on one sound, spread
# evenly over it except a stretch left free (where the benchmark draws), in two inserts (create_many).
SEED = """
import sys
from core.accounts.users import UserService
from core.annotations.service import AnnotationService
from core.context import open_earmark
from core.store.config import load_settings

sound_id, user_name = sys.argv[1], sys.argv[2]
people, machine, duration, gap_start, gap_end = int(sys.argv[3]), int(sys.argv[4]), *map(float, sys.argv[5:8])


def spread(n, share):
    length = duration - (gap_end - gap_start)
    slot = length / n
    for i in range(n):
        start, width = (i + 0.2) * slot, share * slot
        if start >= gap_start:
            start += gap_end - gap_start
        elif start + width > gap_start:
            start = gap_start - width
        yield round(start, 4), round(width, 4)


earmark = open_earmark(load_settings(), check_storage=False)
with earmark.db.write() as session:
    users = UserService(session)
    service = AnnotationService(session)
    service.create_many(users.by_name(user_name), sound_id, [
        {"start_seconds": s, "duration_seconds": d, "tags": ["speech"]} for s, d in spread(people, 0.4)])
    service.create_many(users.system_user("bot-bench", "featurebot"), sound_id, [
        {"start_seconds": s, "duration_seconds": d, "tags": ["noise"]} for s, d in spread(machine, 0.6)],
        source="bench-vad:threshold=0.5")
"""


def write_audio(path: Path, seconds: float, rate: int) -> None:
    rng = np.random.default_rng(7)
    with sf.SoundFile(path, "w", rate, 1, subtype="PCM_16") as out:
        for start in range(0, int(seconds * rate), 600 * rate):
            n = min(600 * rate, int(seconds * rate) - start)
            t = (start + np.arange(n)) / rate
            out.write((0.3 * np.sin(2 * np.pi * 220 * t) * (0.5 + 0.5 * np.sin(t / 7))
                       + 0.02 * rng.standard_normal(n)).astype(np.float32))


def cli(env: dict[str, str], *args: str, tree: Path = ROOT) -> str:
    return subprocess.run([sys.executable, "-m", "core", *args], cwd=tree, env=env, check=True, capture_output=True,
                          text=True).stdout


SOUNDS = ("clip", "minute", "long")


def make_audio(work: Path, hours: float) -> dict[str, tuple[Path, float]]:
    """The three sounds, written once (every app imports the same files)."""
    made = {}
    for name, seconds in (("clip", 10), ("minute", 60), ("long", hours * 3600)):
        folder = work / "audio" / name
        folder.mkdir(parents=True)
        started = time.perf_counter()
        write_audio(folder / f"{name}.flac", seconds, 16_000)
        print(f"  {name}: {seconds:,.0f} s written in {time.perf_counter() - started:.1f} s", flush=True)
        made[name] = (folder, seconds)
    return made


def prepare(tree: Path, data: Path, audio: dict[str, tuple[Path, float]]) -> tuple[dict[str, str], dict[str, str]]:
    """A data folder for the app in ``tree``: the benchmark's user and the sounds imported by that tree's code."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EARMARK_", "AWS_"))}
    env |= {"EARMARK_DATA_DIR": str(data), "EARMARK_WORKERS": "0", "EARMARK_PASSWORD": PASSWORD}
    cli(env, "users", "add", USER, "--type", "dataset", "--admin", tree=tree)
    sounds = {}
    for name, (folder, _) in audio.items():
        cli(env, "import", str(folder), "--dataset", name, "--quiet", tree=tree)
        sounds[name] = json.loads(cli(env, "sounds", "--dataset", name, "--json", tree=tree))[0]["id"]
    return env, sounds


def settle(page) -> None:
    page.wait_for_timeout(300)
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=60_000)


def log_in(page, url: str) -> None:
    page.goto(url)
    page.get_by_label("Username").fill(USER)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Login").click()
    page.get_by_text("Storage used").first.wait_for()
    settle(page)


def open_sound(page, url: str, sound: str) -> tuple[float, float]:
    """Seconds from asking for the page to the component's first view drawn, and of those, from the component's
    mounting to that view (its own User Timing measure; NaN if it has none)."""
    started = time.perf_counter()
    page.goto(f"{url}/Annotate?sound={sound}")
    page.locator("[data-testid=earmark-waveform][data-ready=true]").wait_for(timeout=60_000)
    whole = time.perf_counter() - started
    own = page.evaluate("performance.getEntriesByName('earmark:first-view').at(-1)?.duration ?? NaN") / 1000
    return whole, own


def heap_mb(page) -> float:
    session = page.context.new_cdp_session(page)
    session.send("HeapProfiler.collectGarbage")
    return session.send("Runtime.getHeapUsage")["usedSize"] / 2**20


@dataclass
class App:
    label: str
    tree: Path
    env: dict[str, str]
    sounds: dict[str, str]
    url: str = ""
    server: subprocess.Popen | None = None
    page: object = None
    keys: str = "dispatch"  # how keys reach the waveform: "dispatch" (on its box), "composed" (leaving a shadow
    # root), "real" (Playwright's presses, the pointer over it); the next one is tried when a way moves no view
    clip_open: float | None = None  # the 10-s clip's median page asked -> drawn, seconds
    notes: list[str] = field(default_factory=list)


KEY_WAYS = {"dispatch": "a keydown dispatched on [data-testid=earmark-waveform] (as the tests do)",
            "composed": "the same keydown with composed: true", "real": "real key presses with the pointer over the waveform"}


def step_views(app: App, key: str, count: int, timeout: float = 5000) -> tuple[list[float], int]:
    """``count`` presses of ``key`` on the waveform: milliseconds key -> new view drawn each, and how many drew no
    new view within ``timeout`` ms."""
    page = app.page
    times, missed = [], 0
    for _ in range(count):
        if app.keys == "real":
            area = page.get_by_test_id("earmark-waveform").bounding_box()
            page.mouse.move(area["x"] + area["width"] / 2, area["y"] + area["height"] / 2)
            page.evaluate(ARM_REAL_KEY, timeout)
            page.keyboard.press(key)
            took = page.evaluate("window.__viewWait")
        else:
            page.mouse.move(2, 2)  # the pointer off the waveform: I zooms around the view's centre
            took = page.evaluate(KEY_TO_READY, [key, timeout, app.keys == "composed"])
        if took is None and not times and not missed and app.keys != "real":
            way = app.keys
            app.keys = "composed" if way == "dispatch" else "real"
            app.notes.append(f"{KEY_WAYS[way]} ({key!r}) drew no new view within {timeout / 1000:.0f} s: "
                             f"{KEY_WAYS[app.keys]} from then on")
            return step_views(app, key, count, timeout)
        if took is None:
            missed += 1
        else:
            times.append(took)
    return times, missed


def drag(page, box, start: float, end: float, ms: int = 300) -> None:
    """A hand's drag: press, move across over ``ms`` milliseconds, let go."""
    area = box.bounding_box()
    y = area["y"] + area["height"] * 0.5
    page.mouse.move(area["x"] + area["width"] * start, y)
    page.mouse.down()
    for i in range(1, 11):
        page.mouse.move(area["x"] + area["width"] * (start + (end - start) * i / 10), y)
        page.wait_for_timeout(ms / 10)
    page.mouse.up()


def wait_until(check: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not within {seconds:.0f} s")
        time.sleep(0.05)


def regions_between(page, start: float, end: float) -> list[dict]:
    return page.locator("[data-testid=earmark-region]").evaluate_all(
        "(els, [a, b]) => els.filter(e => +e.dataset.start >= a && +e.dataset.start < b)"
        ".map(e => ({start: +e.dataset.start, saved: e.dataset.saved}))", [start, end])


def api_count(app: App, sound: str, time_range: tuple[float, float] | None = None) -> tuple[int, int]:
    """People's annotations and suggestions of ``sound`` as the HTTP API lists them."""
    from core.client import Client

    with Client(app.url, user=USER, password=PASSWORD) as client:
        items = list(client.annotations(sound, time_range=time_range))
    machine = sum(1 for a in items if a.get("source"))
    return len(items) - machine, machine


# -- figures ---------------------------------------------------------------------------------------------------

@dataclass
class Figure:
    value: float
    detail: str = ""


def spread_of(values: list[float], missed: int = 0) -> Figure:
    ordered = sorted(values)
    if not ordered:
        return Figure(math.nan, f"none recorded{f' ({missed} keys drew no new view)' if missed else ''}")
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    more = f", {missed} drew no new view" if missed else ""
    return Figure(statistics.median(ordered), f"p95 {p95:.1f}, max {ordered[-1]:.1f}, n={len(ordered)}{more}")


def show(value: float, unit: str) -> str:
    if math.isnan(value):
        return "-"
    if unit == "s":
        return f"{value:.2f} s"
    if unit == "x":
        return f"{value:.2f}x"
    if unit == "MB":
        return f"{value:.1f} MB"
    return f"{value:.1f} {unit}"


def report(title: str, unit: str, figures: dict[str, Figure | str | None]) -> None:
    """One line: the figure on each app (now first), and now/baseline."""
    parts = []
    for label, figure in figures.items():
        prefix = "" if label == "now" else f"{label} "
        if isinstance(figure, str) or figure is None:
            parts.append(f"{prefix}failed ({figure or 'not measured'})")
        else:
            parts.append(f"{prefix}{show(figure.value, unit)}" + (f" [{figure.detail}]" if figure.detail else ""))
    line = f"  {title}: " + " vs ".join(parts)
    now, base = figures.get("now"), figures.get("baseline")
    if isinstance(now, Figure) and isinstance(base, Figure) and base.value and not math.isnan(now.value + base.value):
        line += f" ({now.value / base.value:.2f}x)"
    print(line, flush=True)


class Section:
    """Figures measured on each app in turn, printed once all apps are done; a failure on one app prints as its
    figures' "failed (why)", not the end of the run."""

    def __init__(self, apps: list[App]) -> None:
        self.apps = apps
        self.units: dict[str, str] = {}
        self.values: dict[str, dict[str, Figure | str]] = {}
        self.failed: dict[str, str] = {}

    def measure(self, fn: Callable[[App, Callable[[str, str, Figure | str], None]], None]) -> None:
        for app in self.apps:
            def put(title: str, unit: str, figure: Figure | str, app: App = app) -> None:
                self.units[title] = unit
                self.values.setdefault(title, {})[app.label] = figure
            try:
                fn(app, put)
            except Exception as exc:  # noqa: BLE001 - printed as that app's figures failing
                self.failed[app.label] = f"{type(exc).__name__}: {(str(exc).splitlines() or [''])[0]}"[:300]
                if os.environ.get("BENCH_TRACE"):
                    traceback.print_exc()

    def print(self) -> None:
        for title, by_app in self.values.items():
            report(title, self.units[title], {app.label: by_app.get(app.label, self.failed.get(app.label))
                                              for app in self.apps})
        for label, why in self.failed.items():
            print(f"  ({label}: stopped early, {why})", flush=True)


# -- what is measured ------------------------------------------------------------------------------------------

def opens(app: App, name: str, count: int) -> tuple[list[float], list[float], list[dict | None]]:
    """A warm-up open, then ``count`` opens: seconds page asked -> drawn, the component's own part, and per open
    the moment data-ready turned true against the last /peaks response before it."""
    page = app.page
    open_sound(page, app.url, app.sounds[name])
    whole, own, peaks = [], [], []
    for _ in range(count):
        w, o = open_sound(page, app.url, app.sounds[name])
        whole.append(w)
        own.append(o)
        peaks.append(page.evaluate(PEAKS_TO_READY))
    settle(page)
    return whole, own, peaks


def each_file(app: App, put, *, count: int, zooms: dict[str, int], scrolls: int) -> None:
    medians = {}
    for name, label in (("clip", "10-s clip"), ("long", "3-h file")):
        whole, own, _ = opens(app, name, count)
        medians[name] = statistics.median(whole)
        shown = [f"{1000 * o:.0f}" for o in own if not math.isnan(o)]
        put(f"{label}: page asked -> waveform drawn (median of {count})", "s",
            Figure(medians[name], "each " + ", ".join(f"{w:.2f}" for w in whole)
                   + (f"; component's own part {', '.join(shown)} ms" if shown else "")))
        for key, what, n in (("i", "zoom in", zooms[name]), ("ArrowRight", "scroll", scrolls), ("o", "zoom out", zooms[name])):
            put(f"{label}: {what} step, key -> drawn", "ms", spread_of(*step_views(app, key, n)))
        put(f"{label}: JS heap after zooming", "MB", Figure(heap_mb(app.page)))
    put("3-h file / 10-s clip, page asked -> drawn", "x", Figure(medians["long"] / medians["clip"]))
    app.clip_open = medians["clip"]


def many_regions(app: App, put, *, count: int, drags: int, duration: float, gap: tuple[float, float],
                 people: int, machine: int) -> None:
    page = app.page
    found = api_count(app, app.sounds["long"])
    if found != (people, machine):
        raise RuntimeError(f"the API lists {found[0]} people's annotations and {found[1]} suggestions, "
                           f"not {people} and {machine}")
    whole, _, peaks = opens(app, "long", count)
    label = f"3-h file, {people + machine:,} regions"
    put(f"{label}: page asked -> waveform drawn (median of {count})", "s",
        Figure(statistics.median(whole), "each " + ", ".join(f"{w:.2f}" for w in whole)))
    if app.clip_open:
        put(f"{label} / 10-s clip, page asked -> drawn", "x", Figure(statistics.median(whole) / app.clip_open))
    after = [p["after"] for p in peaks if p]
    put(f"{label}: whole view drawn after its peaks arrived", "ms",
        Figure(statistics.median(after), "each " + ", ".join(f"{a:.1f}" for a in after)) if after
        else "no /peaks response before data-ready")
    # whole file -> ~3 s (12 halvings of 3 h), scrolled, and back to the whole file
    steps = max(1, round(math.log2(duration / 3)))
    put(f"{label}: zoom in step (whole -> ~{duration / 2**steps:.0f} s), key -> drawn", "ms", spread_of(*step_views(app, "i", steps)))
    put(f"{label}: scroll step, key -> drawn", "ms", spread_of(*step_views(app, "ArrowRight", 8)))
    put(f"{label}: zoom out step, key -> drawn", "ms", spread_of(*step_views(app, "o", steps)))
    # a ~40-s view around the stretch left free of regions, and new regions drawn there one by one
    box = page.get_by_test_id("earmark-waveform")
    step_views(app, "i", max(1, round(math.log2(duration / 40))))
    page.evaluate(RECORDER)
    view = box.evaluate("b => [+b.dataset.viewStart, +b.dataset.viewEnd]")
    if not (view[0] <= gap[0] and gap[1] <= view[1]):
        raise RuntimeError(f"the view {view[0]:.1f}-{view[1]:.1f} s does not hold {gap[0]:.0f}-{gap[1]:.0f} s")
    width, spacing = 1.5, (gap[1] - gap[0] - 2) / drags
    for i in range(drags):
        start = gap[0] + 1 + i * spacing
        drag(page, box, (start - view[0]) / (view[1] - view[0]), (start + width - view[0]) / (view[1] - view[0]))
        wait_until(lambda i=i: len(regions_between(page, *gap)) > i, 10, f"new region {i + 1} on the page")
        wait_until(lambda: all(r["saved"] == "true" for r in regions_between(page, *gap)), 10, f"new region {i + 1} saved")
        page.wait_for_timeout(2300)  # the page catches up two seconds after a change: measure the next drag after it
        settle(page)
    saved = sum(api_count(app, app.sounds["long"], gap))
    drawn = page.evaluate("window.__regions.drawn")
    put(f"{label}: mouse-up -> new region drawn (next frame)", "ms",
        spread_of(drawn) if saved == drags else f"{saved} of {drags} new regions saved")
    put(f"{label}: JS heap", "MB", Figure(heap_mb(page)))


def annotator_loop(page, url: str, sound: str, regions: int) -> dict[str, float]:
    """Draw, label by key and fix the right edge of ``regions`` regions; the person's waits, in seconds."""
    open_sound(page, url, sound)
    settle(page)
    page.evaluate(RECORDER)
    box = page.get_by_test_id("earmark-waveform")
    for tag in ("speech", "noise"):  # a new dataset: its first two tags typed into the palette
        page.locator(".new-tag").fill(tag)
        page.locator(".new-tag").press("Enter")
    box.focus()
    page.keyboard.press("Escape")
    page.keyboard.press("1")
    started = time.perf_counter()
    waits = []
    for i in range(regions):
        left = 0.02 + i * 0.96 / regions
        width = 0.6 * 0.96 / regions
        drag(page, box, left, left + width)
        t = time.perf_counter()
        region = page.locator("[data-testid=earmark-region]").last
        region.wait_for()
        waits.append(time.perf_counter() - t)  # until the person sees it: then they go on
        page.wait_for_timeout(250)  # reads the region, reaches for a key
        t = time.perf_counter()
        page.keyboard.press("2")  # the selected (new) region gets the second tag too
        page.locator("[data-testid=earmark-region][data-tags*=';']").nth(i).wait_for(timeout=10_000)
        waits.append(time.perf_counter() - t)
        page.wait_for_timeout(250)
        area = region.bounding_box()
        page.mouse.move(area["x"] + area["width"] - 2, area["y"] + area["height"] / 2)
        page.mouse.down()
        for step in range(1, 6):
            page.mouse.move(area["x"] + area["width"] - 2 + step * 3, area["y"] + area["height"] / 2)
            page.wait_for_timeout(30)
        page.mouse.up()
        page.wait_for_timeout(300)
    page.locator("[data-testid=earmark-region][data-saved=false]").first.wait_for(state="detached", timeout=30_000)
    total = time.perf_counter() - started
    log = page.evaluate("window.__regions")
    return {"total": total, "waits": waits, **log}


def loop_figures(app: App, put, *, regions: int) -> None:
    loop = annotator_loop(app.page, app.url, app.sounds["minute"], regions)
    put("mouse-up (region drawn, edge let go) -> next frame", "ms", spread_of(loop["drawn"]))
    put("mouse move while dragging -> next frame", "ms", spread_of(loop["moves"]))
    put("action (mouse-up, key) -> saved (data-saved)", "ms", spread_of(loop["saved"]))
    put("a person's waits per region", "s", Figure(sum(loop["waits"]) / regions,
        f"{sum(loop['waits']):.2f} s in all; the whole loop with a hand's pauses {loop['total']:.1f} s"))


def form_loop(page, url: str, sound: str, regions: int) -> dict[str, float]:
    """The classic chart and form, as regions were made before: drag a box, wait for the page's run, type a
    tag, Save, wait for the run; the seconds a person waits per region."""
    page.goto(f"{url}/Annotate?sound={sound}")
    settle(page)
    page.get_by_text("Classic chart", exact=True).click()
    settle(page)
    figure = page.locator(".js-plotly-plot").nth(1).locator(".nsewdrag").first
    start_field = page.locator(".st-key-seg_start").get_by_role("spinbutton")
    tags = page.get_by_role("combobox", name="Tags (pick, or type a new one)")
    per_region = []
    for i in range(regions):
        left = 0.05 + i * 0.9 / regions
        figure.scroll_into_view_if_needed()
        waited = 0.0
        before = start_field.input_value()
        drag(page, figure, left, left + 0.5 * 0.9 / regions)
        t = time.perf_counter()
        page.wait_for_function("v => document.querySelector('.st-key-seg_start input').value !== v", arg=before, timeout=30_000)
        settle(page)
        waited += time.perf_counter() - t
        tags.click()
        tags.fill("kick")
        tags.press("Enter")
        page.keyboard.press("Escape")
        t = time.perf_counter()
        settle(page)
        waited += time.perf_counter() - t
        page.get_by_test_id("stBaseButton-primary").filter(has_text="Save segment").click()
        t = time.perf_counter()
        page.get_by_text(" s (kick).").last.wait_for(timeout=30_000)
        settle(page)
        waited += time.perf_counter() - t
        per_region.append(waited)
    return {"per_region": per_region}


def form_figures(app: App, put, *, regions: int) -> None:
    form = form_loop(app.page, app.url, app.sounds["minute"], regions)
    put("the classic chart and form, a person's waits per region", "s",
        Figure(statistics.mean(form["per_region"]), "each " + ", ".join(f"{w:.2f}" for w in form["per_region"])))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hours", type=float, default=3.0)
    parser.add_argument("--opens", type=int, default=4, help="opens of each sound after a warm-up (default 4; --quick 2)")
    parser.add_argument("--regions", type=int, default=12, help="regions of the annotator's loop (default 12; --quick 5)")
    parser.add_argument("--form-regions", type=int, default=3, help="regions made with the form (default 3; --quick 2)")
    parser.add_argument("--people", type=int, default=2000, help="people's regions on the 3-h file (default 2,000)")
    parser.add_argument("--suggestions", type=int, default=8000, help="suggestions on the 3-h file (default 8,000)")
    parser.add_argument("--drags", type=int, default=4, help="new regions drawn among them (default 4; --quick 2)")
    parser.add_argument("--baseline", metavar="REF", help="also measure REF (a commit, unpacked with git archive, or a folder), e.g. 6f60a7c")
    parser.add_argument("--quick", action="store_true", help="fewer opens, regions and drags")
    args = parser.parse_args()
    if args.quick:
        args.opens, args.regions, args.form_regions, args.drags = 2, 5, 2, 2
    args.drags = max(1, min(args.drags, 8))
    from playwright.sync_api import sync_playwright

    began = time.perf_counter()
    duration = args.hours * 3600
    gap = (round(duration / 2 - 10, 3), round(duration / 2 + 10, 3))
    with tempfile.TemporaryDirectory() as tmp, baseline_tree(args.baseline, Path(tmp)) as base:
        work = Path(tmp)
        print("Preparing sounds:", flush=True)
        audio = make_audio(work, args.hours)
        apps = []
        for label, tree in (("now", ROOT), ("baseline", base)):
            if tree is None:
                continue
            started = time.perf_counter()
            env, sounds = prepare(tree, work / label / "data", audio)
            apps.append(App(label, tree, env, sounds))
            print(f"  {label} ({tree}): imported in {time.perf_counter() - started:.1f} s", flush=True)
        try:
            for app in apps:
                app.server, app.url = start_app(app.tree, app.env)
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
                for app in apps:  # a context each: their login cookies would clash (cookies ignore the port)
                    context = browser.new_context(viewport={"width": 1400, "height": 900})
                    context.add_init_script(READY_WATCH)
                    app.page = context.new_page()
                    log_in(app.page, app.url)
                against = " (now vs baseline, ratio now/baseline)" if base else ""

                print(f"\nThe 10-s clip and the {args.hours:g}-h file, no regions ({args.opens} opens each after a warm-up){against}:", flush=True)
                section = Section(apps)
                zooms = {"clip": 8, "long": max(1, round(math.log2(duration / 0.66)))}

                def files(app, put):
                    each_file(app, put, count=args.opens, zooms=zooms, scrolls=10)
                section.measure(files)
                section.print()

                print(f"\nThe {args.hours:g}-h file with {args.people:,} people's regions and {args.suggestions:,} suggestions{against}:", flush=True)
                for app in apps:
                    started = time.perf_counter()
                    subprocess.run([sys.executable, "-c", SEED, app.sounds["long"], USER, str(args.people), str(args.suggestions),
                                    str(duration), *map(str, gap)], cwd=app.tree, env=app.env, check=True)
                    print(f"  ({app.label}: written in {time.perf_counter() - started:.1f} s)", flush=True)
                section = Section(apps)

                def regions(app, put):
                    many_regions(app, put, count=max(2, args.opens - 1), drags=args.drags, duration=duration, gap=gap,
                                 people=args.people, machine=args.suggestions)
                section.measure(regions)
                section.print()

                print(f"\nAnnotator's loop, {args.regions} regions on a 60-s clip (draw over 300 ms, key 2, fix the edge){against}:", flush=True)
                section = Section(apps)

                def loop(app, put):
                    loop_figures(app, put, regions=args.regions)
                section.measure(loop)
                section.print()

                print(f"\nThe classic chart and form, {args.form_regions} regions (drag a box, type a tag, Save){against}:", flush=True)
                section = Section(apps)

                def form(app, put):
                    form_figures(app, put, regions=args.form_regions)
                section.measure(form)
                section.print()
                browser.close()
        finally:
            for app in apps:
                if app.server:
                    app.server.terminate()
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        app.server.wait(20)
                    if app.server.poll() is None:
                        app.server.kill()
        for app in apps:
            for note in app.notes:
                print(f"Note ({app.label}): {note}")
        print(f"\n({time.perf_counter() - began:.0f} s in all)")


if __name__ == "__main__":
    main()
