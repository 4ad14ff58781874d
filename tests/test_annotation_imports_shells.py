"""Annotations in through the shells (issue 28, item 3): `python -m core annotations import`, POST
/api/v1/annotation-imports and earmark_client's import_annotations, each showing per-row problems, refusing a file
that is not its format in one sentence with nothing written, and not doubling a second import. On SQLite, and on
PostgreSQL with EARMARK_TEST_DATABASE_URL."""

from __future__ import annotations

import io
import os
import subprocess
import sys

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from core.accounts import credentials as apiauth
from core.api import deps
from core.api.app import routes
from core.cli import main
from core.client import BadRequest, Client
from core.ingest.pipeline import UploadOptions, ingest_audio
from tests.conftest import E2E_ADMIN, E2E_PASSWORD, ROOT, make_user, wav_bytes
from tests.test_core_annotation_imports import RTTM, annotations_of
from tests.test_core_api import basic


@pytest.fixture
def vox(local_earmark):
    owner = make_user(local_earmark.db, "vox", "dataset")
    for path, freq in (("speaker1/a.wav", 300), ("speaker2/b.wav", 500)):
        ingest_audio(local_earmark.db, local_earmark.storage, owner, path, io.BytesIO(wav_bytes(seconds=3.0, freq=freq)),
                     UploadOptions(dataset="vox", max_bytes=10**8))
    return local_earmark


def cli(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ) | {"PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "core", "annotations", "import", *args], capture_output=True, text=True,
                          env=env, timeout=120, stdin=subprocess.DEVNULL)


def test_the_command_imports_names_bad_rows_and_does_not_double(vox, tmp_path, capsys):
    make_user(vox.db, "hal")
    (tmp_path / "diarization.rttm").write_bytes(RTTM)
    kaldi = tmp_path / "train"
    kaldi.mkdir()
    (kaldi / "segments").write_text("u1 r1 0 1.5\nu2 r2 0.5 1\n")
    (kaldi / "text").write_text("u1 hello world\nu2 good bye\n")
    (kaldi / "wav.scp").write_text("r1 /corpus/speaker1/a.wav\nr2 /corpus/speaker2/b.wav\n")
    done = cli(str(tmp_path / "diarization.rttm"), str(kaldi), "--dataset", "vox", "--user", "hal", "--quiet")
    assert done.returncode == 1, done.stderr  # rows were left out (trial item 9): the good ones are in all the same
    assert done.stdout.strip() == ("2 files (kaldi, rttm): 4 annotations imported as hal's, 0 already there, "
                                   "4 rows left out.")
    left_out = [line for line in done.stderr.splitlines() if line.startswith("left out: ")]
    assert left_out[0] == f"left out: {tmp_path / 'diarization.rttm'}, line 5: the onset (field 4) must be a number, not 'abc'."
    assert len(left_out) == 4
    assert ("speaker1/a.wav", 0.0, 1.5, (), "hello world", None) in annotations_of(vox.db, "hal")
    again = cli(str(tmp_path / "diarization.rttm"), str(kaldi), "--dataset", "vox", "--user", "hal", "--quiet")
    assert again.returncode == 1 and "0 annotations imported as hal's, 4 already there" in again.stdout
    assert len(annotations_of(vox.db, "hal")) == 4
    assert main(["annotations", "import", str(kaldi), "--dataset", "vox", "--user", "hal", "--quiet"]) == 0  # none left out
    good = capsys.readouterr()
    assert (good.out.strip(), good.err) == ("1 file (kaldi): 0 annotations imported as hal's, 2 already there, 0 rows left out.", "")


def test_a_labels_folder_brings_the_transcripts_folder_beside_it(vox, tmp_path, capsys):
    """Trial item 7: `annotations import DIR/labels/` reads DIR/transcripts/ too, as an export writes them and the
    Upload page's folder upload joins them: a label gets its transcript; a label that only stood in for a missing
    tag (the transcript itself) is no tag."""
    make_user(vox.db, "hal")
    for folder, line in (("labels", "0.1\t0.5\tdog\n1.0\t1.5\tgood bye\n"),
                         ("transcripts", "0.1\t0.5\thello there\n1.0\t1.5\tgood bye\n")):
        (tmp_path / "export" / folder / "speaker1").mkdir(parents=True)
        (tmp_path / "export" / folder / "speaker1" / "a.txt").write_text(line)
    assert main(["annotations", "import", str(tmp_path / "export" / "labels") + "/", "--dataset", "vox", "--user", "hal",
                 "--quiet"]) == 0, capsys.readouterr().err
    assert annotations_of(vox.db, "hal") == [("speaker1/a.wav", 0.1, 0.5, ("dog",), "hello there", None),
                                             ("speaker1/a.wav", 1.0, 1.5, (), "good bye", None)]
    capsys.readouterr()
    assert main(["annotations", "import", str(tmp_path / "export" / "labels"), str(tmp_path / "export" / "transcripts"),
                 "--dataset", "vox", "--user", "hal", "--quiet"]) == 0
    assert "0 annotations imported as hal's, 2 already there" in capsys.readouterr().out


