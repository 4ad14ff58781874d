"""End to end in headless Chromium (issue 27): an assigner hands 20 sounds to two annotators with double annotation
on the Team page; each annotator sees their own work and only their own regions (blind); both submit (the Done
button, and D on the waveform); a reviewer sees each person's lane with their disagreement marked, takes chosen
regions (clicked, then G) and one person's set into gold and accepts that sound, and returns another to one annotator with a comment, which that
annotator then reads on the Annotate page. What is checked is what a person sees: text, and the pixels of the
waveform's element screenshot. On PostgreSQL when EARMARK_TEST_DATABASE_URL is set, else SQLite."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from core.client import Client
from tests.conftest import E2E_ADMIN, E2E_PASSWORD, e2e_log_in, e2e_settle
from tests.test_e2e_waveform_screen import LANE_HEIGHT, WAVE_HEIGHT, background_of, columns, painted, pixels

pytestmark = pytest.mark.browser
ALICE, BOB = ("alice", "alice-password-1"), ("bob", "bob-password-1")
SECONDS, RATE = 2.0, 16_000
SHOTS = Path(tempfile.gettempdir()) / "earmark-e2e-team"  # the screens of the journey, for a person to look at
COMMENT = "The call at 0.2 s ends later, at 0.9 s."


@pytest.fixture(scope="module")
def calls(server, tmp_path_factory) -> list[tuple[str, str]]:
    """20 two-second clips in the dataset 'calls' and the annotators alice and bob: (id, file name) of each sound
    in id order, the order of each person's work and of the review queue (files are imported in parallel, so not
    in name order)."""
    folder = tmp_path_factory.mktemp("calls") / "calls"
    folder.mkdir()
    t = np.arange(int(SECONDS * RATE)) / RATE
    for i in range(20):
        sf.write(folder / f"c{i:02d}.wav", 0.3 * np.sin(2 * np.pi * (200 + 20 * i) * t), RATE, subtype="PCM_16")
    done = server.cli("import", str(folder), "--dataset", "calls", "--quiet")
    assert done.returncode == 0, done.stderr
    with Client(server, user=E2E_ADMIN, password=E2E_PASSWORD) as admin:
        for name, password in (ALICE, BOB):
            admin.create_user(name, password, "human")
        return sorted((s.id, s.path.rsplit("/", 1)[-1]) for s in admin.sounds(dataset="calls"))


def annotate(server, who, sound, start, end, tags=("call",)):
    with Client(server, user=who[0], password=who[1]) as api:
        return api.annotate(sound, start=start, end=end, tags=list(tags))


def as_person(page, server, who):
    """A fresh browser context logged in as ``who`` (each person on their own machine)."""
    context = page.context.browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(30_000)
    person = context.new_page()
    e2e_log_in(person, server, *who)  # returns once the login cookie is set
    return person


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def waveform_ready(page):
    from playwright.sync_api import expect

    box = page.get_by_test_id("earmark-waveform")
    expect(box).to_have_attribute("data-ready", "true", timeout=30_000)
    page.wait_for_timeout(300)  # the lanes' canvas is painted on the next frame
    return box


def red(image: np.ndarray) -> np.ndarray:
    """Per column, whether any pixel is the disagreement red (layer.ts DISAGREE_COLOR over the background)."""
    return ((image[..., 0] > 170) & (image[..., 1] < 110) & (image[..., 2] < 120)).any(axis=0)


def test_assign_annotate_blind_submit_review_merge_accept_and_return(page, server, calls):
    from playwright.sync_api import expect

    expect.set_options(timeout=60_000)  # the first run of each page on a shared, busy machine

    # The assigner hands out the 20 sounds, two people each.
    e2e_log_in(page, server)
    page.goto(f"{server}/Team")
    chooser = page.get_by_test_id("stMultiSelect").filter(has_text="Annotators")
    chooser.wait_for(timeout=90_000)
    e2e_settle(page)
    for name in ("alice", "bob"):
        chooser.locator("input").fill(name)
        page.keyboard.press("Enter")
    page.get_by_label("People per sound", exact=True).fill("2")
    page.get_by_label("People per sound", exact=True).press("Enter")
    e2e_settle(page)
    page.get_by_role("button", name="Assign", exact=True).click()
    expect(page.get_by_text("Assigned 20 sounds (20 to several people): 40 assignments (alice 20, bob 20).")).to_be_visible()
    shot(page, "team-assign")

    (first, one), (second, two) = calls[0], calls[1]  # on the first they agree on one call and bob has one alone
    annotate(server, ALICE, first, 0.2, 0.8)
    annotate(server, BOB, first, 0.25, 0.85)  # IoU 0.85 with alice's: the same call
    annotate(server, BOB, first, 1.2, 1.5)  # alice has nothing there: a disagreement
    annotate(server, ALICE, second, 0.2, 0.6)
    annotate(server, BOB, second, 0.2, 0.6)

    # Alice: her work, in order; her region and not bob's.
    alice = as_person(page, server, ALICE)
    alice.goto(f"{server}/Annotate")
    e2e_settle(alice)
    expect(alice.get_by_text("20 sound(s) assigned to you: 19 to do · 1 in progress")).to_be_visible()
    expect(alice.get_by_text(f"calls / {one}")).to_be_visible()
    expect(alice.get_by_text("Your work on this sound: ◐ in progress")).to_be_visible()
    box = waveform_ready(alice)
    expect(alice.get_by_test_id("earmark-region")).to_have_count(1)
    expect(alice.get_by_test_id("earmark-region")).to_have_text("call")
    image = pixels(box)
    lane = image[WAVE_HEIGHT + 2:WAVE_HEIGHT + LANE_HEIGHT - 2]
    background = background_of(image[WAVE_HEIGHT:])
    assert painted(lane[:, columns(lane, 0.12, 0.38)], background).mean() > 0.5  # her call, 0.2-0.8 s
    assert painted(lane[:, columns(lane, 0.62, 0.73)], background).max() < 0.05  # bob's 1.2-1.5 s: not on her screen
    shot(alice, "annotate-my-work")
    alice.get_by_role("button", name="Done ✓ submit, go to the next").click()
    expect(alice.get_by_text(f"Submitted {one} for review.")).to_be_visible()
    expect(alice.get_by_text(f"calls / {two}")).to_be_visible()
    waveform_ready(alice)
    alice.get_by_role("button", name="Done ✓ submit, go to the next").click()
    expect(alice.get_by_text(f"Submitted {two} for review.")).to_be_visible()

    # Bob submits with D on the waveform.
    bob = as_person(page, server, BOB)
    bob.goto(f"{server}/Annotate")
    e2e_settle(bob)
    expect(bob.get_by_text(f"calls / {one}")).to_be_visible()
    box = waveform_ready(bob)
    expect(bob.get_by_test_id("earmark-region")).to_have_count(2)  # his two, not alice's
    box.hover()
    bob.keyboard.press("d")
    expect(bob.get_by_text(f"Submitted {one} for review.")).to_be_visible()
    expect(bob.get_by_text(f"calls / {two}")).to_be_visible()
    e2e_settle(bob)
    waveform_ready(bob).hover()
    bob.keyboard.press("d")
    expect(bob.get_by_text(f"Submitted {two} for review.")).to_be_visible()

    # The reviewer: each person's lane, where they disagree in red, bob's set into gold, accepted.
    page.goto(f"{server}/Review")
    e2e_settle(page)
    expect(page.get_by_text("2 sound(s) waiting for review in calls")).to_be_visible()
    expect(page.get_by_text(f"calls / {one}")).to_be_visible()
    box = waveform_ready(page)
    expect(page.locator(".lane-label")).to_have_text(["alice", "bob", "Gold"])
    image = pixels(box)
    band = image[:10]
    assert red(band[:, columns(band, 0.61, 0.74)]).mean() > 0.9  # bob's call alone
    assert not red(band[:, columns(band, 0.14, 0.38)]).any()  # the call both marked
    shot(page, "review-lanes")
    bars = sorted((b for b in page.get_by_test_id("earmark-region").all()), key=lambda b: b.bounding_box()["y"])
    left = box.bounding_box()["x"] + box.bounding_box()["width"] / 2
    alices, bobs_alone = bars[0], next(b for b in bars if b.bounding_box()["x"] > left)
    alices.click()
    bobs_alone.click()
    expect(page.get_by_role("button", name="Take the chosen regions into gold (2)")).to_be_visible()
    box.hover()
    page.keyboard.press("g")
    expect(page.get_by_text("2 region(s) taken into the gold version.")).to_be_visible()
    e2e_settle(page)
    waveform_ready(page)
    page.get_by_role("button", name="Take bob's regions into gold").click()  # his lone call is in gold already
    expect(page.get_by_text("1 region(s) taken into the gold version.")).to_be_visible()
    e2e_settle(page)
    expect(page.get_by_text("2 annotator(s) · 3 region(s) in the gold version")).to_be_visible()
    waveform_ready(page)
    expect(page.get_by_test_id("earmark-region")).to_have_count(6)
    shot(page, "review-gold")
    page.get_by_test_id("earmark-waveform").screenshot(path=str(SHOTS / "review-gold-waveform.png"))
    page.get_by_role("button", name="Accept the gold version").click()
    expect(page.get_by_text(f"Accepted {one}: its gold version (3 region(s)) is now the dataset's truth.")).to_be_visible()

    # The second sound goes back to alice with a comment.
    expect(page.get_by_text(f"calls / {two}")).to_be_visible()
    e2e_settle(page)
    # "Return the work of" offers the submitted annotators by name: alice first (the sentence below names whom)
    page.get_by_label("Comment for the annotator", exact=True).fill(COMMENT)
    page.get_by_label("Comment for the annotator", exact=True).press("Control+Enter")
    e2e_settle(page)
    give_back = page.get_by_role("button", name="Return with this comment")
    expect(give_back).to_have_count(1)  # on a busy machine the run before leaves a stale copy a moment longer
    give_back.click()
    expect(page.get_by_text(f"Returned {two} to alice with your comment.")).to_be_visible()
    shot(page, "review-returned")

    # Alice reads the comment: the returned sound comes first in her work.
    alice.goto(f"{server}/Annotate")
    e2e_settle(alice)
    expect(alice.get_by_text(f"calls / {two}")).to_be_visible()
    expect(alice.get_by_text(f"Returned by the reviewer: {COMMENT}")).to_be_visible()
    shot(alice, "annotate-returned")


def test_agreement_on_the_team_page(page, server, calls):
    """After the journey above: the Agreement tab's figures for the two people on the two sounds."""
    from playwright.sync_api import expect

    e2e_log_in(page, server)  # waits for the login cookie before the next page
    page.goto(f"{server}/Team")
    page.get_by_role("tab", name="Agreement").wait_for(timeout=90_000)
    e2e_settle(page)
    page.get_by_role("tab", name="Agreement").click()
    page.get_by_role("button", name="Compute agreement").click()  # computed only when asked
    e2e_settle(page)
    # c00: 1 of alice's and 1 of bob's 2 matched; c01: 1 and 1 -> F1 = 2*2/(2+3) = 0.80
    expect(page.get_by_test_id("stMetric").filter(has_text="Segment F1 (all pairs)")).to_contain_text("0.80")
    expect(page.get_by_role("button", name="Download every figure (CSV)")).to_be_visible()
    shot(page, "team-agreement")


@pytest.fixture(scope="module", autouse=True)
def _fresh_shots():
    shutil.rmtree(SHOTS, ignore_errors=True)
    yield
