"""End to end in headless Chromium: the Annotate page's waveform component (issue 13). Regions drawn, resized by an
edge, moved by the body, labelled by key and by a typed tag, transcribed with Enter, deleted, each saved through
the API (read back to check); a stale edit refused (409) and undone; another person's region left alone; machine
suggestions accepted and rejected by key; playback with a moving playhead, loop and rate; zoom and scroll, down to
a second of a 3-hour file without loading it."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
import soundfile as sf

from core.client import Client, NotFound
from tests.conftest import E2E_ADMIN, E2E_PASSWORD, e2e_import_one, e2e_open_sound, e2e_settle
from tests.speechlike import recording

pytestmark = pytest.mark.browser
HAL = ("hal", "hal-password-1")


def view_of(box) -> tuple[float, float]:
    return float(box.get_attribute("data-view-start")), float(box.get_attribute("data-view-end"))


@pytest.fixture(scope="module")
def minute(server, tmp_path_factory) -> str:
    """A 60-second sine that fades in, an administrator's region on it at 20-24.5 s, and the annotator hal."""
    t = np.arange(60 * 16_000) / 16_000
    sound = e2e_import_one(server, tmp_path_factory.mktemp("minute"), "long", "minute.wav",
                       0.3 * np.sin(2 * np.pi * 220 * t) * (t / 60), 16_000, subtype="PCM_16")
    with Client(server, user=E2E_ADMIN, password=E2E_PASSWORD) as admin:
        admin.annotate(sound, start=20.0, end=24.5, tags=["bird", "far"])
        admin.create_user(*HAL, "human")
    return sound


def drag(page, box, start: float, end: float, steps: int = 6) -> None:
    """Press at ``start`` and let go at ``end`` (fractions of the waveform's width), as a hand would."""
    area = box.bounding_box()
    y = area["y"] + area["height"] / 2
    page.mouse.move(area["x"] + area["width"] * start, y)
    page.mouse.down()
    page.mouse.move(area["x"] + area["width"] * (start + end) / 2, y, steps=steps)
    page.mouse.move(area["x"] + area["width"] * end, y, steps=steps)
    page.mouse.up()


def stored(server, annotation_id: str, user=HAL) -> dict:
    with Client(server, user=user[0], password=user[1]) as api:
        return api.annotation(annotation_id)


def gone_soon(page, server, annotation_id: str, user=(E2E_ADMIN, E2E_PASSWORD)) -> None:
    """The annotation is deleted within five seconds (the page sends its DELETE in the background)."""
    with pytest.raises(NotFound):
        for _ in range(50):
            stored(server, annotation_id, user)
            page.wait_for_timeout(100)


def bounds(region) -> tuple[float, float]:
    return float(region.get_attribute("data-start")), float(region.get_attribute("data-end"))