def test_the_command_refuses_in_one_sentence(vox, tmp_path):
    (tmp_path / "notes.rttm").write_text("Dear diary\n")
    refused = cli(str(tmp_path / "notes.rttm"), "--dataset", "vox")
    assert refused.returncode == 1
    assert refused.stderr.strip().splitlines()[-1].startswith(f"error: {tmp_path / 'notes.rttm'} is not an RTTM file: line 1:")
    assert "Traceback" not in refused.stderr
    missing = cli(str(tmp_path / "nope.rttm"), "--dataset", "vox")
    assert (missing.returncode, missing.stderr.strip()) == (1, f"error: {tmp_path / 'nope.rttm'} does not exist.")
    unknown = cli(str(tmp_path / "notes.rttm"), "--dataset", "vox", "--format", "elan")
    assert unknown.returncode == 2 and "invalid choice: 'elan'" in unknown.stderr
    (tmp_path / "a.txt").write_text("0.1\t0.5\tdog\n")
    suggested = cli(str(tmp_path / "a.txt"), "--dataset", "vox", "--as-suggestions", "--bot", "vad-import", "--quiet")
    assert suggested.returncode == 0 and "1 annotation imported as bot-vad-import's" in suggested.stdout
    assert annotations_of(vox.db, "bot-vad-import") == [("speaker1/a.wav", 0.1, 0.5, ("dog",), None, None)]


@pytest.fixture
def api(vox):
    deps.earmark.cache_clear()
    apiauth.BASIC_CACHE.entries.clear()
    make_user(vox.db, "hal")
    return TestClient(Starlette(routes=routes()))


def test_the_route_imports_and_lists_each_problem(api, vox):
    files = [("files", ("diarization.rttm", RTTM)), ("files", ("a.txt", b"0.1\t0.5\tdog;bark\n"))]
    answer = api.post("/api/v1/annotation-imports", headers=basic("hal"), data={"dataset": "vox"}, files=files)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["imported"], body["already"], body["whole_without_text"], body["author"]) == (3, 0, 0, "hal")  # a.txt: the labels of speaker1/a.wav
    assert body["files"] == [{"file": "diarization.rttm", "format": "rttm", "rows": 5},
                             {"file": "a.txt", "format": "audacity", "rows": 1}]
    assert [p["message"] for p in body["problems"]][0] == "diarization.rttm, line 5: the onset (field 4) must be a number, not 'abc'."
    assert len(body["problems"]) == 4 and {p["file"] for p in body["problems"]} == {"diarization.rttm"}
    assert body["summary"] == "2 files (audacity, rttm): 3 annotations imported as hal's, 0 already there, 4 rows left out"
    assert ("speaker1/a.wav", 0.1, 0.5, ("bark", "dog"), None, None) in annotations_of(vox.db, "hal")
    again = api.post("/api/v1/annotation-imports", headers=basic("hal"), data={"dataset": "vox"}, files=files).json()
    assert (again["imported"], again["already"]) == (0, 3)


def test_the_route_refuses_in_one_sentence(api, vox):
    def send(files, **form):
        return api.post("/api/v1/annotation-imports", headers=basic("hal"), data={"dataset": "vox"} | form, files=files)

    notes = send([("files", ("notes.rttm", b"Dear diary\n"))])
    assert notes.status_code == 400 and notes.json()["error"].startswith("notes.rttm is not an RTTM file: line 1:")
    assert send([("files", ("a.rttm", RTTM))], dataset="nope").json() == {
        "error": "There is no dataset 'nope' (it has no sounds): import its audio first."}
    assert send([("files", ("a.rttm", RTTM))], format="elan").status_code == 400
    denied = send([("files", ("a.rttm", RTTM))], as_suggestions="true")
    assert denied.status_code == 403 and "import annotations as a featurebot's suggestions" in denied.json()["error"]
    bad_bot = api.post("/api/v1/annotation-imports", headers=basic("vox"), data={"dataset": "vox", "as_suggestions": "true",
                                                                                "bot": "a:b"}, files=[("files", ("a.rttm", RTTM))])
    assert bad_bot.status_code == 400 and bad_bot.json()["error"].startswith("The featurebot's name must be")
    assert api.post("/api/v1/annotation-imports", data={"dataset": "vox"}, files=[("files", ("a.rttm", RTTM))]).status_code == 401
    assert annotations_of(vox.db, "hal") == []


def test_the_client_imports_a_folder_and_files(server, tmp_path):
    with Client(server, user=E2E_ADMIN, password=E2E_PASSWORD) as admin:
        admin.create_user("vox2", "vox-password-1", "dataset")
    with Client(server, user="vox2", password="vox-password-1") as vox2:
        (tmp_path / "speaker1").mkdir()
        (tmp_path / "speaker1" / "a.wav").write_bytes(wav_bytes(seconds=2.0))
        vox2.upload(tmp_path / "speaker1" / "a.wav", dataset="clientset", name="speaker1/a.wav")
        folder = tmp_path / "kaldi"
        folder.mkdir()
        (folder / "segments").write_text("u1 r1 0 1.5\nu2 r1 1.8 2.5\n")
        (folder / "text").write_text("u1 hello world\nu2 too long\n")
        (folder / "wav.scp").write_text("r1 speaker1/a.wav\n")
        (tmp_path / "a.txt").write_text("0.25\t0.75\tdog\n")
        done = vox2.import_annotations([folder, tmp_path / "a.txt"], dataset="clientset")
        assert (done.imported, done.already, done.author) == (2, 0, "vox2")
        assert [p.message for p in done.problems] == [
            "kaldi/segments, line 2: The segment ends at 2.500 s, past the end of the sound (2.000 s). (sound speaker1/a.wav)"]
        assert {(a.start_seconds, a.text, tuple(a.tags or ())) for a in vox2.annotations()} == {
            (0.0, "hello world", ()), (0.25, None, ("dog",))}
        with pytest.raises(BadRequest, match="notes.rttm is not an RTTM file"):
            (tmp_path / "notes.rttm").write_text("Dear diary\n")
            vox2.import_annotations([tmp_path / "notes.rttm"], dataset="clientset")
