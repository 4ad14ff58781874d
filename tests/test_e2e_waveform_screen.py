"""End to end in headless Chromium, checking the screen itself (issue 23): the waveform, the overview, the
spectrogram and the regions are read from element screenshots (pixels), never from attributes the component sets.
A clip that is silent but for a burst at 2-3 s must show ink in the columns of 2-3 s and a flat line elsewhere;
regions must be painted at their times, in lanes (people's apart from suggestions), overlapping ones both
visible and grabbable; 10,000 regions on a 3-hour file must leave the waveform readable. Also here: drawing over
existing regions, the first region of a dataset with no tags, keys without a click, undo and redo, and marking
a region at the playhead with [ and ]."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
import soundfile as sf

from core.accounts.users import UserService
from core.annotations.service import AnnotationService
from core.client import Client, NotFound
from core.store.config import load_settings
from core.store.db import Database
from tests.conftest import E2E_ADMIN, E2E_PASSWORD, e2e_import_one, e2e_open_sound, e2e_settle

pytestmark = pytest.mark.browser
ADMIN = (E2E_ADMIN, E2E_PASSWORD)
WAVE_HEIGHT, LANE_HEIGHT = 120, 22  # core/ui/waveform/frontend/src/waveform.ts
WAVE_RGB = (74, 111, 165)  # drawing.ts WAVE_COLOR


# -- reading the screen ----------------------------------------------------------------------------------------

def pixels(locator) -> np.ndarray:
    """What the element shows, as rows x columns x RGB (an element screenshot)."""
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(locator.screenshot())).convert("RGB")).astype(int)


def ink(image: np.ndarray, rgb=WAVE_RGB, tolerance: int = 60) -> np.ndarray:
    """Per column, how many pixels are near `rgb` (the waveform's line)."""
    return (np.abs(image - np.array(rgb)).sum(axis=2) < tolerance).sum(axis=0)


def columns(image: np.ndarray, start: float, end: float) -> slice:
    """The columns from fraction `start` to `end` of the width (a pixel in from each side)."""
    width = image.shape[1]
    return slice(int(width * start) + 1, int(width * end) - 1)


def painted(image: np.ndarray, background: np.ndarray, tolerance: int = 24) -> np.ndarray:
    """Per column, the share of pixels that differ from the background colour."""
    return ((np.abs(image - background).sum(axis=2) > tolerance).mean(axis=0))


def background_of(image: np.ndarray) -> np.ndarray:
    """The most common colour (the box's own background)."""
    flat = image.reshape(-1, 3)
    colours, counts = np.unique(flat, axis=0, return_counts=True)
    return colours[counts.argmax()]


# -- making sounds and regions -----------------------------------------------------------------------------------

def burst_clip(seconds: float = 10.0, rate: int = 16_000) -> np.ndarray:
    """Near silence, with a loud burst of noise at 2-3 s."""
    rng = np.random.default_rng(3)
    samples = rng.normal(0, 1e-4, int(seconds * rate))
    samples[2 * rate:3 * rate] = rng.uniform(-0.8, 0.8, rate)
    return samples


def add_regions(server, sound: str, segments: list[dict], *, suggestion: bool) -> None:
    """Write annotations with the product's own service, into the server's database: as the administrator, or
    as a featurebot's suggestions (what an analyzer job writes)."""
    settings = load_settings({"EARMARK_DATA_DIR": str(server.data_dir)} |
                             ({"EARMARK_DATABASE_URL": server.database_url} if server.database_url else {}), env_file=None)
    db = Database(settings.database_url)
    try:
        with db.write() as session:
            users = UserService(session)
            actor = users.system_user("screen-bot", "featurebot") if suggestion else users.by_name(E2E_ADMIN)
            AnnotationService(session).create_many(actor, sound, segments, source="speech-activity:screen" if suggestion else None)
    finally:
        db.engine.dispose()


def drag(page, box, start: float, end: float, y: float = 60) -> None:
    """Press at fraction `start` of the waveform's width, `y` pixels from its top, and let go at `end`."""
    area = box.bounding_box()
    page.mouse.move(area["x"] + area["width"] * start, area["y"] + y)
    page.mouse.down()
    page.mouse.move(area["x"] + area["width"] * (start + end) / 2, area["y"] + y, steps=5)
    page.mouse.move(area["x"] + area["width"] * end, area["y"] + y, steps=5)
    page.mouse.up()


def stored(server, annotation_id: str) -> dict:
    with Client(server, user=E2E_ADMIN, password=E2E_PASSWORD) as api:
        return api.annotation(annotation_id)


@pytest.fixture(scope="module")
def clip(server, tmp_path_factory) -> str:
    """The burst clip, with the administrator's 'dog' at 6-7 s and a suggestion at 6.5-8.5 s over it."""
    sound = e2e_import_one(server, tmp_path_factory.mktemp("clip"), "screen", "burst.wav", burst_clip(), 16_000)
    add_regions(server, sound, [{"start_seconds": 6.0, "end_seconds": 7.0, "tags": ["dog"]}], suggestion=False)
    add_regions(server, sound, [{"start_seconds": 6.5, "end_seconds": 8.5, "tags": ["speech"]}], suggestion=True)
    return sound


# -- the tests ---------------------------------------------------------------------------------------------------

def test_the_waveform_overview_spectrogram_and_regions_are_on_the_screen(page, server, clip):
    from playwright.sync_api import expect

    box = e2e_open_sound(page, server, clip)
    box.screenshot(path=str(server.data_dir.parent / "screen-clip.png"))
    wave = pixels(box)[:WAVE_HEIGHT]
    line = ink(wave)
    loud, quiet = line[columns(wave, 0.2, 0.3)], line[columns(wave, 0.35, 0.55)]
    assert loud.min() > 0.4 * WAVE_HEIGHT, loud  # the burst fills most of the height
    assert quiet.max() <= 4, quiet  # silence: a flat line, a pixel or two high
    assert line[columns(wave, 0.0, 0.18)].max() <= 4

    lanes = pixels(box)[WAVE_HEIGHT:]
    assert lanes.shape[0] >= 2 * LANE_HEIGHT - 2  # a lane for people's regions, one for the suggestion
    people, machine = lanes[2:LANE_HEIGHT - 2], lanes[LANE_HEIGHT + 2:2 * LANE_HEIGHT - 2]  # each lane's own background
    assert painted(people, background_of(people))[columns(lanes, 0.61, 0.69)].min() > 0.8  # 'dog', 6-7 s, first lane
    assert painted(people, background_of(people))[columns(lanes, 0.1, 0.55)].max() < 0.1
    assert painted(people, background_of(people))[columns(lanes, 0.72, 0.95)].max() < 0.1
    assert painted(machine, background_of(machine))[columns(lanes, 0.66, 0.84)].min() > 0.5  # the suggestion, 6.5-8.5 s
    assert painted(machine, background_of(machine))[columns(lanes, 0.1, 0.6)].max() < 0.2
    tint = painted(wave, background_of(wave), tolerance=12)
    assert tint[columns(wave, 0.61, 0.69)].min() > 0.8 > 0.2 > tint[columns(wave, 0.4, 0.55)].max()  # 'dog' tinted

    overview = pixels(page.get_by_test_id("earmark-overview"))
    whole = ink(overview, tolerance=120)
    assert whole[columns(overview, 0.21, 0.29)].min() > 0.3 * overview.shape[0]
    assert whole[columns(overview, 0.35, 0.55)].max() <= 4

    page.get_by_role("button", name="Spectrogram").click()
    picture = page.get_by_test_id("earmark-spectrogram")
    expect(picture).to_be_visible()
    page.wait_for_function("image => image.complete && image.naturalWidth > 0", arg=picture.element_handle())
    image = pixels(picture).mean(axis=2)  # Viridis: energy is bright, silence dark
    assert image[:, columns(image, 0.21, 0.29)].mean() > image[:, columns(image, 0.4, 0.55)].mean() + 40


def test_regions_are_drawn_over_suggestions_and_people_s_regions_and_each_stays_grabbable(page, server, clip):
    from playwright.sync_api import expect

    box = e2e_open_sound(page, server, clip)
    page.get_by_test_id("earmark-tag").filter(has_text="dog").click()
    drag(page, box, 0.62, 0.80)  # on the waveform, over 'dog' (6-7 s) and the suggestion (6.5-8.5 s)
    expect(page.locator("[data-testid=earmark-region][data-source=human][data-saved=true]")).to_have_count(2)
    made = [r for r in page.locator("[data-testid=earmark-region][data-source=human]").all() if r.get_attribute("data-start") != "6"]
    assert len(made) == 1
    new = made[0]
    start, end = float(new.get_attribute("data-start")), float(new.get_attribute("data-end"))
    assert 6.1 < start < 6.3 and 7.9 < end < 8.1
    assert round(start, 3) == start and round(end, 3) == end  # to the millisecond, no float noise
    row = stored(server, new.get_attribute("data-id"))
    assert abs(row["start_seconds"] - start) < 1e-6 and row["tags"] == ["dog"]
    assert new.get_attribute("data-lane") == "1"  # it overlaps 'dog': a lane of its own, both in view
    dog = page.locator("[data-testid=earmark-region][data-start='6']")
    assert dog.get_attribute("data-lane") == "0" and dog.is_visible() and new.is_visible()

    # the person's region under it is still grabbed by its bar: its right edge, to 7.5 s
    area, wide = dog.bounding_box(), box.bounding_box()["width"]
    y = area["y"] + area["height"] / 2
    page.mouse.move(area["x"] + area["width"] - 2, y)
    page.mouse.down()
    page.mouse.move(area["x"] + area["width"] - 2 + 0.05 * wide, y, steps=5)
    page.mouse.up()
    expect(dog).to_have_attribute("data-saved", "true")
    dog_end = float(dog.get_attribute("data-end"))
    assert 7.4 < dog_end < 7.6 and abs(stored(server, dog.get_attribute("data-id"))["end_seconds"] - dog_end) < 1e-5
    # and the suggestion's bar is selected by a click and accepted by key
    suggestion = page.locator("[data-testid=earmark-region][data-source=suggestion]")
    suggestion.click(position={"x": 40, "y": 10})
    page.keyboard.press("a")
    expect(page.locator("[data-testid=earmark-region][data-source=human][data-saved=true]")).to_have_count(3)
    with Client(server, user=E2E_ADMIN, password=E2E_PASSWORD) as api:
        rows = list(api.annotations(clip))
    assert sorted((r["source"] is None, round(r["start_seconds"], 1)) for r in rows)[:3] == [(True, 6.0), (True, 6.2), (True, 6.5)]
    lanes = pixels(box)[WAVE_HEIGHT:]
    assert lanes.shape[0] >= 3 * LANE_HEIGHT - 2  # three people's regions, each overlapping the next: three lanes


def test_keys_without_a_click_undo_redo_and_marks_at_the_playhead(page, server, tmp_path):
    from playwright.sync_api import expect

    sound = e2e_import_one(server, tmp_path, "keys", "keys.wav", burst_clip(), 16_000)
    box = e2e_open_sound(page, server, sound)
    # no click anywhere: the pointer over the waveform is enough for I
    area = box.bounding_box()
    page.mouse.move(area["x"] + area["width"] * 0.25, area["y"] + 40)  # 2.5 s
    page.keyboard.press("i")
    expect(box).to_have_attribute("data-view-start", "1.2500")
    page.mouse.move(5, 5)  # away from it: still the only waveform on the page, so O acts on it
    page.keyboard.press("o")
    expect(box).to_have_attribute("data-view-start", "0.0000")
    expect(box).to_have_attribute("data-view-end", "10.0000")

    # the first region on a dataset with no tags: drawn, and the cursor goes to the tag box
    drag(page, box, 0.1, 0.2)
    new_tag = page.locator(".new-tag")
    expect(new_tag).to_be_focused()
    page.keyboard.type("speech")
    page.keyboard.press("Enter")
    region = page.locator("[data-testid=earmark-region][data-tags=speech]")
    expect(region).to_have_attribute("data-saved", "true")
    first_id = region.get_attribute("data-id")
    assert stored(server, first_id)["tags"] == ["speech"]

    # a move by mistake, undone (saved again as it was), then redone
    shown = region.get_attribute("data-start")
    before = float(shown)
    bar = region.bounding_box()
    page.mouse.move(bar["x"] + bar["width"] / 2, bar["y"] + bar["height"] / 2)
    page.mouse.down()
    page.mouse.move(bar["x"] + bar["width"] / 2 + 0.2 * area["width"], bar["y"] + bar["height"] / 2, steps=5)
    page.mouse.up()
    expect(region).to_have_attribute("data-saved", "true")
    moved = float(region.get_attribute("data-start"))
    assert 2.9 < moved < 3.1
    page.keyboard.press("Control+z")
    expect(region).to_have_attribute("data-start", shown)
    expect(region).to_have_attribute("data-saved", "true")
    assert abs(stored(server, first_id)["start_seconds"] - before) < 1e-6
    page.keyboard.press("Control+Shift+z")
    expect(region).not_to_have_attribute("data-start", shown)
    expect(region).to_have_attribute("data-saved", "true")
    assert abs(stored(server, first_id)["start_seconds"] - moved) < 1e-6

    # delete, undo: it is stored again; undo the drawing itself: gone from the server
    page.keyboard.press("Delete")
    expect(region).to_have_count(0)
    page.keyboard.press("Control+z")
    expect(region).to_have_attribute("data-saved", "true")
    again = region.get_attribute("data-id")
    assert again != first_id and stored(server, again)["tags"] == ["speech"]
    with pytest.raises(NotFound):
        stored(server, first_id)

    # [ and ] at the playhead while it plays: a region from where [ was pressed to where ] was
    page.mouse.click(area["x"] + area["width"] * 0.5, area["y"] + 40)  # the cursor at 5 s
    playhead = page.get_by_test_id("earmark-playhead").element_handle()
    played = "([head, t]) => Number(head.dataset.time) > t"
    page.keyboard.press(" ")
    page.wait_for_function(played, arg=[playhead, 5.3])
    page.keyboard.press("[")
    page.wait_for_function(played, arg=[playhead, 6.4])
    page.keyboard.press("]")
    page.keyboard.press(" ")
    marked = page.locator("[data-testid=earmark-region][data-saved=true]")
    expect(marked).to_have_count(2)
    start, end = sorted((float(r.get_attribute("data-start")), float(r.get_attribute("data-end"))) for r in marked.all())[1]
    assert 5.3 < start < 6.0 and 6.4 < end < 7.5, (start, end)

    # a tag typed with nothing selected becomes the tag new regions get, and stays in the dataset's palette after a
    # reload although no region has it; after clicking a palette chip the keys still act on the waveform
    page.keyboard.press("Escape")
    page.locator(".new-tag").fill("cough")
    page.locator(".new-tag").press("Enter")
    chip = page.locator("[data-testid=earmark-tag][data-tag=cough]")
    expect(chip).to_have_class("current")
    page.wait_for_timeout(500)  # the tag is sent to the dataset's vocabulary in the background
    page.reload()
    expect(box).to_have_attribute("data-ready", "true", timeout=30_000)
    expect(chip).to_have_count(1)
    assert [t.get_attribute("data-tag") for t in page.get_by_test_id("earmark-tag").all()] == ["speech", "cough"]
    chip.click()
    page.mouse.move(area["x"] + area["width"] * 0.25, area["y"] + 40)
    page.keyboard.press("i")
    expect(box).to_have_attribute("data-view-end", "6.2500")


def test_ten_thousand_regions_on_a_three_hour_file_leave_the_waveform_readable(page, server, tmp_path):
    from playwright.sync_api import expect

    rate, folder = 8000, tmp_path / "night"
    folder.mkdir()
    t = np.arange(600 * rate) / rate
    tone = (0.5 * np.sin(2 * np.pi * 300 * t)).astype(np.float32)
    with sf.SoundFile(folder / "night.flac", "w", rate, 1, subtype="PCM_16") as out:
        for block in range(18):  # ten minutes at a time: loud in the first hour and the last, silent between
            out.write(tone if block < 6 or block >= 12 else np.zeros_like(tone))
    assert server.cli("import", str(folder), "--dataset", "night", "--quiet").returncode == 0
    sound = json.loads(server.cli("sounds", "--dataset", "night", "--json").stdout)[0]["id"]
    people = [{"start_seconds": 1.8 * i, "end_seconds": 1.8 * i + 1.2, "tags": ["word"]} for i in range(2000)]  # first hour
    machine = [{"start_seconds": 1.35 * i, "end_seconds": 1.35 * i + 1.0, "tags": ["speech"]} for i in range(8000)]
    add_regions(server, sound, people, suggestion=False)
    add_regions(server, sound, machine, suggestion=True)

    box = e2e_open_sound(page, server, sound)
    expect(page.get_by_test_id("earmark-region")).to_have_count(0)  # every region narrower than a pixel: painted
    box.screenshot(path=str(server.data_dir.parent / "screen-10000.png"))
    image = pixels(box)
    wave, lanes = image[:WAVE_HEIGHT], image[WAVE_HEIGHT:]
    line = ink(wave, tolerance=90)
    assert line[columns(wave, 0.02, 0.3)].min() > 0.4 * WAVE_HEIGHT  # the first hour loud, under its regions' tint
    assert line[columns(wave, 0.37, 0.63)].max() <= 4  # the second silent: a flat line
    assert line[columns(wave, 0.7, 0.98)].min() > 0.4 * WAVE_HEIGHT
    first = lanes[2:LANE_HEIGHT - 2]
    shade = painted(first, np.array([240, 242, 246]))  # the lane's own background (Streamlit's secondary)
    assert shade[columns(lanes, 0.01, 0.32)].min() > 0.5 and shade[columns(lanes, 0.36, 0.99)].max() < 0.1
    machine_lanes = lanes[LANE_HEIGHT:]
    assert painted(machine_lanes, background_of(machine_lanes[-3:]))[columns(lanes, 0.01, 0.99)].min() > 0.2

    area = box.bounding_box()
    page.mouse.move(area["x"] + area["width"] * 0.15, area["y"] + 40)  # in the first hour: I zooms around 1,620 s
    for _ in range(9):  # 10,800 s halved nine times: about 21 s, where each region is wide enough to grab
        page.keyboard.press("i")
        expect(box).to_have_attribute("data-ready", "true")
    count = page.get_by_test_id("earmark-region").count()
    assert 10 < count <= 400, count
    image = pixels(box)
    assert ink(image[:WAVE_HEIGHT], tolerance=90)[columns(image, 0.05, 0.95)].min() > 0.4 * WAVE_HEIGHT  # drawn there too


def test_the_classic_chart_gets_the_keys_back_once_the_waveform_is_unmounted(page, server, clip):
    """Switching to the classic chart unmounts the component: its window listeners go with it, so I reaches the
    page's own Zoom in shortcut instead of a waveform that is no longer there."""
    from playwright.sync_api import expect

    box = e2e_open_sound(page, server, clip)
    page.mouse.move(5, 5)
    page.keyboard.press("i")  # the only waveform on the page: it takes I
    expect(box).to_have_attribute("data-view-end", "7.5000")
    page.get_by_text("Classic chart", exact=True).click()
    e2e_settle(page)
    expect(page.get_by_test_id("earmark-waveform")).to_have_count(0)
    expect(page.get_by_text("Showing 0.000–10.000 s", exact=False)).to_be_visible()
    page.evaluate("document.activeElement && document.activeElement.blur()")
    page.keyboard.press("i")
    expect(page.get_by_text("Showing 2.500–7.500 s", exact=False)).to_be_visible()


def test_two_fingers_pinch_to_zoom_on_a_touch_screen(page, server, clip):
    box = e2e_open_sound(page, server, clip)
    cdp = page.context.new_cdp_session(page)
    cdp.send("Emulation.setTouchEmulationEnabled", {"enabled": True, "maxTouchPoints": 5})
    area = box.bounding_box()
    y, centre = area["y"] + 50, area["x"] + area["width"] * 0.5

    def touch(kind: str, spread: float) -> None:
        points = [] if kind == "touchEnd" else [{"x": centre - spread, "y": y, "id": 1}, {"x": centre + spread, "y": y, "id": 2}]
        cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})

    touch("touchStart", 40)
    for spread in (60, 90, 120, 160):  # the fingers move apart: zoom in around their middle, 4x in all
        touch("touchMove", spread)
    touch("touchEnd", 0)
    page.wait_for_function("box => box.dataset.ready === 'true' && box.dataset.viewEnd - box.dataset.viewStart < 3", arg=box.element_handle())
    start, end = float(box.get_attribute("data-view-start")), float(box.get_attribute("data-view-end"))
    assert abs((end - start) - 2.5) < 0.1 and abs((start + end) / 2 - 5.0) < 0.1, (start, end)
    assert page.locator("[data-testid=earmark-region][data-saved=false]").count() == 0  # no region drawn by the fingers
