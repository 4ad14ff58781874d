"""End to end in headless Chromium: submit a speech-activity job on the Jobs page, watch the app's own worker
finish it, then find its suggestions on the Annotate page and accept one."""

from __future__ import annotations

import csv
import json

import pytest
import soundfile as sf

from tests.conftest import e2e_log_in, e2e_settle
from tests.speechlike import recording

pytestmark = pytest.mark.browser


def test_submit_a_job_and_see_its_suggestions_on_annotate(page, server, tmp_path):
    from playwright.sync_api import expect

    talk = recording(3, "hum", seconds=12.0)
    (tmp_path / "talk").mkdir()
    sf.write(tmp_path / "talk" / "meeting.wav", talk.samples, talk.rate)
    assert server.cli("import", str(tmp_path / "talk"), "--dataset", "talk", "--quiet").returncode == 0
    sound = json.loads(server.cli("sounds", "--dataset", "talk", "--json").stdout)[0]

    e2e_log_in(page, server)
    page.goto(f"{server}/Jobs?dataset=talk")
    page.get_by_role("combobox", name="Analyzer").click()
    page.get_by_role("option", name="speech-activity").click()
    expect(page.get_by_text("Where people speak, as suggested segments tagged 'speech'.")).to_be_visible()
    e2e_settle(page)
    page.get_by_test_id("stBaseButton-primary").filter(has_text="Submit the job").click()
    expect(page.get_by_text("speech-activity over 1 sound;")).to_be_visible()  # queued, running, then completed
    expect(page.get_by_text("completed: speech-activity over 1 sound; 1 done, 0 failed.")).to_be_visible(timeout=60_000)
    table = page.get_by_test_id("stDataFrame").first
    expect(table.locator("td").filter(has_text="completed").first).to_be_attached(timeout=60_000)  # the app's worker ran it
    e2e_settle(page)
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download the results (CSV)").click()
    with open(download_info.value.path(), encoding="utf-8") as results:
        rows = list(csv.DictReader(results))
    assert len(rows) == len(talk.truth) and {r["tags"] for r in rows} == {"speech"} and rows[0]["path"] == sound["path"]

    page.goto(f"{server}/Annotate?sound={sound['id']}")
    expect(page.get_by_text(f"talk / {sound['path']}")).to_be_visible()
    expect(page.get_by_text(f"{len(talk.truth)} annotation(s)")).to_be_visible()
    annotations = page.get_by_test_id("stDataFrame").first
    expect(annotations.locator("td").filter(has_text="bot-speech-activity")).to_have_count(len(talk.truth))  # "by", whole
    expect(annotations.locator("td").filter(has_text="speech").first).to_be_attached()
