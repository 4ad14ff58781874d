"""Download page, splits: speaker_id is offered first to keep together (before session, whatever the alphabet says);
the sentence by the button and the lines under it say what the download does, from the preview: the splits that get
sounds (an empty one named), "placed with seed N" only when something is placed, "Stored now" once the splits are
stored (a plain link cannot tell the page it was used: any later run reads them), both counts per split when a
grown dataset brings new sounds; "Place anew" puts resplit in the signed link; one sound or group in the singular;
the manifest's request records every sound exported, not the page's unused count."""

from __future__ import annotations

import io
import json
import zipfile

from starlette.applications import Starlette
from starlette.testclient import TestClient

from core.api import deps
from core.api.app import routes
from tests.conftest import app_test, login, make_user, shown
from tests.test_core_split_report import _sound
from tests.test_pages_download import PAGE, link_of


def _trial(earmark, speakers=2, sounds=6):
    owner = make_user(earmark.db, "owner", "dataset")
    make_user(earmark.db, "hal")
    for i in range(sounds):  # speakers over three sessions: "session" sorts before "speaker_id"
        spk = f"spk{i % speakers}"
        _sound(earmark, owner, f"{spk}/utt{i}.wav", "trial", {"speaker_id": spk, "session": f"s{i % 3}"}, 300 + 9 * i)
    return owner


def _page(shares="train=0.5,dev=0.25,test=0.25"):
    at = login(app_test(PAGE), "hal")
    at.selectbox(key="dl_dataset").select("trial")
    at.radio(key="dl_mode").set_value("splits").run()
    at.text_input(key="dl_split_shares").input(shares)
    at.number_input(key="dl_seed").set_value(4)
    at.run()
    assert not at.exception and not at.error, (at.exception, at.error)
    return at


def _download(at) -> dict:
    zf = zipfile.ZipFile(io.BytesIO(TestClient(Starlette(routes=routes())).get(link_of(at)).content))
    return json.loads(zf.read("manifest.json"))


def _sentence(at) -> str:
    """The sentence by the button (the caption that goes on to say how splits are stored)."""
    return next(shown(c.value) for c in at.caption if "Each sound's split" in c.value).split(" Each sound's split")[0]


def test_speaker_first_and_what_each_split_gets_before_and_after_the_download(local_earmark):
    _trial(local_earmark)
    deps.earmark.cache_clear()
    at = _page()
    assert at.multiselect(key="dl_split_group_by").value == ["speaker_id"]
    assert at.multiselect(key="dl_split_group_by").options[:2] == ["speaker_id", "session"]
    assert shown(at.warning[0].value) == "1 of the 3 splits gets no sounds with these choices: see below."
    assert _sentence(at) == "All 6 sounds in train / dev, one folder each (test gets no sounds), placed with seed 4."
    assert shown(at.main.caption[-1].value).startswith("Will be placed when you download")
    assert at.text[0].value.splitlines() == [
        "train: 3 sounds, 1 group (share 0.500 of 0.5 asked)",
        "dev: 3 sounds, 1 group (share 0.500 of 0.25 asked)",
        "test: empty, no folder in the ZIP (share 0 of 0.25 asked: the 2 groups placed now went to splits further "
        "behind their shares)"]

    manifest = _download(at)
    assert manifest["request"]["count"] == 6 and manifest["request"]["split"]["shares"] == {"train": 0.5, "dev": 0.25, "test": 0.25}
    assert manifest["shares_met"] == {"train": 0.5, "dev": 0.5, "test": 0.0}
    at.number_input(key="dl_seed").set_value(9).run()  # any later run reads the splits the download stored
    assert "seed" not in _sentence(at).replace("so the seed changes nothing", "")
    assert _sentence(at) == ("All 6 sounds in train / dev, one folder each (test gets no sounds): every sound keeps the split "
                             "an earlier download stored (nothing is placed now, so the seed changes nothing).")
    assert shown(at.main.caption[-1].value).startswith("Stored now")
    assert shown(at.warning[0].value) == ('test gets no sounds: the splits stored now leave it empty. "Place anew" places '
                                          'every sound from scratch.')
    assert at.text[0].value.splitlines()[2] == ("test: empty, no folder in the ZIP (share 0 of 0.25 asked: no group was placed "
                                                "now; 6 sounds keep the splits earlier exports stored)")


