"""End to end in headless Chromium: filter on the Download page, one click, open the ZIP we got."""

from __future__ import annotations

import csv
import io
import re
import zipfile

import pytest

from tests.conftest import e2e_log_in, e2e_settle

pytestmark = pytest.mark.browser


def test_filter_then_one_click_downloads_the_zip(page, server, tmp_path):
    from playwright.sync_api import expect

    assert server.cli("demo", "--quiet").returncode == 0
    e2e_log_in(page, server)
    page.goto(f"{server}/Download?dataset=demo")
    where = page.get_by_role("textbox", name=re.compile("^Metadata, COLUMN=VALUE"))
    where.fill("gender=f")
    where.press("Tab")
    e2e_settle(page)
    count = page.get_by_role("textbox", name="How many sounds")
    count.fill("4")
    count.press("Tab")
    e2e_settle(page)
    button = page.get_by_role("link", name="Download 4 sounds as a ZIP")
    expect(button).to_be_visible()
    pages_before = len(page.context.pages)
    with page.expect_download() as download_info:
        button.click()
    download = download_info.value
    assert len(page.context.pages) == pages_before  # saved from this tab: no new tab opened
    assert download.suggested_filename == "demo4.zip"
    target = tmp_path / "demo4.zip"
    download.save_as(target)
    zf = zipfile.ZipFile(target)
    assert zf.testzip() is None
    rows = list(csv.DictReader(io.StringIO(zf.read("metadata.csv").decode())))
    assert len(rows) == 4 and {r["gender"] for r in rows} == {"f"}
    assert sorted(r["file_name"] for r in rows) == sorted(n for n in zf.namelist() if n.startswith("audio/"))


def test_splits_in_one_click_keep_speakers_apart(page, server, tmp_path):
    """Splits on the Download page in a real browser: the options a person sets, the sentence they read, one click,
    and a ZIP whose folders keep each speaker on one side."""
    import json

    from playwright.sync_api import expect

    assert server.cli("demo", "--quiet").returncode == 0
    e2e_log_in(page, server)
    page.goto(f"{server}/Download?dataset=demo")
    page.get_by_text("Every matching sound, split into train / dev / test").click()
    e2e_settle(page)
    shares = page.get_by_role("textbox", name="Splits and their shares")
    shares.fill("train=0.5,test=0.5")
    shares.press("Tab")
    e2e_settle(page)
    expect(page.get_by_text(re.compile(r"^All 32 sounds in train / test, one folder each"))).to_be_visible()
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download all 32 sounds as a ZIP").click()
    download = download_info.value
    assert download.suggested_filename == "demo-train-test.zip"
    download.save_as(tmp_path / "splits.zip")
    zf = zipfile.ZipFile(tmp_path / "splits.zip")
    manifest = json.loads(zf.read("manifest.json"))
    assert manifest["split"]["group_by"] == ["speaker_id"] and manifest["leakage"]["groups_across_splits"]["count"] == 0
    sides: dict[str, set[str]] = {}
    for split in ("train", "test"):
        for row in csv.DictReader(io.StringIO(zf.read(f"{split}/metadata.csv").decode())):
            sides.setdefault(row["speaker_id"], set()).add(split)
    assert len(sides) > 1 and all(len(s) == 1 for s in sides.values())
