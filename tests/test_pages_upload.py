"""Upload page: the result table of an upload, and the file registry tab (list, stats, delete with confirmation)."""

from __future__ import annotations

from core.catalogue.files import FileService
from core.catalogue.sounds import SoundService
from tests.conftest import app_test, login, make_user, shown, wav_bytes

PAGE = "pages/1_Upload.py"


def test_humans_are_told_plainly_they_may_not_upload(local_earmark):
    make_user(local_earmark.db, "hal")
    at = login(app_test(PAGE), "hal")
    assert not at.exception
    assert "may not upload sounds and files" in shown(at.warning[0].value)
    assert not at.get("file_uploader")


def test_logged_out_renders_the_login_form(local_earmark):
    make_user(local_earmark.db, "hal")
    at = app_test(PAGE).run()
    assert not at.exception and [t.label for t in at.text_input] == ["Username", "Password"]


def upload(at, files, folder=()):
    at.file_uploader(key="upload_files").set_value(list(files))
    if folder:
        at.file_uploader(key="upload_folder").set_value(list(folder))
    at.run()
    at.button(key="upload_submit").click().run()
    assert not at.exception, at.exception
    return at


def test_upload_shows_a_result_for_every_file(local_earmark):
    make_user(local_earmark.db, "vox", "dataset")
    at = login(app_test(PAGE), "vox")
    at.text_input(key="upload_dataset").input("speech")
    at.text_input(key="upload_tags").input("interview")
    upload(at, [
        ("a.wav", wav_bytes(freq=300), "audio/wav"),
        ("b.wav", wav_bytes(freq=300), "audio/wav"),
        ("c.wav", b"not audio at all", "audio/wav"),
        ("meta.csv", b"file_name,speaker\na.wav,ann\n", "text/csv"),
    ], folder=[("session1/take/d.wav", wav_bytes(freq=500), "audio/wav")])
    assert any("The folder's own name session1/ is left out of the paths" in shown(c.value) for c in at.caption)
    assert shown(at.warning[0].value) == "3 stored, 1 already there, 1 refused."
    assert shown(at.info[0].value) == "Metadata meta.csv: 1 of 1 rows joined by column 'file_name' = path."
    table = at.dataframe[0].value
    rows = list(zip(table["file"], table["kind"], table["result"], strict=True))
    # a.wav and b.wav are the same audio, uploaded in parallel: exactly one of them is stored
    assert sorted(r for _, _, r in rows[1:3]) == ["already there", "stored"]
    assert rows[0] == ("meta.csv", "metadata", "stored") and rows[3:] == [("c.wav", "sound", "refused"), ("take/d.wav", "sound", "stored")]
    assert table["reason"][3] == "c.wav is not decodable audio (format not recognised)."
    with local_earmark.db.read() as session:
        sounds = {s.path: (s.dataset, s.tag_names, s.metadata_dict.get("speaker")) for s in SoundService(session, local_earmark.storage).list().items}
    assert len(sounds) == 2 and sounds["take/d.wav"] == ("speech", ["interview"], None)
    assert sounds.get("a.wav", ("speech", ["interview"], "ann")) == ("speech", ["interview"], "ann")


def test_bad_free_metadata_is_refused_before_anything_is_stored(local_earmark):
    make_user(local_earmark.db, "vox", "dataset")
    at = login(app_test(PAGE), "vox")
    at.text_area(key="upload_extra").input("{not json")
    upload(at, [("a.wav", wav_bytes(), "audio/wav")])
    assert shown(at.error[0].value).startswith("The metadata is not valid JSON")
    with local_earmark.db.read() as session:
        assert FileService(session, local_earmark.storage).list()[0] == 0


def test_files_tab_lists_counts_and_deletes_after_confirmation(local_earmark):
    make_user(local_earmark.db, "vox", "dataset")
    at = login(app_test(PAGE), "vox")
    upload(at, [("a.wav", wav_bytes(), "audio/wav"), ("notes.txt", b"kitchen", "text/plain")])
    at.run()
    files = at.dataframe[1].value
    assert sorted(files["category"]) == ["audio", "text"] and set(files["uploaded by"]) == {"vox"}
    assert any(c.value.startswith("2 files; 2 in all") for c in at.caption)
    chosen = at.selectbox(key="files_chosen")
    audio_id = [o for o in chosen.options if o.startswith("audio/")][0]
    chosen.select(audio_id).run()
    confirm = at.checkbox(key="files_delete_confirm")
    assert "It holds a sound" in confirm.label
    assert at.button(key="files_delete").disabled
    confirm.check().run()
    at.button(key="files_delete").click().run()
    assert not at.exception
    assert any(shown(s.value).startswith("Deleted audio/vox/a.wav") for s in at.success)
    with local_earmark.db.read() as session:
        assert [f.category for f in FileService(session, local_earmark.storage).list()[1]] == ["text"]
        assert SoundService(session, local_earmark.storage).list().total_count == 0


