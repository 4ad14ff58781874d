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
    where = page.get_by_role("textbox", name=re.compile("^Metadata, COLUMN=VALUE separated by commas"))
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
