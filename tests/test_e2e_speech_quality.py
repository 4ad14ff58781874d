"""End to end in headless Chromium (issue 29, item 2): speech-quality run by the command line over three
recordings of the same speech (clean, and in noise at 12 and 0 dB), then on Browse the scores sorted, shown as a
column, filtered by a range, with the sentence that DNSMOS runs low. A screenshot is left beside the test's folder."""

from __future__ import annotations

import pytest
import soundfile as sf

from core.jobs.analyzers.speech_quality import RANKING_NOTE
from tests.conftest import e2e_log_in, e2e_settle
from tests.speechlike import recording

pytestmark = pytest.mark.browser

LEVELS = {"clean.wav": "clean", "noisy-12db.wav": "white 12 dB", "noisy-0db.wav": "white 0 dB"}


def test_browse_ranks_sounds_by_speech_quality(page, server, tmp_path):
    from playwright.sync_api import expect

    (tmp_path / "takes").mkdir()
    for name, level in LEVELS.items():
        sf.write(tmp_path / "takes" / name, recording(3, level, seconds=10.0).samples, 16_000, subtype="PCM_16")
    assert server.cli("import", str(tmp_path / "takes"), "--dataset", "takes", "--quiet").returncode == 0
    done = server.cli("jobs", "submit", "speech-quality", "--dataset", "takes", "--wait")
    assert done.returncode == 0, done.stderr

    e2e_log_in(page, server)
    page.goto(f"{server}/Browse?dataset=takes")
    e2e_settle(page)
    page.get_by_role("combobox", name="Sort by").click()
    page.get_by_role("option", name="speech_quality.bak").click()
    e2e_settle(page)
    expect(page.get_by_text(RANKING_NOTE)).to_be_visible()
    table = page.get_by_test_id("stDataFrame").first
    expect(table.locator("th").filter(has_text="speech_quality.bak")).to_be_attached()  # next to the path
    order = ["noisy-0db.wav", "noisy-12db.wav", "clean.wav"]  # the noisiest first
    for name in order:
        expect(table.locator("td").filter(has_text=name)).to_have_count(1)
    rows = [int(table.locator("tr").filter(has_text=name).get_attribute("aria-rowindex")) for name in order]
    assert rows == sorted(rows), rows
    page.screenshot(path=str(tmp_path.parent / "browse-speech-quality.png"), full_page=True)

    page.get_by_label("Metadata, COLUMN=VALUE or COLUMN>=NUMBER").fill("speech_quality.snr_db>=6")
    page.keyboard.press("Enter")
    e2e_settle(page)
    expect(page.get_by_text("2 sounds match; showing 1–2.")).to_be_visible()
    expect(table.locator("td").filter(has_text="noisy-0db.wav")).to_have_count(0)
