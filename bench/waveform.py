"""The Annotate page's waveform component in headless Chromium, against a live app on SQLite (issue 13).

Measured in the same run:
  * waveform ready (page opened -> the first view drawn) for a 10-second clip and a 3-hour FLAC;
  * each view after a zoom (I, whole file down to under a second) and a scroll (Right), key press -> drawn;
  * the page's JS heap (Chrome DevTools' Runtime.getHeapUsage) after that, on both files;
  * mouse-up -> new region in the page, -> painted (the next animation frame), -> saved (data-saved);
    a moved edge shown (mouse move -> next frame) and saved;
  * an annotator's loop on a 60-second clip at a human-like pace (a drag over 300 ms, a key, an edge fixed):
    the seconds a person waits per region, on the component and, as the baseline, on the classic chart and form
    (drag a box, the page reruns, pick a tag, Save, the page reruns), the way regions were made before.

    python bench/waveform.py                   # 20 regions in the loop, 5 with the form
    python bench/waveform.py --regions 10 --form-regions 3 --hours 1
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

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from common import start_app  # noqa: E402

USER, PASSWORD = "bench", "bench-password-1"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

# In the page: press a key on the waveform and resolve with the milliseconds until its view is drawn again.
KEY_TO_READY = """async (key) => {
  const box = document.querySelector('[data-testid=earmark-waveform]') ||
              [...document.querySelectorAll('*')].map(e => e.shadowRoot).filter(Boolean)
                .map(r => r.querySelector('[data-testid=earmark-waveform]')).find(Boolean);
  const started = performance.now();
  box.dispatchEvent(new KeyboardEvent('keydown', {key, bubbles: true}));
  await new Promise((done) => {
    const check = () => box.dataset.ready === 'true' ? done() : requestAnimationFrame(check);
    requestAnimationFrame(check);
  });
  return performance.now() - started;
}"""

# In the page: after every mouse-up (a region drawn or an edge let go), the time from the event to the next
# animation frame, i.e. to the first paint that can show it; per mouse move during a drag, the same; per
# change saved (data-saved turning true), the time since the last action (mouse-up or key).
RECORDER = """() => {
  const box = document.querySelector('[data-testid=earmark-waveform]') ||
              [...document.querySelectorAll('*')].map(e => e.shadowRoot).filter(Boolean)
                .map(r => r.querySelector('[data-testid=earmark-waveform]')).find(Boolean);
  const layer = box.querySelector('.regions');
  const log = window.__regions = {drawn: [], saved: [], moves: []};
  let action = 0;
  const frame = (list, since) => requestAnimationFrame(() => list.push(performance.now() - since));
  window.addEventListener('mouseup', (e) => { action = e.timeStamp; frame(log.drawn, e.timeStamp); });
  window.addEventListener('keydown', (e) => { action = e.timeStamp; }, true);
  window.addEventListener('mousemove', (e) => { if (e.buttons === 1) frame(log.moves, e.timeStamp); });
  new MutationObserver((changes) => {
    const now = performance.now();
    for (const change of changes) {
      if (change.oldValue === 'false' && change.target.dataset.saved === 'true') log.saved.push(now - action);
    }
  }).observe(layer, {subtree: true, attributes: true, attributeOldValue: true, attributeFilter: ['data-saved']});
}"""


def write_audio(path: Path, seconds: float, rate: int) -> None:
    rng = np.random.default_rng(7)
    with sf.SoundFile(path, "w", rate, 1, subtype="PCM_16") as out:
        for start in range(0, int(seconds * rate), 600 * rate):
            n = min(600 * rate, int(seconds * rate) - start)
            t = (start + np.arange(n)) / rate
            out.write((0.3 * np.sin(2 * np.pi * 220 * t) * (0.5 + 0.5 * np.sin(t / 7))
                       + 0.02 * rng.standard_normal(n)).astype(np.float32))


def cli(env: dict[str, str], *args: str) -> str:
    return subprocess.run([sys.executable, "-m", "core", *args], cwd=ROOT, env=env, check=True, capture_output=True,
                          text=True).stdout


def prepare(work: Path, hours: float) -> tuple[dict[str, str], dict[str, str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EARMARK_", "AWS_"))}
    env |= {"EARMARK_DATA_DIR": str(work / "data"), "EARMARK_WORKERS": "0", "EARMARK_PASSWORD": PASSWORD}
    cli(env, "users", "add", USER, "--type", "dataset", "--admin")
    sounds = {}
    for name, seconds in (("clip", 10), ("minute", 60), ("long", hours * 3600)):
        folder = work / name
        folder.mkdir()
        started = time.perf_counter()
        write_audio(folder / f"{name}.flac", seconds, 16_000)
        cli(env, "import", str(folder), "--dataset", name, "--quiet")
        sounds[name] = json.loads(cli(env, "sounds", "--dataset", name, "--json"))[0]["id"]
        print(f"  {name}: {seconds:,.0f} s made and imported in {time.perf_counter() - started:.1f} s", flush=True)
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
    mounting to that view (its own User Timing measure)."""
    started = time.perf_counter()
    page.goto(f"{url}/Annotate?sound={sound}")
    page.locator("[data-testid=earmark-waveform][data-ready=true]").wait_for(timeout=60_000)
    whole = time.perf_counter() - started
    own = page.evaluate("performance.getEntriesByName('earmark:first-view').at(-1).duration") / 1000
    return whole, own