def test_regions_are_drawn_resized_moved_labelled_transcribed_and_deleted(page, server, minute):
    from playwright.sync_api import expect

    box = e2e_open_sound(page, server, minute, HAL)
    assert view_of(box) == (0.0, 60.0)
    theirs = page.get_by_test_id("earmark-region")
    expect(theirs).to_have_count(1)
    assert {k: theirs.get_attribute(f"data-{k}") for k in ("start", "end", "tags", "source", "saved")} == {
        "start": "20", "end": "24.5", "tags": "bird;far", "source": "human", "saved": "true"}
    left = theirs.bounding_box()["x"] - box.bounding_box()["x"]
    assert abs(left / box.bounding_box()["width"] - 20 / 60) < 0.01  # time linear in x

    # someone else's region: hal cannot move it by its bar, and is told why (nothing is sent)
    bar = theirs.bounding_box()
    page.mouse.move(bar["x"] + bar["width"] / 2, bar["y"] + bar["height"] / 2)
    page.mouse.down()
    page.mouse.move(bar["x"] + bar["width"] / 2 + 0.1 * box.bounding_box()["width"], bar["y"] + bar["height"] / 2, steps=6)
    page.mouse.up()
    expect(page.get_by_role("status")).to_have_text("Only its author or an administrator can change this annotation.")
    assert bounds(theirs) == (20.0, 24.5)

    tags = page.get_by_test_id("earmark-tag")
    expect(tags).to_have_count(2)
    palette = [tags.nth(i).get_attribute("data-tag") for i in range(2)]
    page.keyboard.press("Escape")
    box.focus()
    page.keyboard.press("2")  # nothing selected: the tag new regions get
    drag(page, box, 0.6, 0.8)
    mine = page.locator(f"[data-testid=earmark-region][data-tags='{palette[1]}']")
    expect(mine).to_have_count(1)  # on mouse-up, before the server answers
    expect(mine).to_have_attribute("data-saved", "true")
    new_id = mine.get_attribute("data-id")
    start, end = bounds(mine)
    assert 35.5 < start < 36.5 and 47.5 < end < 48.5
    row = stored(server, new_id)
    assert row["tags"] == [palette[1]] and abs(row["start_seconds"] - start) < 1e-6 and row["version"] == 1
    region = page.locator(f"[data-testid=earmark-region][data-id='{new_id}']")
    page.keyboard.press("1")  # a new region is selected: a digit adds that tag to it at once
    expect(region).to_have_attribute("data-tags", ";".join(sorted(palette)))  # as the server keeps them, once saved
    expect(region).to_have_attribute("data-saved", "true")
    assert sorted(stored(server, new_id)["tags"]) == sorted(palette)
    # two seconds after the last change the page runs once and its counts (and table) catch up; the region stays
    expect(page.get_by_text("2 annotation(s)", exact=False)).to_be_visible(timeout=15_000)
    e2e_settle(page)
    expect(region).to_have_attribute("data-saved", "true")

    area = region.bounding_box()
    y = area["y"] + area["height"] / 2
    page.mouse.move(area["x"] + area["width"] - 2, y)  # the right edge: resize
    page.mouse.down()
    page.mouse.move(area["x"] + area["width"] - 2 + 0.1 * box.bounding_box()["width"], y, steps=6)
    page.mouse.up()
    expect(region).to_have_attribute("data-saved", "true")
    resized = bounds(region)
    assert abs(resized[0] - start) < 1e-9 and 53 < resized[1] < 55
    row = stored(server, new_id)
    assert row["version"] == 3 and abs(row["end_seconds"] - resized[1]) < 1e-5

    area = region.bounding_box()
    page.mouse.move(area["x"] + area["width"] / 2, y)  # the body: move
    page.mouse.down()
    page.mouse.move(area["x"] + area["width"] / 2 - 0.05 * box.bounding_box()["width"], y, steps=6)
    page.mouse.up()
    expect(region).to_have_attribute("data-saved", "true")
    moved = bounds(region)
    assert abs((moved[1] - moved[0]) - (resized[1] - resized[0])) < 1e-6 and abs(moved[0] - (start - 3)) < 0.3
    assert abs(stored(server, new_id)["start_seconds"] - moved[0]) < 1e-5

    page.keyboard.press("1")  # again: the tag comes off
    expect(region).to_have_attribute("data-tags", palette[1])
    expect(region).to_have_attribute("data-saved", "true")
    page.locator(".new-tag").fill("Dog  Bark")  # a tag the palette does not have yet
    page.locator(".new-tag").press("Enter")
    expect(region).to_have_attribute("data-tags", ";".join(sorted([palette[1], "dog bark"])))
    expect(page.locator("[data-testid=earmark-tag][data-tag='dog bark']")).to_have_count(1)
    expect(region).to_have_attribute("data-saved", "true")
    page.keyboard.press("Enter")  # the region's text
    page.keyboard.type("a dog, far off")
    page.keyboard.press("Enter")
    expect(region).to_have_attribute("data-text", "a dog, far off")
    expect(region).to_have_attribute("data-saved", "true")
    row = stored(server, new_id)
    assert row["tags"] == sorted([palette[1], "dog bark"]) and row["text"] == "a dog, far off" and row["version"] == 7

    # someone else saves it meanwhile: the next change here is refused (409), shown on the region, and undone.
    # First let the page catch up with the changes above (two seconds after the last), so no page run brings
    # the other person's version before the move is sent.
    page.wait_for_timeout(2500)
    e2e_settle(page)
    with Client(server, user=E2E_ADMIN, password=E2E_PASSWORD) as admin:
        admin.update_annotation(row, text="changed elsewhere")
    before = bounds(region)
    area = region.bounding_box()  # afresh: the page's run may have moved things
    y = area["y"] + area["height"] / 2
    page.mouse.move(area["x"] + area["width"] / 2, y)
    page.mouse.down()
    page.mouse.move(area["x"] + area["width"] / 2 + 0.05 * box.bounding_box()["width"], y, steps=6)
    page.mouse.up()
    expect(region).to_have_attribute("data-text", "changed elsewhere")  # what the other person stored
    assert region.get_attribute("data-error").startswith(f"Not saved: This annotation was changed by {E2E_ADMIN} at ")
    assert bounds(region) == before and "refused" in region.get_attribute("class")
    expect(page.get_by_role("status")).to_contain_text("reload it before editing")
    assert stored(server, new_id)["version"] == 8  # nothing of the refused move was written

    page.keyboard.press("Delete")
    expect(page.locator(f"[data-testid=earmark-region][data-id='{new_id}']")).to_have_count(0)
    gone_soon(page, server, new_id, HAL)  # the DELETE is sent in the background
    # someone else deletes a region first: Delete here finds it gone, says so, and does not bring it back
    drag(page, box, 0.05, 0.1)
    other = page.locator("[data-testid=earmark-region][data-saved=true]").filter(has_not_text="bird")
    expect(other).to_have_count(1)
    with Client(server, user=E2E_ADMIN, password=E2E_PASSWORD) as admin:
        admin.delete_annotation(other.get_attribute("data-id"))
    page.keyboard.press("Delete")
    expect(page.get_by_role("status")).to_contain_text("Already gone")
    expect(page.get_by_test_id("earmark-region")).to_have_count(1)  # only the administrator's is left

    e2e_settle(page)
    page.reload()  # what was saved is what the page shows next time
    expect(box).to_have_attribute("data-ready", "true", timeout=30_000)
    expect(page.get_by_test_id("earmark-region")).to_have_count(1)


