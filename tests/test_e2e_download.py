"""End to end in headless Chromium: filter on the Download page, build, click download, open the ZIP we got."""

from __future__ import annotations

import csv
import io
import re
import zipfile

import pytest

from tests.conftest import e2e_log_in, e2e_settle

pytestmark = pytest.mark.browser


def test_filter_build_download_and_open_the_zip(page, server, tmp_path):
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
    page.get_by_test_id("stBaseButton-primary").filter(has_text="Build the ZIP").click()
    expect(page.get_by_text("demo4.zip: 4 files")).to_be_visible(timeout=60_000)
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download demo4.zip").click()
    download = download_info.value
    assert download.suggested_filename == "demo4.zip"
    target = tmp_path / "demo4.zip"
    download.save_as(target)
    zf = zipfile.ZipFile(target)
    assert zf.testzip() is None
    rows = list(csv.DictReader(io.StringIO(zf.read("metadata.csv").decode())))
    assert len(rows) == 4 and {r["gender"] for r in rows} == {"f"}
    assert sorted(r["file_name"] for r in rows) == sorted(n for n in zf.namelist() if n.startswith("audio/"))
