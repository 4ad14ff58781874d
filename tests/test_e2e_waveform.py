"""End to end in headless Chromium: the waveform component (issue 13, in progress) draws a view from the server's
peaks, draws and deletes regions saved through the API, zooms and scrolls in the browser, and plays with a
moving playhead."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf

from core.client import Client, NotFound
from tests.conftest import E2E_ADMIN, E2E_PASSWORD, e2e_log_in, e2e_settle

pytestmark = pytest.mark.browser


def view_of(box) -> tuple[float, float]:
    return float(box.get_attribute("data-view-start")), float(box.get_attribute("data-view-end"))


def test_the_component_draws_zooms_scrolls_and_plays(page, server, tmp_path):
    from playwright.sync_api import expect

    folder = tmp_path / "long"
    folder.mkdir()
    t = np.arange(60 * 16_000) / 16_000
    sf.write(folder / "minute.wav", 0.3 * np.sin(2 * np.pi * 220 * t) * (t / 60), 16_000, subtype="PCM_16")
    assert server.cli("import", str(folder), "--dataset", "long", "--quiet").returncode == 0
    sound = json.loads(server.cli("sounds", "--dataset", "long", "--json").stdout)[0]
    with Client(server, user=E2E_ADMIN, password=E2E_PASSWORD) as api:
        made = api.annotate(sound["id"], start=20.0, end=24.5, tags=["bird", "far"])
    e2e_log_in(page, server)
    page.goto(f"{server}/Annotate?sound={sound['id']}")
    e2e_settle(page)
    page.get_by_text("Interactive waveform").click()
    box = page.get_by_test_id("earmark-waveform")
    expect(box).to_have_attribute("data-ready", "true", timeout=30_000)
    assert view_of(box) == (0.0, 60.0)
    region = page.get_by_test_id("earmark-region")
    expect(region).to_have_count(1)
    assert {k: region.get_attribute(f"data-{k}") for k in ("id", "start", "end", "tags", "source", "saved")} == {
        "id": made["id"], "start": "20", "end": "24.5", "tags": "bird;far", "source": "human", "saved": "true"}
    left = region.bounding_box()["x"] - box.bounding_box()["x"]
    assert abs(left / box.bounding_box()["width"] - 20 / 60) < 0.01  # time linear in x

    tags = page.get_by_test_id("earmark-tag")
    expect(tags).to_have_count(2)
    palette = [tags.nth(i).get_attribute("data-tag") for i in range(2)]
    box.focus()
    page.keyboard.press("2")  # the second tag for new regions
    area = box.bounding_box()
    y = area["y"] + area["height"] / 2
    page.mouse.move(area["x"] + area["width"] * 0.6, y)
    page.mouse.down()
    page.mouse.move(area["x"] + area["width"] * 0.7, y, steps=4)
    page.mouse.move(area["x"] + area["width"] * 0.8, y, steps=4)
    page.mouse.up()
    drawn = page.locator(f"[data-testid=earmark-region][data-saved=true][data-tags='{palette[1]}']")
    expect(drawn).to_have_count(1)
    new_id = drawn.get_attribute("data-id")
    assert 35.5 < float(drawn.get_attribute("data-start")) < 36.5 and 47.5 < float(drawn.get_attribute("data-end")) < 48.5
    with Client(server, user=E2E_ADMIN, password=E2E_PASSWORD) as api:
        stored = api.annotation(new_id)
        assert stored["tags"] == [palette[1]] and abs(stored["start_seconds"] - float(drawn.get_attribute("data-start"))) < 1e-6
    drawn.click()
    page.keyboard.press("Delete")
    expect(page.locator(f"[data-testid=earmark-region][data-id='{new_id}']")).to_have_count(0)
    with Client(server, user=E2E_ADMIN, password=E2E_PASSWORD) as api:
        with pytest.raises(NotFound):
            for _ in range(50):  # the DELETE is sent in the background
                api.annotation(new_id)
                page.wait_for_timeout(100)
    box.focus()
    page.keyboard.press("i")
    expect(box).to_have_attribute("data-view-end", "45.0000")
    expect(box).to_have_attribute("data-ready", "true")
    assert view_of(box) == (15.0, 45.0)  # half of it, around the centre
    page.keyboard.press("ArrowRight")
    expect(box).to_have_attribute("data-view-start", "21.0000")
    area = box.bounding_box()
    page.mouse.move(area["x"] + area["width"] * 0.25, area["y"] + area["height"] / 2)
    page.mouse.wheel(0, -300)  # zoom in around the pointer
    expect(box).not_to_have_attribute("data-view-start", "21.0000")
    start, end = view_of(box)
    assert end - start < 30 and start <= 28.5 <= end  # the time under the pointer stays in view
    expect(box).to_have_attribute("data-ready", "true")
    playhead = page.get_by_test_id("earmark-playhead")
    page.mouse.click(area["x"] + area["width"] * 0.5, area["y"] + area["height"] / 2)  # seek to the middle
    cursor = float(playhead.get_attribute("data-time"))
    assert start < cursor < end
    box.focus()
    page.keyboard.press(" ")
    page.wait_for_timeout(1500)
    assert float(playhead.get_attribute("data-time")) > cursor + 0.5  # it plays and the playhead moves