def test_playback_loop_rate_zoom_and_scroll(page, server, minute):
    from playwright.sync_api import expect

    with Client(server, user=HAL[0], password=HAL[1]) as hal:
        hals = hal.annotate(minute, start=50.0, end=52.0, tags=["bird"])["id"]
    box = e2e_open_sound(page, server, minute)  # as the administrator, who may delete anyone's region
    page.locator(f"[data-testid=earmark-region][data-id='{hals}']").click()
    page.keyboard.press("Delete")
    expect(page.locator(f"[data-testid=earmark-region][data-id='{hals}']")).to_have_count(0)
    gone_soon(page, server, hals)
    page.mouse.move(5, 5)  # the pointer away: I zooms around the view's centre
    box.focus()
    page.keyboard.press("i")
    expect(box).to_have_attribute("data-view-end", "45.0000")
    expect(box).to_have_attribute("data-ready", "true")
    assert view_of(box) == (15.0, 45.0)
    page.keyboard.press("ArrowRight")
    expect(box).to_have_attribute("data-view-start", "21.0000")
    area = box.bounding_box()
    page.mouse.move(area["x"] + area["width"] * 0.25, area["y"] + area["height"] / 2)  # 28.5 s
    page.keyboard.press("i")  # now around the pointer
    expect(box).to_have_attribute("data-view-start", "24.7500")
    assert view_of(box) == (24.75, 39.75)
    page.mouse.wheel(0, 300)  # the wheel zooms out around the pointer
    expect(box).not_to_have_attribute("data-view-start", "24.7500")
    start, end = view_of(box)
    assert end - start > 15 and abs(start + (end - start) * 0.25 - 28.5) < 0.01
    expect(box).to_have_attribute("data-ready", "true")

    playhead = page.get_by_test_id("earmark-playhead")
    page.mouse.click(area["x"] + area["width"] * 0.5, area["y"] + area["height"] / 2)  # seek to the middle
    cursor = float(playhead.get_attribute("data-time"))
    assert start < cursor < end
    page.keyboard.press(" ")
    page.wait_for_timeout(1500)
    assert float(playhead.get_attribute("data-time")) > cursor + 0.5  # it plays and the playhead moves
    page.keyboard.press(" ")
    page.locator(".rate").select_option("2")
    assert page.locator("audio").evaluate("audio => audio.playbackRate") == 2

    theirs = page.get_by_test_id("earmark-region").first  # 20-24.5 s
    page.keyboard.press("o")
    expect(theirs).to_be_visible()
    theirs.click()
    page.keyboard.press("l")  # loop it: plays from its start and comes back at its end
    expect(page.locator(".loop")).to_have_attribute("aria-pressed", "true")
    times = []
    for _ in range(12):
        page.wait_for_timeout(400)
        times.append(float(playhead.get_attribute("data-time")))
    assert all(19.9 <= t <= 24.8 for t in times), times
    assert any(b < a for a, b in itertools.pairwise(times)), times  # it came back to the start at least once (2x: 2.25 s a lap)
    page.keyboard.press("l")
    page.keyboard.press(" ")

    # hours of work inside the component, no page run: halfway through its token's life it asks for one
    component = "box => box.getRootNode().__earmark || box.parentElement.__earmark"
    token = box.evaluate(f"box => ({component})(box).api.token")
    box.evaluate(f"box => ({component})(box).renewToken(true)")
    page.wait_for_function("([box, old]) => (box.getRootNode().__earmark || box.parentElement.__earmark).api.token !== old",
                           arg=[box.element_handle(), token], timeout=20_000)
    page.keyboard.press("i")
    expect(box).to_have_attribute("data-ready", "true")  # the views are fetched with the new token
    assert page.get_by_role("status").inner_text() == ""


