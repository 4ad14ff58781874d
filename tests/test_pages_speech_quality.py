"""Browse with speech-quality's fields (issue 29, item 2): sorted and ranged by a score, the score shown as a
column, and the sentence that DNSMOS runs low wherever its scores are used or shown."""

from __future__ import annotations

from core.catalogue.sounds import SoundService
from core.ingest.demo import load_demo
from core.jobs.analyzers.speech_quality import RANKING_NOTE
from core.store.models import SoundField
from tests.conftest import app_test, login, make_user, shown

PAGE = "pages/2_Browse.py"


def captions(at) -> list[str]:
    return [shown(c.value) for c in at.caption]


def scored_demo(earmark) -> dict[str, float]:
    """The demo's sounds, the first ten given an OVRL (as the analyzer writes it: text with three decimals)."""
    load_demo(earmark.db, earmark.storage, max_bytes=10 * 1024 * 1024)
    with earmark.db.write() as session:
        sounds = sorted(SoundService(session, earmark.storage).list().items, key=lambda s: s.id)[:10]
        scores = {s.path: round(1.2 + 0.37 * ((i * 7) % 10), 3) for i, s in enumerate(sounds)}
        session.add_all([SoundField(sound_id=s.id, name="speech_quality.ovrl", value=f"{scores[s.path]:.3f}") for s in sounds])
    return scores


def test_browse_sorts_and_ranges_by_a_score_and_says_how_to_read_it(local_earmark):
    scores = scored_demo(local_earmark)
    make_user(local_earmark.db, "hal")
    at = login(app_test(PAGE), "hal")
    assert RANKING_NOTE not in captions(at)
    at.selectbox(key="browse_sort").select("field:speech_quality.ovrl").run()
    at.checkbox(key="browse_desc").check().run()
    assert not at.exception and RANKING_NOTE in captions(at)
    table = at.dataframe[0].value
    assert list(table["speech_quality.ovrl"][:10]) == [f"{v:.3f}" for v in sorted(scores.values(), reverse=True)]
    assert list(table["path"][:10]) == sorted(scores, key=scores.get, reverse=True)
    assert set(table["speech_quality.ovrl"][10:]) == {""}  # the sounds without a score come after

    at.text_input(key="browse_where").input("speech_quality.ovrl>=3").run()
    wanted = sorted((p for p, v in scores.items() if v >= 3), key=scores.get, reverse=True)
    assert list(at.dataframe[0].value["path"]) == wanted and f"{len(wanted)} sounds match; showing 1–{len(wanted)}." in captions(at)
    at.session_state["browse_table"] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    assert captions(at).count(RANKING_NOTE) == 2  # over the table and beside the sound's metadata


def test_a_range_that_is_not_a_number_is_one_sentence(local_earmark):
    scored_demo(local_earmark)
    make_user(local_earmark.db, "hal")
    at = login(app_test(PAGE), "hal")
    at.text_input(key="browse_where").input("speech_quality.ovrl>=good").run()
    assert shown(at.error[0].value) == "'speech_quality.ovrl>=good': 'good' is not a number (COLUMN>=NUMBER)."
