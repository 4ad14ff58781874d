"""Take README's screenshots as a new user sees the pages: Annotate with a speech-like recording (tests/speechlike.py),
speech-activity's suggestions (the real analyzer, run as a job), two people's regions that overlap, and one of them
selected; then Home and Browse over it and the demo dataset; then two annotators' blind work on it under review
(issue 27), the Team page's agreement figures for them, and the Download page splitting the demo dataset by
speaker. Writes docs/annotate.png, docs/home.png, docs/browse.png, docs/review.png, docs/team.png, docs/download.png.

    python docs/screenshots.py
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from common import start_app  # noqa: E402

from core.client import Client  # noqa: E402

USER, PASSWORD = "ada", "ada-password-1"


def main() -> None:
    with tempfile.TemporaryDirectory() as data:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("EARMARK_", "AWS_"))}
        env |= {"EARMARK_DATA_DIR": data, "EARMARK_ADMIN_USER": USER, "EARMARK_ADMIN_PASSWORD": PASSWORD}
        import soundfile as sf

        from tests.speechlike import recording

        folder = Path(data) / "interviews"
        folder.mkdir()
        speech = recording(5, "clean", seconds=16)
        sf.write(folder / "interview-01.wav", speech.samples, speech.rate, subtype="PCM_16")
        subprocess.run([sys.executable, "-m", "core", "import", str(folder), "--dataset", "interviews", "--quiet"],
                       cwd=ROOT, env=env, check=True, capture_output=True)
        subprocess.run([sys.executable, "-m", "core", "demo", "--quiet"], cwd=ROOT, env=env, check=True, capture_output=True)
        process, url = start_app(ROOT, env)
        try:
            with Client(url, user=USER, password=PASSWORD) as api:
                sound = next(iter(api.sounds(dataset="interviews")))
                job = api.submit_job("speech-activity", sound_ids=[sound["id"]])
                api.wait_job(job["id"], timeout=300, poll=0.5)
                suggestions = sorted(api.annotations(sound["id"]), key=lambda a: a["start_seconds"])
                first = suggestions[0]
                api.annotate(sound["id"], start=first["start_seconds"], end=first["end_seconds"], tags=["speech"],
                             text="the first words")
                api.annotate(sound["id"], start=first["start_seconds"] + 0.3,
                             end=min(sound["duration_seconds"], first["end_seconds"] + 1.0), tags=["overlap"])
            shoot(url, sound["id"], ROOT / "docs" / "annotate.png")
            prepare_review(url, sound, suggestions)
            shoot_review(url, sound["id"], ROOT / "docs" / "review.png")
            shoot_team_and_download(url, ROOT / "docs")
        finally:
            process.terminate()
            process.wait(20)


def shoot(url: str, sound_id: str, out: Path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser, page = _logged_in(p, url)
        page.goto(f"{url}/Annotate?sound={sound_id}")
        box = page.get_by_test_id("earmark-waveform")
        box.wait_for()
        page.wait_for_function("box => box.dataset.ready === 'true'", arg=box.element_handle(), timeout=60_000)
        page.wait_for_timeout(1500)
        regions = page.locator("[data-testid=earmark-region][data-source=human]")
        regions.nth(1).click(position={"x": 12, "y": 10})
        page.mouse.move(5, 5)
        page.wait_for_timeout(500)
        top = page.get_by_test_id("stHeading").first.bounding_box()["y"] - 10
        bottom = page.locator(".ruler").bounding_box()
        page.screenshot(path=str(out), clip={"x": 0, "y": top, "width": 1280, "height": bottom["y"] + 60 - top})
        print(f"wrote {out}")
        for path, name, text in (("", "home", "Storage used"), ("/Browse", "browse", "sounds match")):
            page.goto(f"{url}{path}")
            page.get_by_text(text).first.wait_for()
            page.wait_for_timeout(2500)
            page.screenshot(path=str(out.parent / f"{name}.png"))
            print(f"wrote {out.parent / f'{name}.png'}")
        browser.close()


TEAM = (("lea", "lea-password-1"), ("tom", "tom-password-1"))


def prepare_review(url: str, sound: dict, suggestions: list) -> None:
    """Two annotators given the interviews, two per sound: each marks the speech as they hear it (tom splits the
    second stretch in two and adds a breath), and both press Done. The administrator's regions made for Annotate's
    screenshot are taken off first (they would be a third person's lane)."""
    with Client(url, user=USER, password=PASSWORD) as admin:
        for region in list(admin.annotations(sound["id"])):
            if not region["source"]:  # so far only the administrator's own two (Annotate's screenshot)
                admin.delete_annotation(region["id"])
        for name, password in TEAM:
            admin.create_user(name, password, "human")
        admin.assign("interviews", [name for name, _ in TEAM], per_sound=2)
    speech = [(s["start_seconds"], s["end_seconds"]) for s in suggestions][:4]
    for (name, password), shift in zip(TEAM, (0.0, 0.15), strict=True):
        with Client(url, user=name, password=password) as person:
            for i, (start, end) in enumerate(speech):
                if name == "tom" and i == 1:
                    middle = (start + end) / 2
                    person.annotate(sound["id"], start=start + shift, end=middle, tags=["speech"])
                    person.annotate(sound["id"], start=middle, end=end, tags=["speech"])
                    continue
                person.annotate(sound["id"], start=start + shift, end=min(sound["duration_seconds"], end + shift), tags=["speech"])
            if name == "tom":
                person.annotate(sound["id"], start=speech[-1][1] + 0.2, end=speech[-1][1] + 0.6, tags=["breath"])
            person.submit(sound["id"])


def shoot_review(url: str, sound_id: str, out: Path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser, page = _logged_in(p, url)
        page.goto(f"{url}/Review?sound={sound_id}")
        box = page.get_by_test_id("earmark-waveform")
        box.wait_for(timeout=60_000)
        page.wait_for_function("box => box.dataset.ready === 'true'", arg=box.element_handle(), timeout=60_000)
        page.wait_for_timeout(1500)
        top = page.get_by_test_id("stHeading").nth(1).bounding_box()["y"] - 10
        bottom = page.locator(".ruler").bounding_box()
        page.screenshot(path=str(out), clip={"x": 0, "y": top, "width": 1280, "height": bottom["y"] + 60 - top})
        print(f"wrote {out}")
        browser.close()


def _logged_in(p, url: str):
    browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--headless", "--no-sandbox"])
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(url)
    page.get_by_label("Username").fill(USER)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Login").click()
    page.get_by_text("Storage used").first.wait_for()
    page.wait_for_timeout(1500)
    return browser, page


def _settled(page) -> None:
    page.wait_for_timeout(500)
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=60_000)
    page.wait_for_timeout(1000)


def shoot_team_and_download(url: str, folder: Path) -> None:
    """Team's Agreement tab with the figures computed for lea and tom; Download in splits mode over the demo
    dataset (four speakers) at 0.5 / 0.25 / 0.25, kept together by speaker, with Parquet shards chosen."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser, page = _logged_in(p, url)
        page.goto(f"{url}/Team")
        page.get_by_role("tab", name="Agreement").wait_for(timeout=60_000)
        _settled(page)
        page.get_by_role("combobox", name="Dataset").click()
        page.get_by_role("option", name="interviews").click()
        _settled(page)
        page.get_by_role("tab", name="Agreement").click()
        page.get_by_role("button", name="Compute agreement").click()
        page.get_by_test_id("stMetric").first.wait_for(timeout=60_000)
        page.mouse.move(5, 880)
        _settled(page)
        page.screenshot(path=str(folder / "team.png"), full_page=True)
        print(f"wrote {folder / 'team.png'}")
        page.set_viewport_size({"width": 1280, "height": 1500})
        page.goto(f"{url}/Download?dataset=demo")
        page.get_by_text("Every matching sound, split into train / dev / test").wait_for(timeout=60_000)
        _settled(page)
        page.get_by_text("Every matching sound, split into train / dev / test").click()
        _settled(page)
        shares = page.get_by_role("textbox", name="Splits and their shares")
        shares.fill("train=0.5,dev=0.25,test=0.25")  # the demo's four speakers: two, one and one
        shares.press("Enter")
        _settled(page)
        page.get_by_role("combobox", name="Training formats").click()
        page.get_by_role("option").filter(has_text="Parquet").first.click()
        page.keyboard.press("Escape")
        page.mouse.move(5, 1480)
        _settled(page)
        page.screenshot(path=str(folder / "download.png"), full_page=True)
        print(f"wrote {folder / 'download.png'}")
        browser.close()


if __name__ == "__main__":
    main()
