"""The seed documents' own curl and Python examples, adapted to /api/v1 and authentication, run against the
real app (`streamlit run app.py`) on loopback: data_upload_api.md, cochlea_api.md, voxceleb_s3_api.md."""

from __future__ import annotations

import json
import subprocess
import zipfile

import pytest

from tests.conftest import E2E_ADMIN, E2E_PASSWORD, wav_bytes

AUTH = f"{E2E_ADMIN}:{E2E_PASSWORD}"


def curl(*args: str, cwd=None) -> str:
    done = subprocess.run(["curl", "-sS", "--fail-with-body", "-u", AUTH, *args], capture_output=True, text=True, cwd=cwd, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("seed")
    (folder / "training_data.json").write_text('{"utterances": ["hello", "goodbye"]}')
    (folder / "voice_sample.wav").write_bytes(wav_bytes(seconds=1.5))
    (folder / "data.csv").write_text("speaker,gender\nhal,m\n")
    return folder


def test_data_upload_api_curl_examples(server, files):
    api = f"{server}/api/v1"
    first = json.loads(curl("-X", "POST", f"{api}/data/upload", "-F", "file=@training_data.json", "-F", "purpose=training",
                            "-F", "description=Bot training data", cwd=files))
    assert first["success"] and first["file"]["category"] == "data" and first["file"]["purpose"] == "training"
    voice = json.loads(curl("-X", "POST", f"{api}/data/upload", "-F", "file=@voice_sample.wav", "-F", "purpose=training",
                            "-F", "category=audio", "-F", "description=Echo voice sample", cwd=files))
    assert voice["file"]["category"] == "audio" and voice["sound_id"]
    meta = json.loads(curl("-X", "POST", f"{api}/data/upload", "-F", "file=@data.csv", "-F", "purpose=ingestion",
                           "-F", 'metadata={"source":"production","version":"1.0"}', cwd=files))
    assert meta["file"]["metadata"] == {"source": "production", "version": "1.0"}

    assert json.loads(curl(f"{api}/data/files"))["total"] == 3
    assert [f["path"] for f in json.loads(curl(f"{api}/data/files?purpose=training"))["files"]] == [voice["file"]["path"], first["file"]["path"]]
    assert json.loads(curl(f"{api}/data/files?category=audio"))["total"] == 1
    assert json.loads(curl(f"{api}/data/files?limit=10&offset=20"))["files"] == []
    curl(f"{api}/data/files/{voice['file']['path']}", "-o", "voice.wav", cwd=files)
    assert (files / "voice.wav").read_bytes() == (files / "voice_sample.wav").read_bytes()
    assert json.loads(curl(f"{api}/data/files/{first['file']['path']}?metadata=true"))["metadata"]["description"] == "Bot training data"
    assert json.loads(curl("-X", "DELETE", f"{api}/data/files/{meta['file']['path']}"))["message"] == "File deleted successfully"
    stats = json.loads(curl(f"{api}/data/stats"))["stats"]
    assert stats["total_files"] == 2


def test_data_upload_api_python_example(server, files):
    import requests

    with open(files / "training_data.json", "rb") as f:
        response = requests.post(f"{server}/api/v1/data/upload", files={"file": f},
                                 data={"purpose": "training", "description": "Bot training data"}, auth=(E2E_ADMIN, E2E_PASSWORD))
    print(response.json())
    assert response.status_code in (200, 201) and response.json()["success"]


def test_cochlea_examples(server):
    api = f"{server}/api/v1"
    user = json.loads(curl("-X", "POST", f"{api}/users", "-H", "Content-Type: application/json", "-d", json.dumps({
        "user_name": "HalIncandenza", "password": "password-of-hal", "user_type": "dataset", "email": "hal@eta.com",
        "about_me": "Up and coming tennis star", "info_url": "https://hal.eta.net"})))
    assert user["user_name"] == "HalIncandenza"
    hal = "HalIncandenza:password-of-hal"
    patched = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-u", hal, "-X", "PATCH", f"{api}/users/{user['id']}",
                              "-H", "Content-Type: application/json", "-d", json.dumps({"about_me": "Here is some updated about me text",
                                                                                        "password": "Here|sANewPa$$w0rd"})],
                             capture_output=True, text=True)
    assert patched.stdout == "204"
    hal = "HalIncandenza:Here|sANewPa$$w0rd"
    sound = json.loads(subprocess.run(["curl", "-sS", "-u", hal, "-X", "POST", f"{api}/sounds", "-H", "Content-Type: application/json",
                                       "-d", json.dumps({"info_url": "https://archive.org/details/Greatest_Speeches_of_the_20th_Century",
                                                         "audio_url": "https://archive.org/download/Greatest_Speeches_of_the_20th_Century/AbdicationAddress.ogg",
                                                         "license_type": "https://creativecommons.org/licenses/by/4.0",
                                                         "title": "Abdication Address - King Edward VIII", "duration_seconds": 402,
                                                         "tags": ["speech"]})], capture_output=True, text=True).stdout)
    assert sound["title"] == "Abdication Address - King Edward VIII"
    note = json.loads(curl("-X", "POST", f"{api}/sounds/{sound['id']}/annotations", "-H", "Content-Type: application/json", "-d",
                           json.dumps({"start_seconds": 1.2, "duration_seconds": 0.5, "tags": ["snare", "hi-hat"],
                                       "data_url": "https://s3/data/numpy-fft-feature.dat"})))
    assert note["end_seconds"] == 1.7
    assert json.loads(curl(f"{api}/annotations?tags=snare"))["items"][0]["id"] == note["id"]
    assert json.loads(curl(f"{api}/sounds/{sound['id']}/annotations?time_range=1,2"))["total_count"] == 1
    assert set(json.loads(curl(f"{api}/"))) == {"totalSounds", "totalAnnotations", "totalUsers"}


def test_voxceleb_examples(server, tmp_path):
    assert server.cli("demo", "--quiet").returncode == 0
    curl("-o", "voxceleb5.zip", f"{server}/api/v1/download?count=5", cwd=tmp_path)
    archive = zipfile.ZipFile(tmp_path / "voxceleb5.zip")
    assert archive.testzip() is None and "filtered_metadata.csv" in archive.namelist()
    assert len([n for n in archive.namelist() if n.startswith("audio/")]) == 5
    assert json.loads(subprocess.run(["curl", "-sS", f"{server}/api/v1/health"], capture_output=True, text=True).stdout) == {"status": "ok"}
    refused = subprocess.run(["curl", "-sS", "-u", AUTH, "-w", " %{http_code}", f"{server}/api/v1/download?count=0"],
                             capture_output=True, text=True).stdout
    assert refused.endswith(" 400") and "count must be a positive whole number" in refused
