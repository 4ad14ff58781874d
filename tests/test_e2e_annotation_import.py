"""End to end in headless Chromium: on the Upload page's Annotations tab, drop an RTTM file with a bad row and an
Audacity label track for a dataset imported by the command line, see the summary and the row left out, and find
the annotations on the sound."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.conftest import E2E_ADMIN, e2e_drop_files, e2e_log_in, e2e_settle, wav_bytes

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("EARMARK_SCREENSHOTS")  # a folder to keep the screenshot in, to look at


def test_drop_annotation_files_and_see_what_went_in(page, server, tmp_path):
    from playwright.sync_api import expect

    corpus = tmp_path / "meeting"
    (corpus / "speaker1").mkdir(parents=True)
    (corpus / "speaker1" / "a.wav").write_bytes(wav_bytes(seconds=3.0, freq=300))
    (corpus / "b.wav").write_bytes(wav_bytes(seconds=3.0, freq=500))
    done = server.cli("import", str(corpus), "--dataset", "meeting", "--quiet")
    assert done.returncode == 0, done.stderr
    (tmp_path / "diarization.rttm").write_text("SPEAKER a 1 0.500 1.000 <NA> <NA> alice <NA> <NA>\n"
                                               "SPEAKER b 1 oops 1.0 <NA> <NA> bob <NA> <NA>\n")
    (tmp_path / "b.txt").write_text("0.25\t1.75\tdog;bark\n")
    e2e_log_in(page, server)
    page.goto(f"{server}/Upload")
    e2e_settle(page)
    page.get_by_role("tab", name="Annotations").click()
    dataset = page.locator(".st-key-annotations_dataset input")
    dataset.fill("meeting")
    dataset.press("Tab")
    e2e_drop_files(page, "annotations_files", [tmp_path / "diarization.rttm", tmp_path / "b.txt"], "b.txt")
    submit = page.get_by_test_id("stBaseButton-primary").filter(has_text="Import annotations")
    expect(submit).to_be_enabled()
    submit.click()
    summary = f"2 files (audacity, rttm): 2 annotations imported as {E2E_ADMIN}'s, 0 already there, 1 row left out."
    expect(page.get_by_text(summary)).to_be_visible(timeout=60_000)
    expect(page.get_by_role("tabpanel", name="Annotations").get_by_test_id("stDataFrame")).to_be_visible()  # the row left out
    if SHOTS:
        page.get_by_text(summary).scroll_into_view_if_needed()
        page.screenshot(path=str(Path(SHOTS) / "upload-annotations.png"), full_page=True)
    sounds = {s["path"]: s["id"] for s in json.loads(server.cli("sounds", "--dataset", "meeting", "--json").stdout)}
    page.goto(f"{server}/Annotate?sound={sounds['b.wav']}")
    e2e_settle(page)
    expect(page.get_by_text("bark, dog").first).to_be_attached()  # a cell of the annotations grid (drawn on a canvas)