def test_suggestions_are_accepted_and_rejected_by_key(page, server, tmp_path):
    from playwright.sync_api import expect

    speech = recording(5, "clean", seconds=16)
    sound = e2e_import_one(server, tmp_path, "talk", "talk.wav", speech.samples, speech.rate, subtype="PCM_16")
    with Client(server, user=E2E_ADMIN, password=E2E_PASSWORD) as admin:
        job = admin.submit_job("speech-activity", sound_ids=[sound])
        assert admin.wait_job(job["id"], timeout=120, poll=0.3)["state"] == "completed"
        suggested = list(admin.annotations(sound))
    assert len(suggested) >= 4 and all(a["source"].startswith("speech-activity:") for a in suggested)  # 5 utterances
    box = e2e_open_sound(page, server, sound)
    regions = page.locator("[data-testid=earmark-region][data-source=suggestion]")
    expect(regions).to_have_count(len(suggested))
    assert regions.first.inner_text().startswith("? speech") and "speech-activity" in regions.first.inner_text()
    first_id, second_id = regions.nth(0).get_attribute("data-id"), regions.nth(1).get_attribute("data-id")

    regions.nth(0).click()
    page.keyboard.press("Enter")
    page.keyboard.type("hello there")
    page.keyboard.press("Enter")
    first = page.locator(f"[data-testid=earmark-region][data-start='{regions.nth(0).get_attribute('data-start')}']").first
    expect(first).to_have_attribute("data-saved", "false")  # text on a suggestion waits for the verdict
    page.keyboard.press("a")
    accepted = page.locator("[data-testid=earmark-region][data-source=human]")
    expect(accepted).to_have_count(1)
    expect(accepted).to_have_attribute("data-saved", "true")
    new_id = accepted.get_attribute("data-id")
    assert new_id != first_id and "suggestion" not in accepted.get_attribute("class")
    row = stored(server, new_id, (E2E_ADMIN, E2E_PASSWORD))
    assert row["source"] is None and row["text"] == "hello there" and row["tags"] == suggested[0]["tags"]

    page.locator(f"[data-testid=earmark-region][data-id='{second_id}']").click()
    page.keyboard.press("r")
    expect(page.locator(f"[data-testid=earmark-region][data-id='{second_id}']")).to_have_count(0)
    gone_soon(page, server, second_id)
    with pytest.raises(NotFound):
        stored(server, first_id, (E2E_ADMIN, E2E_PASSWORD))  # accepting took the suggestion out
    assert box.get_attribute("data-ready") == "true"

    # Ctrl+Z undoes the rejection, then the acceptance: the suggestions come back as suggested (new ids), the
    # annotation the acceptance made is deleted; Ctrl+Shift+Z accepts it again
    page.keyboard.press("Control+z")
    expect(regions).to_have_count(len(suggested) - 1)
    page.keyboard.press("Control+z")
    expect(regions).to_have_count(len(suggested))
    expect(accepted).to_have_count(0)
    with pytest.raises(NotFound):
        stored(server, new_id, (E2E_ADMIN, E2E_PASSWORD))
    with Client(server, user=E2E_ADMIN, password=E2E_PASSWORD) as admin:
        back = sorted((a["start_seconds"], a["source"], a["text"]) for a in admin.annotations(sound))
    assert back == sorted((a["start_seconds"], a["source"], a["text"]) for a in suggested)
    page.keyboard.press("Control+Shift+z")
    expect(accepted).to_have_count(1)
    expect(accepted).to_have_attribute("data-saved", "true")
    assert stored(server, accepted.get_attribute("data-id"), (E2E_ADMIN, E2E_PASSWORD))["source"] is None

    # a script does the same through the Python client
    third, fourth = sorted(suggested, key=lambda a: a["start_seconds"])[2:4]
    with Client(server, user=E2E_ADMIN, password=E2E_PASSWORD) as admin:
        taken = admin.accept(third["id"], text="by script", end_seconds=third["end_seconds"] + 0.1)
        assert taken["source"] is None and taken["text"] == "by script"
        assert abs(taken["end_seconds"] - third["end_seconds"] - 0.1) < 1e-6
        admin.reject(fourth["id"])
        with pytest.raises(NotFound):
            admin.annotation(fourth["id"])


