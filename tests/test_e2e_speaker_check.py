"""End to end in headless Chromium (issue 29, item 3): speaker-check run by the command line over synthetic voices
imported with a metadata table (one file of id00018's voice filed under id00017), then on Browse the flagged file
found by filtering on speaker_check.flagged=true, its sentence in its metadata and "sounds like this" listing
id00018's files. A screenshot is left beside the test's folder."""

from __future__ import annotations

import csv

import pytest
import soundfile as sf

from tests.conftest import e2e_log_in, e2e_settle
from tests.speechlike import speech_of
from tests.test_core_speaker_check import SECONDS, THRESHOLD, VOICES

pytestmark = pytest.mark.browser
ROW_PX = 35  # the height of a row of Streamlit's data grid


def test_browse_finds_the_file_filed_under_the_wrong_speaker(page, server, tmp_path):
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import expect

    folder = tmp_path / "voices"
    rows = []
    for number, (speaker, voice) in enumerate(VOICES.items()):
        (folder / speaker).mkdir(parents=True)
        for take in range(4):
            sf.write(folder / speaker / f"{take}.wav", speech_of(voice, 10 * number + take, SECONDS), 16_000, subtype="PCM_16")
            rows.append({"path": f"{speaker}/{take}.wav", "speaker_id": speaker})
    sf.write(folder / "id00017" / "wrong.wav", speech_of(VOICES["id00018"], 4242, SECONDS), 16_000, subtype="PCM_16")
    rows.append({"path": "id00017/wrong.wav", "speaker_id": "id00017"})
    with (tmp_path / "speakers.csv").open("w", newline="") as table:
        writer = csv.DictWriter(table, ["path", "speaker_id"])
        writer.writeheader()
        writer.writerows(rows)
    done = server.cli("import", str(folder), "--dataset", "voices", "--metadata", str(tmp_path / "speakers.csv"),
                      "--path-column", "path", "--quiet")
    assert done.returncode == 0, done.stderr
    done = server.cli("jobs", "submit", "speaker-check", "--dataset", "voices", "--param", f"threshold={THRESHOLD}", "--wait")
    assert done.returncode == 0, done.stderr

    e2e_log_in(page, server)
    page.goto(f"{server}/Browse?dataset=voices")
    e2e_settle(page)
    page.get_by_label("Metadata, COLUMN=VALUE or COLUMN>=NUMBER").fill("speaker_check.flagged=true")
    page.keyboard.press("Enter")
    e2e_settle(page)
    expect(page.get_by_text("1 sound matches; showing 1–1.")).to_be_visible()
    table = page.get_by_test_id("stDataFrame").first
    cell = table.locator("td").filter(has_text="id00017/wrong.wav")
    expect(cell).to_have_count(1)
    box = table.bounding_box()
    row = int(table.locator("tr").filter(has_text="id00017/wrong.wav").get_attribute("aria-rowindex"))  # 1: the header
    chosen = page.get_by_text("voices / id00017/wrong.wav")
    for _ in range(3):  # on a busy machine a click made while the page reruns is lost: click again
        page.mouse.click(box["x"] + 12, box["y"] + ROW_PX * (row - 1) + ROW_PX / 2)  # the row's selection marker (a canvas)
        e2e_settle(page)
        try:
            chosen.wait_for(timeout=10_000)
            break
        except PlaywrightTimeout:
            continue
    expect(chosen).to_be_visible()
    expect(page.get_by_text("voice differs from id00017's").first).to_be_visible()
    expect(page.get_by_text("Sounds like this, by voice")).to_be_visible()
    alike = page.get_by_test_id("stDataFrame").last
    for take in range(4):
        expect(alike.locator("td").filter(has_text=f"id00018/{take}.wav")).to_have_count(1)
    page.screenshot(path=str(tmp_path.parent / "browse-speaker-check.png"), full_page=True)
    alike.scroll_into_view_if_needed()
    page.screenshot(path=str(tmp_path.parent / "browse-sounds-like-this.png"))
