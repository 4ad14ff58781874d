"""Upload page (the basic form; the full upload flow is its own issue)."""

from __future__ import annotations

from core.sounds import SoundService
from tests.conftest import app_test, login, make_user, wav_bytes

PAGE = "pages/1_Upload.py"


def test_humans_are_told_plainly_they_may_not_upload(local_earmark):
    make_user(local_earmark.db, "hal")
    at = login(app_test(PAGE), "hal")
    assert not at.exception
    assert "may not upload sounds and files" in at.warning[0].value
    assert not at.get("file_uploader")


def test_logged_out_renders_the_login_form(local_earmark):
    make_user(local_earmark.db, "hal")
    at = app_test(PAGE).run()
    assert not at.exception and [t.label for t in at.text_input] == ["Username", "Password"]


def test_dataset_user_uploads_and_sees_each_result(local_earmark):
    make_user(local_earmark.db, "vox", "dataset")
    at = login(app_test(PAGE), "vox")
    at.text_input(key="upload_dataset").input("speech")
    at.text_input(key="upload_tags").input("interview")
    at.file_uploader(key="upload_files").set_value([
        ("a.wav", wav_bytes(freq=300), "audio/wav"),
        ("b.wav", wav_bytes(freq=300), "audio/wav"),
        ("c.wav", b"not audio at all", "audio/wav"),
    ]).run()
    at.button(key="upload_submit").click().run()
    assert not at.exception
    assert at.success[0].value == "1 stored, 1 already there, 1 refused."
    results = at.dataframe[0].value
    assert list(results["result"]) == ["stored", "duplicate", "refused"]
    assert "c.wav is not readable audio" in results["reason"][2]
    with local_earmark.db.read() as session:
        sounds = SoundService(session, local_earmark.storage).list().items
    assert [(s.dataset, s.path, s.tag_names) for s in sounds] == [("speech", "a.wav", ["interview"])]