def test_a_three_hour_file_zooms_to_a_second_asking_only_for_what_is_shown(page, server, tmp_path):
    from playwright.sync_api import expect

    rate, hours = 8000, 3
    folder = tmp_path / "three-hours"
    folder.mkdir()
    with sf.SoundFile(folder / "night.flac", "w", rate, 1, subtype="PCM_16") as out:
        t = np.arange(600 * rate) / rate
        block = (0.2 * np.sin(2 * np.pi * 300 * t) * np.sin(2 * np.pi * t / 600) ** 2).astype(np.float32)
        for _ in range(hours * 6):
            out.write(block)  # ten minutes at a time
    done = server.cli("import", str(folder), "--dataset", "night", "--quiet")
    assert done.returncode == 0, done.stderr
    sound = json.loads(server.cli("sounds", "--dataset", "night", "--json").stdout)[0]
    assert sound["duration_seconds"] == hours * 3600
    asked = []
    page.on("request", lambda r: asked.append(r.url) if "/peaks?" in r.url or "/files/" in r.url else None)
    box = e2e_open_sound(page, server, sound["id"])
    assert view_of(box) == (0.0, hours * 3600.0)
    page.get_by_role("button", name="Spectrogram").click()  # of a view of three hours: not drawn, said why
    expect(page.locator(".spectrogram-note")).to_have_text("Zoom in to 120 s or less to see the spectrogram.")
    page.mouse.move(5, 5)
    box.focus()
    for _ in range(14):  # 10,800 s halved fourteen times: under a second
        page.keyboard.press("i")
        expect(box).to_have_attribute("data-ready", "true")
    start, end = view_of(box)
    assert end - start < 1 and start < hours * 1800 < end
    picture = page.get_by_test_id("earmark-spectrogram")
    expect(picture).to_have_attribute("data-view-start", box.get_attribute("data-view-start"))  # the view's own
    expect(picture).to_be_visible()
    assert picture.evaluate("image => image.complete && image.naturalWidth > 0 && image.naturalHeight === 257")
    overview = page.get_by_test_id("earmark-overview")  # the whole file, small: a click centres the view there
    strip = overview.bounding_box()
    length = end - start
    page.mouse.click(strip["x"] + strip["width"] * 0.75, strip["y"] + strip["height"] / 2)
    expect(box).not_to_have_attribute("data-view-start", f"{start:.4f}")
    expect(box).to_have_attribute("data-ready", "true")
    start, end = view_of(box)
    assert abs((start + end) / 2 - 0.75 * hours * 3600) < 15 and abs((end - start) - length) < 1e-3
    page.keyboard.press("ArrowRight")
    expect(box).to_have_attribute("data-ready", "true")
    peaks = [url for url in asked if "/peaks?" in url]
    assert len(peaks) >= 15 and all(int(url.split("points=")[1].split("&")[0]) <= 5000 for url in peaks)
    heap = page.evaluate("performance.memory.usedJSHeapSize")
    assert heap < 100 * 2**20, heap  # the file is never loaded into the page


def test_one_channel_of_a_stereo_file_is_drawn_and_annotated(page, server, tmp_path):
    from playwright.sync_api import expect

    t = np.arange(20 * 16_000) / 16_000
    stereo = np.stack([np.zeros_like(t), 0.5 * np.sin(2 * np.pi * 300 * t)], axis=1)  # left silent, right loud
    sound = e2e_import_one(server, tmp_path, "stereo", "two.wav", stereo, 16_000, subtype="PCM_16")
    with Client(server, user=E2E_ADMIN, password=E2E_PASSWORD) as admin:
        admin.annotate(sound, start=1, end=2, tags=["tone"])
    asked = []
    page.on("request", lambda r: asked.append(r.url) if "/peaks?" in r.url else None)
    box = e2e_open_sound(page, server, sound)
    assert not any("channel=" in url for url in asked)  # all channels together
    for _ in range(3):  # on a busy machine a choice made while the page reruns is lost: choose again
        page.get_by_label("Channel").click()
        page.get_by_role("option", name="channel 2").click()
        e2e_settle(page)
        for _ in range(100):  # the rerun that carries the channel reaches the component after the page settles
            if any("channel=1" in url for url in asked):
                break
            page.wait_for_timeout(100)
        else:
            continue
        break
    expect(box).to_have_attribute("data-ready", "true")
    assert any("channel=1" in url for url in asked)
    box.focus()
    page.keyboard.press("1")
    drag(page, box, 0.5, 0.6)
    region = page.locator("[data-testid=earmark-region][data-saved=true]").nth(1)
    expect(region).to_be_attached()
    assert stored(server, region.get_attribute("data-id"), (E2E_ADMIN, E2E_PASSWORD))["channel"] == 1