def test_new_sounds_are_labelled_apart_from_stored_ones(local_earmark):
    owner = _trial(local_earmark)
    deps.earmark.cache_clear()
    _download(_page())
    _sound(local_earmark, owner, "spk9/utt0.wav", "trial", {"speaker_id": "spk9", "session": "s0"}, 900)  # a new speaker
    at = _page()
    assert _sentence(at) == ("All 7 sounds in train / dev / test, one folder each: 6 sounds keep the split an earlier "
                             "download stored, 1 sound in 1 group is placed with seed 4.")
    assert shown(at.main.caption[-1].value).startswith("What each split gets: stored now")
    assert at.text[0].value.splitlines()[2] == ("test: 1 sound, 1 group: 0 stored now, 1 placed when you download "
                                                "(share 0.143 of 0.25 asked)")
    assert at.text[0].value.splitlines()[0].endswith(": 3 stored now, 0 placed when you download (share 0.429 of 0.5 asked)")


def test_place_anew_puts_resplit_in_the_link_and_previews_from_scratch(local_earmark):
    _trial(local_earmark, speakers=6)
    deps.earmark.cache_clear()
    first = _download(_page("train=0.5,dev=0.5"))  # stored: train / dev only
    assert set(first["shares_met"]) == {"train", "dev"}
    at = _page()
    assert _sentence(at).endswith("every sound keeps the split an earlier download stored (nothing is placed now, so the "
                                  "seed changes nothing).")
    assert "test: empty" in at.text[0].value
    at.checkbox(key="dl_split_resplit").check().run()
    assert not at.exception and not at.error
    assert "deleted" in at.checkbox(key="dl_split_resplit").help
    assert _sentence(at) == "All 6 sounds in train / dev / test, one folder each, placed anew with seed 4."
    assert shown(at.main.caption[-1].value) == "Will be placed when you download (the stored splits are forgotten first):"
    lines = at.text[0].value.splitlines()
    manifest = _download(at)
    assert manifest["split"]["resplit"] is True and manifest["placed_earlier"]["sounds"] == 0
    assert lines == [f"{name}: {part['sounds']} sound{'s' if part['sounds'] != 1 else ''}, {part['groups']} "
                     f"group{'s' if part['groups'] != 1 else ''} (share {manifest['shares_met'][name]:.3f} of "
                     f"{manifest['split']['shares'][name]:g} asked)" for name, part in manifest["leakage"]["splits"].items()]
    assert manifest["leakage"]["splits"]["test"]["sounds"] > 0


def test_a_new_sound_of_a_stored_group_and_a_catalogue_too_large_to_preview(local_earmark, monkeypatch):
    owner = _trial(local_earmark)
    deps.earmark.cache_clear()
    _download(_page())
    _sound(local_earmark, owner, "spk0/late.wav", "trial", {"speaker_id": "spk0", "session": "s0"}, 950)  # joins spk0
    at = _page()
    assert _sentence(at) == ("All 7 sounds in train / dev, one folder each (test gets no sounds): 6 sounds keep the split "
                             "an earlier download stored and 1 new sound joins its group's split (no group is placed now, "
                             "so the seed changes nothing).")
    monkeypatch.setattr("core.ui.splits.PREVIEW_UP_TO", 5)  # above it the lines wait for a click
    at.run()
    assert not at.text and _sentence(at) == ("All 7 sounds in train / dev / test, a folder for each that gets sounds: a sound an earlier "
                                             "download placed keeps its split, the rest are placed with seed 4.")
    at.button(key="dl_split_preview").click().run()
    assert _sentence(at).endswith("joins its group's split (no group is placed now, so the seed changes nothing).")
    assert at.text[0].value.splitlines()[0].startswith("train: ")
