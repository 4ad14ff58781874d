"""End to end in headless Chromium: drag across the real waveform, tag the segment, save it, and find it in the
annotations table after a reload."""

from __future__ import annotations

import json

import pytest

from tests.conftest import e2e_log_in, e2e_settle

pytestmark = pytest.mark.browser


def drag(page, waveform, start, left: float, right: float) -> None:
    """Drag across the waveform from ``left`` to ``right`` (fractions of its width) until the form shows a start.

    The figure is drawn again by the browser after each run; on a busy machine a drag can land while it is being
    redrawn and is lost, as it would be for a person, who drags again. So: up to three drags.
    """
    from playwright.sync_api import expect

    for attempt in range(3):
        waveform.scroll_into_view_if_needed()  # saving leaves the page scrolled down to the form
        area = waveform.bounding_box()
        y = area["y"] + area["height"] / 2
        page.mouse.move(area["x"] + area["width"] * left, y)
        page.mouse.down()
        page.mouse.move(area["x"] + area["width"] * (left + right) / 2, y, steps=5)
        page.mouse.move(area["x"] + area["width"] * right, y, steps=5)
        page.mouse.up()
        try:
            expect(start).not_to_have_value("0.000", timeout=10_000)
            return
        except AssertionError:
            if attempt == 2:
                raise
            e2e_settle(page)


def tag_and_save(page, tags, tag: str) -> None:
    """Type a tag into the form's tag picker, close it, and save the segment."""
    tags.click()
    tags.fill(tag)
    tags.press("Enter")
    page.keyboard.press("Escape")
    e2e_settle(page)  # picking a tag reruns the page: a click during that rerun is lost
    page.get_by_test_id("stBaseButton-primary").filter(has_text="Save segment").click()


def test_drag_tag_save_and_find_it_after_a_reload(page, server):
    from playwright.sync_api import expect

    assert server.cli("demo", "--quiet").returncode == 0
    first = json.loads(server.cli("sounds", "--json").stdout)[0]
    e2e_log_in(page, server)
    page.goto(f"{server}/Annotate?sound={first['id']}")
    expect(page.get_by_text(f"demo / {first['path']}")).to_be_visible()
    page.get_by_text("Classic chart", exact=True).click()  # the box-select chart and the form, for precise edits
    e2e_settle(page)
    waveform = page.locator(".js-plotly-plot").nth(1).locator(".nsewdrag").first
    expect(waveform).to_be_visible()
    start = page.locator(".st-key-seg_start").get_by_role("spinbutton")  # not the edit form's "Start (s)"
    end = page.locator(".st-key-seg_end").get_by_role("spinbutton")
    drag(page, waveform, start, 0.25, 0.50)
    begin, finish = float(start.input_value()), float(end.input_value())
    duration = first["duration_seconds"]
    assert finish > begin and begin == pytest.approx(0.25 * duration, abs=0.05 * duration)

    tags = page.get_by_role("combobox", name="Tags (pick, or type a new one)")
    tag_and_save(page, tags, "kick")
    expect(page.get_by_text(f"Saved {begin:.3f}–{finish:.3f} s (kick).")).to_be_visible()

    # a second segment right after: the form must start empty, not with the first one's tags
    e2e_settle(page)
    drag(page, waveform, start, 0.6, 0.7)
    assert float(start.input_value()) == pytest.approx(0.6 * duration, abs=0.05 * duration)
    tag_and_save(page, tags, "snare")
    expect(page.get_by_text(" s (snare).")).to_be_visible()

    page.reload()
    expect(page.get_by_text(f"demo / {first['path']}")).to_be_visible()
    expect(page.get_by_text("2 annotation(s)")).to_be_visible()
    table = page.get_by_test_id("stDataFrame").first
    expect(table).to_be_visible()
    expect(table.locator("td").filter(has_text="kick").first).to_be_attached()  # the grid's accessible copy of its cells
    expect(table.locator("td").filter(has_text="kick, snare")).to_have_count(0)  # the tags did not carry over
