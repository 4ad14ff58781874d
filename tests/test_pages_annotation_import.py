"""The Upload page's Annotations tab (AppTest): files dropped for a dataset go in, the summary line says how many,
and every row left out is a row of the problems table; a file that is not its format is one error with nothing
written; a second import adds nothing; suggestions are offered to data owners only. On SQLite, and on PostgreSQL
with EARMARK_TEST_DATABASE_URL."""

from __future__ import annotations

import io

from core.ingest.pipeline import UploadOptions, ingest_audio
from tests.conftest import app_test, login, make_user, shown, wav_bytes
from tests.test_core_annotation_imports import RTTM, annotations_of

PAGE = "pages/1_Upload.py"


def _dataset(earmark):
    owner = make_user(earmark.db, "vox", "dataset")
    for path, freq in (("speaker1/a.wav", 300), ("speaker2/b.wav", 500)):
        ingest_audio(earmark.db, earmark.storage, owner, path, io.BytesIO(wav_bytes(seconds=3.0, freq=freq)),
                     UploadOptions(dataset="vox", max_bytes=10**8))


def _import(at, files):
    at.file_uploader(key="annotations_files").set_value(files)
    at.run()
    at.button(key="annotations_submit").click().run()
    assert not at.exception, at.exception
    return at


def test_annotation_files_go_in_and_each_row_left_out_is_shown(local_earmark):
    _dataset(local_earmark)
    at = login(app_test(PAGE), "vox")
    assert [t.label for t in at.tabs] == ["Upload", "Annotations", "Files"]
    assert at.text_input(key="annotations_dataset").value == "vox"
    _import(at, [("diarization.rttm", RTTM, "text/plain"), ("speaker2/b.txt", b"0.5\t1.0\tdog\n1\t2\n2.0\tx\tcat\n", "text/plain")])
    assert shown(at.warning[0].value) == ("2 files (audacity, rttm): 3 annotations imported as vox's, 0 already there, "
                                          "6 rows left out.")
    table = next(d.value for d in at.dataframe if list(d.value.columns) == ["file", "where", "reason"])
    rows = list(zip(table["file"], table["where"], table["reason"], strict=True))
    assert rows[0] == ("diarization.rttm", "line 5", "the onset (field 4) must be a number, not 'abc'.")
    assert rows[-2][:2] == ("speaker2/b.txt", "line 2") and rows[-2][2].startswith("An annotation needs at least one tag")
    assert rows[-1] == ("speaker2/b.txt", "line 3", "the end must be a number, not 'x'.")
    assert len(rows) == 6
    assert ("speaker2/b.wav", 0.5, 1.0, ("dog",), None, None) in annotations_of(local_earmark.db, "vox")
    at.button(key="annotations_submit").click().run()  # the same files again
    assert shown(at.warning[0].value).startswith("2 files (audacity, rttm): 0 annotations imported as vox's, 3 already there")
    assert len(annotations_of(local_earmark.db, "vox")) == 3


def test_a_file_that_is_not_its_format_is_one_error(local_earmark):
    _dataset(local_earmark)
    at = login(app_test(PAGE), "vox")
    _import(at, [("notes.rttm", b"Dear diary\n", "text/plain")])
    assert shown(at.error[0].value).startswith("notes.rttm is not an RTTM file: line 1: 'Dear' is not an RTTM segment type")
    assert annotations_of(local_earmark.db, "vox") == []


def test_suggestions_by_a_named_featurebot(local_earmark):
    _dataset(local_earmark)
    at = login(app_test(PAGE), "vox")
    at.checkbox(key="annotations_as_suggestions").check().run()
    at.text_input(key="annotations_bot").input("diarizer").run()
    _import(at, [("a.txt", b"0.1\t0.6\tspeech\n", "text/plain")])
    assert shown(at.success[0].value) == "1 file (audacity): 1 annotation imported as bot-diarizer's, 0 already there, 0 rows left out."
    assert annotations_of(local_earmark.db, "bot-diarizer") == [("speaker1/a.wav", 0.1, 0.6, ("speech",), None, None)]
