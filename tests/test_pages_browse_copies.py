"""Browse with the duplicates analyzer's groups: the filter "Only sounds with copies", and a sound's "Copies of this"
with where each copy starts (AppTest; the files are tests/test_core_duplicates.py's: a WAV, its MP3, OGG, resampled,
quieter copies, a 4 s excerpt at 5 s, and an unrelated recording)."""

from __future__ import annotations

import pytest

from tests.conftest import app_test, login, shown
from tests.test_core_duplicates import EXCERPT_AT, lab, run_duplicates  # noqa: F401 (lab is a fixture)

PAGE = "pages/2_Browse.py"


def captions(at) -> list[str]:
    return [shown(c.value) for c in at.caption]


def table_with(at, column: str):
    return next(frame.value for frame in at.dataframe if column in frame.value.columns)


def test_the_copies_filter_and_the_copies_of_a_sound(lab):  # noqa: F811
    earmark, owner, ids = lab
    at = app_test(PAGE)
    at.query_params["dataset"] = "lab"
    login(at, "vox")
    assert "7 sounds match; showing 1–7." in captions(at)
    assert at.checkbox(key="browse_has_copies").label == "Only sounds with copies"
    at.checkbox(key="browse_has_copies").check().run()
    assert "No sounds match these filters." in captions(at)  # the analyzer has not run yet

    run_duplicates(earmark, owner, workers=1)
    at.run()
    assert "6 sounds match; showing 1–6." in captions(at)
    listed = set(table_with(at, "path")["id"])
    assert listed == set(ids.values()) - {ids["unrelated.wav"]}

    row = list(table_with(at, "path")["id"]).index(ids["original.wav"])
    at.session_state["browse_table"] = {"selection": {"rows": [row], "columns": [], "cells": []}}
    at.run()
    assert not at.exception
    assert any(c.startswith("Copies of this (5)") for c in captions(at))
    copies = table_with(at, "starts at (s)")
    assert set(copies["path"]) == {"copy.mp3", "copy.ogg", "resampled.wav", "quieter.wav", "excerpt.wav"}
    assert set(copies["copies"]) == {"this sound"}
    at_of = dict(zip(copies["path"], copies["starts at (s)"], strict=True))
    assert at_of["excerpt.wav"] == pytest.approx(EXCERPT_AT, abs=0.05) and at_of["copy.ogg"] == pytest.approx(0, abs=0.05)

    at.checkbox(key="browse_has_copies").uncheck().run()
    row = list(table_with(at, "path")["id"]).index(ids["unrelated.wav"])
    at.session_state["browse_table"] = {"selection": {"rows": [row], "columns": [], "cells": []}}
    at.run()
    assert "7 sounds match; showing 1–7." in captions(at)
    assert not any(c.startswith("Copies of this") for c in captions(at))
