"""Browse page: the catalogue a page at a time, with the dataset in the URL."""

from __future__ import annotations

from core.ingest.demo import load_demo
from tests.conftest import app_test, login, make_user, shown

PAGE = "pages/2_Browse.py"


def captions(at) -> list[str]:
    return [shown(c.value) for c in at.caption]


def test_logged_out_renders_the_login_form(local_earmark):
    make_user(local_earmark.db, "hal")
    at = app_test(PAGE).run()
    assert not at.exception and [t.label for t in at.text_input] == ["Username", "Password"]


def test_lists_pages_of_sounds_and_follows_the_dataset_link(local_earmark):
    load_demo(local_earmark.db, local_earmark.storage, max_bytes=10 * 1024 * 1024)
    make_user(local_earmark.db, "hal")
    at = app_test(PAGE)
    at.query_params["dataset"] = "demo"
    login(at, "hal")
    assert at.selectbox(key="browse_dataset").value == "demo"
    assert len(at.dataframe[0].value) == at.selectbox(key="browse_page_size").value == 50 or len(at.dataframe[0].value) == 32
    at.selectbox(key="browse_page_size").select(25).run()
    first = list(at.dataframe[0].value["id"])
    assert len(first) == 25 and "32 sounds match; showing 1–25." in captions(at)
    at.button(key="browse_next").click().run()
    second = list(at.dataframe[0].value["id"])
    assert len(second) == 7 and min(second) > max(first)
    assert at.button(key="browse_next").disabled
    at.button(key="browse_prev").click().run()
    assert list(at.dataframe[0].value["id"]) == first


def test_no_match_says_so(local_earmark):
    load_demo(local_earmark.db, local_earmark.storage, max_bytes=10 * 1024 * 1024)
    make_user(local_earmark.db, "hal")
    at = login(app_test(PAGE), "hal")
    at.text_input(key="browse_tags").input("no-such-tag").run()
    assert "No sounds match these filters." in captions(at)


def test_filters_details_and_annotate_all_these(local_earmark):
    load_demo(local_earmark.db, local_earmark.storage, max_bytes=10 * 1024 * 1024)
    make_user(local_earmark.db, "hal")
    at = login(app_test(PAGE), "hal")
    at.text_input(key="browse_where").input("gender=m, set=dev").run()
    assert "8 sounds match; showing 1–8." in captions(at)
    assert any(c.startswith("By dataset: demo (8)") for c in captions(at))
    at.session_state["browse_table"] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    assert not at.exception
    path = at.dataframe[0].value["path"][0]
    assert shown(at.subheader[0].value) == f"demo / {path}"
    assert at.json[0].value and '"gender": "m"' in at.json[0].value
    [link] = [b for b in at.get("link_button") if b.proto.label == "Download the original"]
    assert link.proto.url.startswith("/api/v1/files/")
    assert len(at.get("audio")) == 1
    at.button(key="browse_annotate_all").click().run()
    queue = at.session_state["annotate_queue"]
    assert queue.catalogue.where == (("gender", "m"), ("set", "dev"))


def test_bad_metadata_condition_is_one_sentence(local_earmark):
    load_demo(local_earmark.db, local_earmark.storage, max_bytes=10 * 1024 * 1024)
    make_user(local_earmark.db, "hal")
    at = login(app_test(PAGE), "hal")
    at.text_input(key="browse_where").input("gender").run()
    assert shown(at.error[0].value) == "'gender' is not COLUMN=VALUE."


def test_a_big_catalogue_counts_matches_only_when_asked(local_earmark, monkeypatch):
    import core.catalogue.search

    load_demo(local_earmark.db, local_earmark.storage, max_bytes=10 * 1024 * 1024)
    make_user(local_earmark.db, "hal")
    monkeypatch.setattr(core.catalogue.search, "COUNT_AT_ONCE_UP_TO", 10)  # 32 sounds count as "big" here
    at = login(app_test(PAGE), "hal")
    assert "Sounds showing 1–32." in captions(at) and not any("match" in c for c in captions(at))
    at.button(key="browse_count").click().run()
    assert "32 sounds match; showing 1–32." in captions(at)


def test_user_text_is_shown_as_text_not_markdown(local_earmark):
    """A tag, title or metadata column such as ![x](http://elsewhere/x) must not make every viewer fetch that address."""
    from core.accounts.users import UserService
    from core.catalogue.sounds import SoundService
    from core.ui.shell import plain

    hostile = "![x](http://elsewhere/x)"
    make_user(local_earmark.db, "vox", "dataset")
    with local_earmark.db.write() as session:
        vox = UserService(session).by_name("vox")
        SoundService(session, local_earmark.storage).create_reference(
            vox, title=hostile, duration_seconds=3, audio_url="https://example.org/a.ogg", tags=[hostile], dataset="odd")
    at = app_test(PAGE)
    login(at, "vox")
    facets = next(c.value for c in at.caption if c.value.startswith("By dataset"))  # the Markdown sent
    assert plain(hostile) in facets and hostile not in facets  # shown with every Markdown character escaped
    assert plain(hostile) == r"\!\[x\]\(http\://elsewhere/x\)"


def test_the_column_hint_lists_the_chosen_datasets_columns(local_earmark):
    import io

    from core.accounts.users import UserService
    from core.ingest.pipeline import UploadOptions, ingest_audio
    from tests.conftest import wav_bytes

    load_demo(local_earmark.db, local_earmark.storage, max_bytes=10 * 1024 * 1024)
    make_user(local_earmark.db, "vox", "dataset")
    with local_earmark.db.read() as session:
        vox = UserService(session).by_name("vox")
    ingest_audio(local_earmark.db, local_earmark.storage, vox, "a.wav", io.BytesIO(wav_bytes()), UploadOptions(dataset="lab", max_bytes=10**7),
                 {"mood": "calm"})
    at = app_test(PAGE)
    at.query_params["dataset"] = "lab"
    login(at, "vox")
    label = shown(at.text_input(key="browse_where").label)
    assert "mood" in label and "gender" not in label
    at.selectbox(key="browse_dataset").select("(all)").run()
    label = shown(at.text_input(key="browse_where").label)
    assert "gender" in label


def test_one_sound_without_annotations_reads_plainly(local_earmark):
    """Issue 26: "1 sounds match", a headerless grid reading "empty" for a sound without annotations, the tags
    column cut to "espeak, t" and the overview's time labels cut off."""
    import json

    load_demo(local_earmark.db, local_earmark.storage, max_bytes=10 * 1024 * 1024)
    make_user(local_earmark.db, "hal")
    at = login(app_test(PAGE), "hal")
    at.text_input(key="browse_text").input(at.dataframe[0].value["path"][0]).run()
    assert "1 sound matches; showing 1–1." in captions(at)
    assert json.loads(at.dataframe[0].proto.columns)["tags"]["width"] == "large"  # not sized to the first rows drawn
    at.session_state["browse_table"] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    assert not at.exception and len(at.dataframe) == 1  # the catalogue's grid only
    assert "No annotations on this sound yet." in captions(at)
    [overview] = at.get("plotly_chart")
    layout = json.loads(overview.proto.spec)["layout"]
    assert layout["margin"]["b"] >= 30 and layout["height"] - layout["margin"]["b"] - layout["margin"]["t"] >= 50