def test_drop_zones_say_the_servers_limit_and_the_types_core_reads(local_earmark, monkeypatch):
    from core.catalogue.files import UPLOAD_SUFFIXES, category_from_name
    from core.catalogue.metadata import METADATA_SUFFIXES, read_table
    from core.store import config

    monkeypatch.setenv("EARMARK_MAX_UPLOAD_MB", "300")
    config.settings.cache_clear()
    make_user(local_earmark.db, "vox", "dataset")
    at = login(app_test(PAGE), "vox")
    files, folder = at.file_uploader(key="upload_files"), at.file_uploader(key="upload_folder")
    for uploader in (files, folder):
        assert uploader.proto.max_upload_size_mb == 300 and "up to 300 MB per file" in uploader.proto.label
        # the browser refuses the rest before sending (Streamlit adds aliases of its own, as .mpeg4 for .mp4)
        assert set(UPLOAD_SUFFIXES) <= set(uploader.proto.type) and ".exe" not in uploader.proto.type
    # Streamlit's own line would read "1GB per file" for any limit above 500 MB: it is hidden, the label says it
    assert any("stFileUploaderDropzoneInstructions" in h.proto.body and "display:none" in h.proto.body for h in at.get("html"))
    assert "metadata tables (CSV, TSV, JSON lines, Parquet)" in files.proto.label
    assert set(METADATA_SUFFIXES) <= set(UPLOAD_SUFFIXES)
    for suffix in UPLOAD_SUFFIXES:  # everything the drop zones take, core takes
        category_from_name(f"x{suffix}")
    tsv = read_table(b"file_name\tspeaker\na.wav\tann\n", "m.tsv")  # TSV, as the label says
    assert list(tsv.columns) == ["file_name", "speaker"]


def test_administrators_register_a_folder_in_place_and_browse_says_what_went_missing(local_earmark, tmp_path):
    folder = tmp_path / "clips"
    (folder / "spk1").mkdir(parents=True)
    (folder / "spk1" / "a.wav").write_bytes(wav_bytes(freq=300))
    (folder / "spk1" / "b.wav").write_bytes(wav_bytes(freq=400))
    (folder / "notes.txt").write_text("not audio")
    make_user(local_earmark.db, "vox", "dataset")
    at = login(app_test(PAGE), "vox")
    assert [t.label for t in at.tabs] == ["Upload", "Annotations", "Files"]  # dataset users upload; only administrators register
    assert not [t for t in at.text_input if t.key == "register_source"]

    make_user(local_earmark.db, "root", admin=True)
    at = login(app_test(PAGE), "root")
    assert [t.label for t in at.tabs] == ["Upload", "Register in place", "Annotations", "Files"]
    at.text_input(key="register_source").input(str(folder))
    at.text_input(key="register_dataset").input("clips").run()
    at.button(key="register_submit").click().run()
    assert not at.exception, at.exception
    assert shown(at.success[0].value) == (f"file://{folder}: 2 registered, 0 already registered, 0 already there, "
                                          "0 refused, 1 skipped (not audio).")
    [results] = [d.value for d in at.dataframe if "reason" in d.value.columns]
    assert list(results["file"]) == ["notes.txt"] and list(results["result"]) == ["skipped"]
    assert sorted(p.name for p in folder.rglob("*")) == ["a.wav", "b.wav", "notes.txt", "spk1"]  # nothing written there

    (folder / "spk1" / "b.wav").unlink()
    at.button(key="register_submit").click().run()
    assert shown(at.success[0].value).endswith("1 already registered, 0 already there, 0 refused, 1 skipped (not audio), 1 now missing.")

    browse = login(app_test("pages/2_Browse.py"), "root")
    table = browse.dataframe[0].value
    assert dict(zip(table["path"], table["file"], strict=True)) == {"spk1/a.wav": "in place", "spk1/b.wav": "missing"}
    browse.session_state["browse_table"] = {"selection": {"rows": [list(table["path"]).index("spk1/b.wav")], "columns": [], "cells": []}}
    browse.run()
    assert any("was not found at file://" in shown(w.value) and "exports leave it out" in shown(w.value) for w in browse.warning)