def heap_mb(page) -> float:
    session = page.context.new_cdp_session(page)
    session.send("HeapProfiler.collectGarbage")
    return session.send("Runtime.getHeapUsage")["usedSize"] / 2**20


def views(page, key: str, count: int) -> list[float]:
    page.mouse.move(2, 2)  # the pointer off the waveform: I zooms around the view's centre
    return [page.evaluate(KEY_TO_READY, key) for _ in range(count)]


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
        page.locator("[data-testid=earmark-region][data-tags*=';']").nth(i).wait_for()
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


def summary(values: list[float]) -> str:
    ordered = sorted(values)
    return (f"median {statistics.median(ordered):.1f}, p95 {ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]:.1f}, "
            f"max {ordered[-1]:.1f} ms (n={len(ordered)})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hours", type=float, default=3.0)
    parser.add_argument("--regions", type=int, default=20)
    parser.add_argument("--form-regions", type=int, default=5)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        print("Preparing sounds:", flush=True)
        env, sounds = prepare(Path(tmp), args.hours)
        server, url = start_app(ROOT, env)
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
                page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
                log_in(page, url)
                print("\nWaveform ready, page asked -> first view drawn (5 opens each, after one warm-up):")
                for name in ("clip", "long"):
                    open_sound(page, url, sounds[name])
                    opens, own = zip(*[open_sound(page, url, sounds[name]) for _ in range(5)])
                    settle(page)
                    zooms = views(page, "i", 14 if name == "long" else 8)
                    scrolls = views(page, "ArrowRight", 10)
                    zoom_out = views(page, "o", 14 if name == "long" else 8)
                    print(f"  {name:5}: ready {statistics.median(opens):.2f} s (each: {', '.join(f'{o:.2f}' for o in opens)}; "
                          f"the component's own part: {', '.join(f'{1000 * o:.0f}' for o in own)} ms); "
                          f"zoom in {summary(zooms)}; scroll {summary(scrolls)}; zoom out {summary(zoom_out)}; "
                          f"JS heap {heap_mb(page):.1f} MB")
                print(f"\nAnnotator's loop, {args.regions} regions on a 60-s clip (draw over 300 ms, key 2, fix the edge):")
                loop = annotator_loop(page, url, sounds["minute"], args.regions)
                print(f"  mouse-up (region drawn, edge let go) -> next frame: {summary(loop['drawn'])}")
                print(f"  mouse move while dragging -> next frame: {summary(loop['moves'])}")
                print(f"  action (mouse-up, key) -> saved (data-saved): {summary(loop['saved'])}")
                print(f"  a person's waits: {sum(loop['waits']):.2f} s in all, {sum(loop['waits']) / args.regions:.3f} s per region "
                      f"(the whole loop, with the pauses a hand takes: {loop['total']:.1f} s)")
                print(f"\nBaseline, the classic chart and form, {args.form_regions} regions (drag a box, type a tag, Save):")
                form = form_loop(page, url, sounds["minute"], args.form_regions)
                print(f"  a person's waits: {statistics.mean(form['per_region']):.2f} s per region "
                      f"(each: {', '.join(f'{w:.2f}' for w in form['per_region'])})")
                browser.close()
        finally:
            server.terminate()
            server.wait(20)


if __name__ == "__main__":
    main()
