"""The Python client against the real app (`streamlit run app.py`) on loopback."""

from __future__ import annotations

import csv
import io
import json
import zipfile

import pytest
import soundfile as sf

from core.client import BadRequest, Client, Forbidden, NotFound, Unauthorized
from tests.conftest import E2E_ADMIN, E2E_PASSWORD, wav_bytes


@pytest.fixture(scope="module")
def admin(server):
    with Client(server, user=E2E_ADMIN, password=E2E_PASSWORD) as client:
        client.create_user("vox", "vox-password-1", "dataset")
        client.create_user("hal", "hal-password-1", "human")
        yield client


def test_wrong_credentials_raise_with_the_servers_message(server, admin):
    with Client(server, user="vox", password="wrong-password") as client, pytest.raises(Unauthorized, match="Wrong user name or password."):
        client.stats()
    with pytest.raises(ValueError):
        Client(server)


def test_upload_query_annotate_listen_download(server, admin, tmp_path):
    folder = tmp_path / "session"
    for i, rel in enumerate(("spk1/a.wav", "spk1/b.wav", "spk2/c.wav")):
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_bytes(wav_bytes(seconds=2, freq=200 + 100 * i))
    (folder / "notes.wav").write_text("not audio")
    (folder / "labels.csv").write_text("file_name,speaker\nspk1/a.wav,one\n")
    with Client(server, user="vox", password="vox-password-1") as vox:
        results = vox.upload_folder(folder, dataset="field", workers=3)
        refused = [r for r in results if "error" in r]
        assert [r["file"] for r in refused] == ["notes.wav"] and "not decodable audio" in refused[0]["error"]
        assert sorted(r.status for r in results) == ["refused", "stored", "stored", "stored", "stored"]  # IngestStatus
        assert refused[0].http_status == 400
        assert sum(1 for r in results if r.get("sound_id")) == 3
        sounds = list(vox.sounds(dataset="field", page_size=2))  # two pages, followed through "next"
        assert sorted(s["path"] for s in sounds) == ["spk1/a.wav", "spk1/b.wav", "spk2/c.wav"]
        assert {f["category"] for f in vox.files()} == {"audio", "data"}
        by_name = [s["path"] for s in vox.sounds(dataset="field", sort="name", descending=True, page_size=2)]
        assert by_name == ["spk2/c.wav", "spk1/b.wav", "spk1/a.wav"]
    with Client(server, user="hal", password="hal-password-1") as hal:
        with pytest.raises(Forbidden):
            hal.upload(folder / "spk1" / "a.wav", dataset="field")
        target = sounds[0]["id"]
        made = hal.annotate(target, start=0.5, end=1.0, tags=["kick"], text="first")
        assert made["sound"] == f"/api/v1/sounds/{target}" and made["end_seconds"] == 1.0
        assert [a["id"] for a in hal.annotations(target, time_range=(0.8, 0.9))] == [made["id"]]
        assert list(hal.annotations(target, time_range=(1.5, 1.9))) == []
        part, rate = sf.read(io.BytesIO(hal.audio(target, start=0.5, end=1.0)))
        assert len(part) == rate // 2
        view = hal.peaks(target, start=0.5, end=1.0, points=100)
        assert view["points"] <= 100 and view["start_seconds"] == 0.5 and len(view["x"]) == len(view["y"]) == view["points"]
        with pytest.raises(NotFound):
            hal.sound("no-such-sound")
        out = hal.download(tmp_path / "field.zip", count=10, dataset="field", seed=4, formats=["csv", "textgrid"])
        zf = zipfile.ZipFile(out)
        assert zf.testzip() is None and len([n for n in zf.namelist() if n.startswith("audio/")]) == 3
        rows = list(csv.DictReader(io.StringIO(zf.read("annotations.csv").decode())))
        assert [(r["tags"], r["text"], r["created_by"]) for r in rows] == [("kick", "first", "hal")]
        # every sound placed in a split (grouping is tested with the API's own tests), a folder each; these sounds
        # have no metadata, so a column to group by is refused (tests/test_core_splits_placement.py), and resplit
        # places them anew
        with pytest.raises(BadRequest, match="has a value in the column 'speaker' to group by"):
            hal.download(tmp_path / "split.zip", dataset="field", split={"train": 0.5, "test": 0.5}, group_by=["speaker"])
        split = zipfile.ZipFile(hal.download(tmp_path / "split.zip", dataset="field", seed=4,
                                             split={"train": 0.5, "test": 0.5}, resplit=True))
        manifest = json.loads(split.read("manifest.json"))
        assert manifest["split"]["shares"] == {"train": 0.5, "test": 0.5} and manifest["split"]["resplit"] is True
        assert {name.split("/")[0] for name in split.namelist() if name.endswith(".wav")} == set(manifest["exports"])
        assert sum(p["count_included"] for p in manifest["exports"].values()) == 3
        # training formats in the same ZIP: a NeMo manifest naming the audio members beside it
        nemo = zipfile.ZipFile(hal.download(tmp_path / "nemo.zip", dataset="field", seed=4, formats=["nemo"]))
        paths = {json.loads(line)["audio_filepath"] for line in nemo.read("nemo_manifest.json").decode().splitlines()}
        assert len(paths) == 3 and paths <= set(nemo.namelist())


