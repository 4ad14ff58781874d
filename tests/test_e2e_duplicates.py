"""End to end in headless Chromium (issue 29, item 1): duplicates run by the command line over a WAV, its MP3, OGG,
resampled and quieter copies, a 4 s excerpt at 5 s and an unrelated recording; on Browse the filter "Only sounds
with copies" leaves the six copies, and the original's "Copies of this" lists the five with where each starts.
Screenshots are left beside the test's folder."""

from __future__ import annotations

import pytest

from tests.conftest import e2e_log_in, e2e_settle
from tests.test_core_duplicates import copies

pytestmark = pytest.mark.browser
ROW_PX = 35  # the data grid's row height


def test_browse_filters_sounds_with_copies_and_lists_a_sounds_copies(page, server, tmp_path):
    from playwright.sync_api import expect

    for name, (content, _) in copies().items():  # the original imported first: the earliest, the one the others copy
        folder = tmp_path / ("first" if name == "original.wav" else "then")
        folder.mkdir(exist_ok=True)
        (folder / name).write_bytes(content)
    for folder in ("first", "then"):
        done = server.cli("import", str(tmp_path / folder), "--dataset", "lab", "--quiet")
        assert done.returncode == 0, done.stderr
    done = server.cli("jobs", "submit", "duplicates", "--dataset", "lab", "--wait")
    assert done.returncode == 0, done.stderr

    e2e_log_in(page, server)
    page.goto(f"{server}/Browse?dataset=lab")
    e2e_settle(page)
    expect(page.get_by_text("7 sounds match; showing 1–7.")).to_be_visible()
    page.get_by_text("Only sounds with copies").click()
    e2e_settle(page)
    expect(page.get_by_text("6 sounds match; showing 1–6.")).to_be_visible()
    table = page.get_by_test_id("stDataFrame").first
    expect(table.locator("td").filter(has_text="unrelated.wav")).to_have_count(0)
    box = table.bounding_box()
    row = int(table.locator("tr").filter(has_text="original.wav").get_attribute("aria-rowindex"))  # 1: the header
    page.mouse.click(box["x"] + 12, box["y"] + ROW_PX * (row - 1) + ROW_PX / 2)  # the row's selection marker (a canvas)
    e2e_settle(page)
    expect(page.get_by_text("lab / original.wav")).to_be_visible()
    expect(page.get_by_text("Copies of this (5)")).to_be_visible()
    listed = page.get_by_test_id("stDataFrame").last
    listed.scroll_into_view_if_needed()  # the grid draws its cells once it is on screen
    e2e_settle(page)
    for name in ("copy.mp3", "copy.ogg", "resampled.wav", "quieter.wav", "excerpt.wav"):
        expect(listed.locator("td").filter(has_text=name)).to_have_count(1)
    excerpt = listed.locator("tr").filter(has_text="excerpt.wav")
    expect(excerpt.locator("td").filter(has_text="this sound")).to_have_count(1)
    assert abs(float(excerpt.locator("td").nth(3).inner_text()) - 5.0) <= 0.05
    page.screenshot(path=str(tmp_path.parent / "browse-copies-of-this.png"))