def test_api_tokens_work_from_the_client(server, admin):
    from core.accounts.credentials import TokenService
    from core.accounts.users import UserService
    from core.context import open_earmark
    from core.store.config import load_settings

    settings = {"EARMARK_DATA_DIR": str(server.data_dir)} | ({"EARMARK_DATABASE_URL": server.database_url} if server.database_url else {})
    app = open_earmark(load_settings(settings, env_file=None), check_storage=False)
    with app.db.write() as session:
        vox = UserService(session).by_name("vox")
        _, secret = TokenService(session).create(vox, vox.id, "client test")
    with Client(server, token=secret) as bot:
        assert bot.stats()["totalUsers"] == 3


def test_edit_with_versions_and_delete_annotations(server, admin):
    from core.client import Conflict

    sound = admin.create_sound("A sound", 12.3, audio_url="https://example.com/a.wav", tags=["test"])
    with Client(server, user="hal", password="hal-password-1") as hal:
        made = hal.annotate(sound["id"], start=1, duration=1, tags=["kick"])
        seen = hal.annotation(made["id"])
        moved = hal.update_annotation(seen, start_seconds=2.0, duration_seconds=1.0)
        assert (moved["start_seconds"], moved["version"]) == (2.0, 2)
        with pytest.raises(Conflict, match="changed by hal"):
            hal.update_annotation(seen, text="stale")  # still version 1
        with Client(server, user="vox", password="vox-password-1") as vox, pytest.raises(Forbidden):
            vox.delete_annotation(made["id"])
        hal.delete_annotation(made["id"])
        with pytest.raises(NotFound):
            hal.annotation(made["id"])


def test_jobs_through_the_client(server, admin):
    with Client(server, user="hal", password="hal-password-1") as hal:
        assert {a["name"] for a in hal.analyzers()} >= {"audio-stats", "onsets", "spectrogram"}
        job = hal.submit_job("audio-stats", dataset="field")
        assert job["state"] == "queued" and job["total"] == 3
        done = hal.wait_job(job["id"], timeout=60, poll=0.2)  # the server's own worker runs it
        assert done["state"] == "completed" and done["output"]["fields"] == 21
        first = next(hal.sounds(dataset="field"))
        assert "audio_stats.rms_dbfs" in hal.sound(first["id"])["metadata"]
        results = hal.job_results(job["id"])
        assert len(results) == 3 and all(set(r["fields"]) >= {"audio_stats.rms_dbfs", "audio_stats.peak_dbfs"} for r in results)
        table = hal.http.get(f"/api/v1/jobs/{job['id']}/results", params={"format": "csv"})
        assert table.headers["content-type"].startswith("text/csv") and len(table.text.splitlines()) == 4
        with pytest.raises(Exception, match="params.sensitivity must be at most 1, not 3"):
            hal.submit_job("onsets", dataset="field", params={"sensitivity": 3})


class _DropsFirst:
    """A real HTTP server on loopback that closes the first connection after reading its request (as a server
    closing an idle kept-alive connection does just as a request arrives), then answers every other one."""

    def __init__(self) -> None:
        import socket
        import threading

        self.listener = socket.create_server(("127.0.0.1", 0))
        self.requests: list[bytes] = []
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.listener.getsockname()[1]}"

    def _serve(self) -> None:
        body = b'{"totalSounds": 1, "totalAnnotations": 2, "totalUsers": 3}'
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            with connection:
                self.requests.append(connection.recv(65536).split(b"\r\n", 1)[0])
                if len(self.requests) > 1:
                    connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
                                       b"Content-Length: %d\r\n\r\n%s" % (len(body), body))


def test_a_read_is_sent_again_when_the_connection_drops_and_a_write_is_not():
    import httpx2 as httpx

    server = _DropsFirst()
    with Client(server.url, user="hal", password="pw") as client:
        assert client.stats() == {"totalSounds": 1, "totalAnnotations": 2, "totalUsers": 3}
    assert server.requests == [b"GET /api/v1/ HTTP/1.1"] * 2
    server.listener.close()

    server = _DropsFirst()
    with Client(server.url, user="hal", password="pw") as client, pytest.raises((httpx.NetworkError, httpx.RemoteProtocolError)):
        client.annotate("snd_x", start=0.0, end=1.0)  # may have been saved: not sent twice
    assert server.requests == [b"POST /api/v1/sounds/snd_x/annotations HTTP/1.1"]
    server.listener.close()
