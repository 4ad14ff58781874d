"""The cochlea endpoints over HTTP (Starlette's test client on the app's own routes): status codes, shapes,
links under /api/v1, the role rules, Basic with its cache, and revocable Bearer tokens."""

from __future__ import annotations

import base64
import datetime as dt

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from core.accounts import credentials as apiauth
from core.accounts.credentials import TokenService
from core.accounts.users import UserService
from core.api import deps
from core.api.app import routes
from core.store.models import Sound
from tests.conftest import ADMIN_PASSWORD, USER_PASSWORD, make_user


def basic(name: str, password: str = USER_PASSWORD) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{name}:{password}".encode()).decode()}


@pytest.fixture
def api(local_earmark):
    deps.earmark.cache_clear()
    apiauth.BASIC_CACHE.entries.clear()
    make_user(local_earmark.db, "hal")
    make_user(local_earmark.db, "vox", "dataset")
    return TestClient(Starlette(routes=routes()))


def test_credentials_are_required_and_checked(api):
    assert api.get("/api/v1/").status_code == 401
    response = api.get("/api/v1/", headers=basic("hal", "wrong-password"))
    assert response.status_code == 401 and response.json() == {"error": "Wrong user name or password."}
    assert response.headers["www-authenticate"].startswith("Basic")
    assert api.get("/api/v1/", headers={"Authorization": "Digest x"}).status_code == 401
    assert api.get("/api/v1/", headers=basic("hal")).json() == {"totalSounds": 0, "totalAnnotations": 0, "totalUsers": 3}


def test_users_endpoints(api):
    listed = api.get("/api/v1/users?page_size=2", headers=basic("hal")).json()
    assert listed["total_count"] == 3 and len(listed["items"]) == 2 and listed["next"] == "/api/v1/users?page_size=2&page_number=2"
    assert "email" not in listed["items"][0]
    created = api.post("/api/v1/users", json={"user_name": "bot1", "password": "bot-password", "user_type": "featurebot"},
                       headers=basic("admin", ADMIN_PASSWORD))
    assert created.status_code == 201 and created.json()["user_type"] == "featurebot"
    refused = api.post("/api/v1/users", json={"user_name": "x", "password": "xxxxxxxxxx"}, headers=basic("hal"))
    assert refused.status_code == 403
    bad = api.post("/api/v1/users", json={"user_name": "bad name", "password": "xxxxxxxxxx"}, headers=basic("admin", ADMIN_PASSWORD))
    assert bad.status_code == 400 and "user_name" in bad.json()["error"]
    [hal_entry] = api.get("/api/v1/users?user_name=hal", headers=basic("hal")).json()["items"]
    hal_id = hal_entry["id"]
    assert api.patch(f"/api/v1/users/{hal_id}", json={"email": "hal@eta.net"}, headers=basic("hal")).status_code == 204
    assert api.get(f"/api/v1/users/{hal_id}", headers=basic("hal")).json()["email"] == "hal@eta.net"
    assert "email" not in api.get(f"/api/v1/users/{hal_id}", headers=basic("vox")).json()
    assert api.patch(f"/api/v1/users/{hal_id}", json={"about_me": "x"}, headers=basic("vox")).status_code == 403
    assert api.head(f"/api/v1/users/{hal_id}", headers=basic("vox")).status_code == 204
    assert api.head("/api/v1/users/nope", headers=basic("vox")).status_code == 404
    assert api.delete(f"/api/v1/users/{hal_id}", headers=basic("hal")).status_code == 200
    assert api.get(f"/api/v1/users/{hal_id}", headers=basic("vox")).status_code == 404


def test_sounds_and_annotations_endpoints(api):
    sound = api.post("/api/v1/sounds", json={"title": "Abdication Address", "duration_seconds": 402, "tags": ["speech"],
                                             "audio_url": "https://archive.org/a.ogg"}, headers=basic("vox"))
    assert sound.status_code == 201
    body = sound.json()
    assert body["created_by"].startswith("/api/v1/users/") and body["tags"] == ["speech"]
    assert api.post("/api/v1/sounds", json={"title": "x", "duration_seconds": 1}, headers=basic("hal")).status_code == 403
    sound_id = body["id"]
    assert api.head(f"/api/v1/sounds/{sound_id}", headers=basic("hal")).status_code == 204
    assert api.get("/api/v1/sounds/nope", headers=basic("hal")).status_code == 404
    assert api.get("/api/v1/sounds?tags=speech", headers=basic("hal")).json()["total_count"] == 1
    made = api.post(f"/api/v1/sounds/{sound_id}/annotations", json={"start_seconds": 1.2, "duration_seconds": 0.5,
                    "tags": ["snare", "hi-hat"], "data_url": "https://s3/data/fft.dat"}, headers=basic("hal"))
    assert made.status_code == 201
    note = made.json()
    assert note["sound"] == f"/api/v1/sounds/{sound_id}" and note["end_seconds"] == 1.7 and note["tags"] == ["hi-hat", "snare"]
    bad = api.post(f"/api/v1/sounds/{sound_id}/annotations", json={"start_seconds": -1, "duration_seconds": 1, "tags": ["x"]},
                   headers=basic("hal"))
    assert bad.status_code == 400 and bad.json() == {"error": "start_seconds must be at least 0, not -1."}
    assert api.post("/api/v1/sounds/nope/annotations", json={"start_seconds": 1, "duration_seconds": 1, "tags": ["x"]},
                    headers=basic("hal")).status_code == 404
    ranged = api.get(f"/api/v1/sounds/{sound_id}/annotations?time_range=1.5,3", headers=basic("vox")).json()
    assert [a["id"] for a in ranged["items"]] == [note["id"]]
    assert api.get(f"/api/v1/sounds/{sound_id}/annotations?time_range=5,9", headers=basic("vox")).json()["items"] == []
    assert api.get("/api/v1/annotations?tags=snare,hi-hat", headers=basic("vox")).json()["total_count"] == 1
    hal_id = note["created_by"].rsplit("/", 1)[1]
    assert api.get(f"/api/v1/users/{hal_id}/annotations", headers=basic("vox")).json()["total_count"] == 1
    vox_id = body["created_by"].rsplit("/", 1)[1]
    assert api.get(f"/api/v1/users/{vox_id}/sounds", headers=basic("hal")).json()["items"][0]["id"] == sound_id
    assert api.post("/api/v1/sounds", content=b"not json", headers=basic("vox") | {"Content-Type": "application/json"}).json() == {
        "error": "The request body is not JSON (Expecting value)."}
    assert api.post("/api/v1/sounds", content=b"not json", headers=basic("vox")).json() == {
        "error": "The request body is not JSON: send a JSON object with Content-Type: application/json."}


def test_suggestions_are_accepted_or_rejected_over_http(api, local_earmark):
    """A featurebot's suggestions (source set): accepting one (with text typed on the way) makes it the caller's
    own annotation; rejecting deletes it; a second review of the same one, or one of a person's, is a 409."""
    from core.annotations.service import AnnotationService

    sound_id = api.post("/api/v1/sounds", json={"title": "t", "duration_seconds": 10, "audio_url": "https://x.org/a.ogg"},
                        headers=basic("vox")).json()["id"]
    with local_earmark.db.write() as session:
        bot, hal_id = UserService(session).by_name("vox"), UserService(session).by_name("hal").id
        AnnotationService(session).create_many(bot, sound_id, [
            {"start_seconds": 1, "end_seconds": 2, "tags": ["speech"]}, {"start_seconds": 4, "end_seconds": 5, "tags": ["speech"]}],
            source="speech-activity:abc")
    first, second = api.get(f"/api/v1/sounds/{sound_id}/annotations", headers=basic("hal")).json()["items"]
    assert first["source"] == second["source"] == "speech-activity:abc"
    taken = api.post(f"/api/v1/annotations/{first['id']}/accept", json={"text": "hello there", "end_seconds": 2.5},
                     headers=basic("hal"))
    assert taken.status_code == 201, taken.text
    mine = taken.json()
    assert mine["source"] is None and mine["text"] == "hello there" and (mine["start_seconds"], mine["end_seconds"]) == (1, 2.5)
    assert mine["tags"] == ["speech"] and mine["created_by"].endswith(hal_id)
    again = api.post(f"/api/v1/annotations/{first['id']}/accept", headers=basic("vox"))
    assert again.status_code == 404  # it is gone: the accepted one is a new annotation
    assert api.post(f"/api/v1/annotations/{second['id']}/reject", headers=basic("hal")).status_code == 204
    assert api.get(f"/api/v1/annotations/{second['id']}", headers=basic("hal")).status_code == 404
    person = api.post(f"/api/v1/annotations/{mine['id']}/reject", headers=basic("hal"))
    assert person.status_code == 409 and person.json()["error"].startswith("Only a machine suggestion can be accepted or rejected")
    left = api.get(f"/api/v1/sounds/{sound_id}/annotations", headers=basic("hal")).json()["items"]
    assert [a["id"] for a in left] == [mine["id"]]


def test_a_review_is_undone_by_its_reviewer_only_once(api, local_earmark):
    """Undoing a review (the waveform's Ctrl+Z): the suggestion is suggested again as it was, the annotation its
    acceptance made is deleted, the verdict is forgotten (a re-run may suggest it again); another person's review,
    or the same undo twice, is a 404 that changes nothing."""
    from core.annotations.service import AnnotationService

    sound_id = api.post("/api/v1/sounds", json={"title": "t", "duration_seconds": 10, "audio_url": "https://x.org/a.ogg"},
                        headers=basic("vox")).json()["id"]
    with local_earmark.db.write() as session:
        AnnotationService(session).create_many(UserService(session).by_name("vox"), sound_id, [
            {"start_seconds": 1, "end_seconds": 2.25, "tags": ["speech"]}, {"start_seconds": 4, "end_seconds": 5, "tags": ["speech"]}],
            source="speech-activity:abc")
    first, second = api.get(f"/api/v1/sounds/{sound_id}/annotations", headers=basic("hal")).json()["items"]
    mine = api.post(f"/api/v1/annotations/{first['id']}/accept", json={"text": "hi"}, headers=basic("hal")).json()
    assert api.post(f"/api/v1/annotations/{second['id']}/reject", headers=basic("hal")).status_code == 204

    def undo(suggestion: dict, who: str, accepted_id: str | None = None):
        body = {k: suggestion[k] for k in ("source", "start_seconds", "end_seconds", "tags", "text")} | {"accepted_id": accepted_id}
        return api.post(f"/api/v1/sounds/{sound_id}/suggestions", json=body, headers=basic(who))

    assert undo(second, "vox").status_code == 404  # not vox's review
    back = undo(first, "hal", mine["id"])
    assert back.status_code == 201, back.text
    restored = back.json()
    assert (restored["source"], restored["start_seconds"], restored["end_seconds"], restored["tags"], restored["text"]) == (
        "speech-activity:abc", 1, 2.25, ["speech"], None)
    assert api.get(f"/api/v1/annotations/{mine['id']}", headers=basic("hal")).status_code == 404  # the accepted one is gone
    twice = undo(first, "hal", mine["id"])
    assert twice.status_code == 404 and twice.json()["error"].startswith("There is no review of yours of this suggestion")
    assert undo(second, "hal").status_code == 201
    left = api.get(f"/api/v1/sounds/{sound_id}/annotations", headers=basic("hal")).json()["items"]
    assert sorted((a["start_seconds"], a["source"]) for a in left) == [(1, "speech-activity:abc"), (4, "speech-activity:abc")]
    with local_earmark.db.read() as session:
        assert AnnotationService(session).reviewed(sound_id, "speech-activity:abc") == set()
        assert session.get(Sound, sound_id).annotation_count == 2  # counted off and on again


def test_a_tag_typed_on_the_waveform_joins_its_dataset_s_vocabulary_once(api, local_earmark):
    """POST /sounds/{id}/tags: the tag is in the palette from then on, in the order it was made and with a colour
    that no longer changes, whether or not an annotation has it; adding it again changes nothing."""
    from core.catalogue.vocabulary import Vocabulary

    sound_id = api.post("/api/v1/sounds", json={"title": "t", "duration_seconds": 10, "audio_url": "https://x.org/a.ogg",
                                                "dataset": "talks"}, headers=basic("vox")).json()["id"]
    first = api.post(f"/api/v1/sounds/{sound_id}/tags", json={"tag": "Speaker  A"}, headers=basic("hal"))
    assert first.status_code == 200, first.text
    kept = first.json()
    assert kept["tag"] == "speaker a" and kept["color"].startswith("#")
    assert api.post(f"/api/v1/sounds/{sound_id}/tags", json={"tag": "cough"}, headers=basic("hal")).status_code == 200
    again = api.post(f"/api/v1/sounds/{sound_id}/tags", json={"tag": "speaker a"}, headers=basic("vox"))
    assert again.json() == kept
    with local_earmark.db.read() as session:
        assert list(Vocabulary(session).colors(kept["dataset"])) == ["speaker a", "cough"]
    assert api.post(f"/api/v1/sounds/{sound_id}/tags", json={"tag": ""}, headers=basic("hal")).status_code == 400
    assert api.post("/api/v1/sounds/nope/tags", json={"tag": "x"}, headers=basic("hal")).status_code == 404


def test_bearer_tokens_work_until_revoked(api, local_earmark):
    with local_earmark.db.write() as session:
        hal = UserService(session).by_name("hal")
        token, secret = TokenService(session).create(hal, hal.id, "my bot")
    headers = {"Authorization": f"Bearer {secret}"}
    assert secret.startswith("em_") and api.get("/api/v1/", headers=headers).status_code == 200
    with local_earmark.db.write() as session:
        TokenService(session).revoke(UserService(session).by_name("hal"), token.id)
    assert api.get("/api/v1/", headers=headers).json() == {"error": "This API token is not valid (unknown or revoked)."}


def test_a_tokens_last_use_is_written_once_a_minute_not_once_a_request(api, local_earmark):
    from sqlalchemy import event, update
    from sqlalchemy.engine import Engine

    from core.store.models import ApiToken

    with local_earmark.db.write() as session:
        hal = UserService(session).by_name("hal")
        token, secret = TokenService(session).create(hal, hal.id, "busy bot")
    headers = {"Authorization": f"Bearer {secret}"}
    writes: list[str] = []
    listener = lambda conn, cursor, statement, *rest: writes.append(statement) if statement.startswith("UPDATE api_tokens") else None  # noqa: E731
    event.listen(Engine, "before_cursor_execute", listener)  # every engine: the API opens its own
    try:
        for _ in range(5):
            assert api.get("/api/v1/", headers=headers).status_code == 200
        assert len(writes) == 1  # the first use; the next four within the minute write nothing
        with local_earmark.db.write() as session:
            first = session.get(ApiToken, token.id).last_used
            session.execute(update(ApiToken).where(ApiToken.id == token.id).values(last_used=first - dt.timedelta(minutes=2)))
        writes.clear()
        assert api.get("/api/v1/", headers=headers).status_code == 200
        assert len(writes) == 1  # a minute later: written again
        with local_earmark.db.read() as session:
            assert session.get(ApiToken, token.id).last_used >= first  # kept up to date, to the minute
    finally:
        event.remove(Engine, "before_cursor_execute", listener)


def test_basic_is_cached_but_a_deactivated_account_stops_at_once(api, local_earmark, monkeypatch):
    from core.accounts import auth
    calls = {"n": 0}
    real = auth.verify_password

    def counting(password, hashed):
        calls["n"] += 1
        return real(password, hashed)

    monkeypatch.setattr(auth, "verify_password", counting)
    for _ in range(5):
        assert api.get("/api/v1/", headers=basic("hal")).status_code == 200
    assert calls["n"] == 1
    with local_earmark.db.write() as session:
        users = UserService(session)
        users.set_active(users.by_name("admin"), users.by_name("hal").id, False)
    assert api.get("/api/v1/", headers=basic("hal")).status_code == 401


def test_a_reset_password_stops_the_old_one_at_once_over_basic(api, local_earmark):
    assert api.get("/api/v1/", headers=basic("hal")).status_code == 200  # checked once, then remembered
    with local_earmark.db.write() as session:
        users = UserService(session)
        users.set_password(users.by_name("admin"), users.by_name("hal").id, "a-new-password-9")
    assert api.get("/api/v1/", headers=basic("hal")).status_code == 401
    assert api.get("/api/v1/", headers=basic("hal", "a-new-password-9")).status_code == 200


def test_sound_audio_whole_ranges_and_parts(api, local_earmark):
    import io

    import soundfile as sf

    from core.ingest.pipeline import UploadOptions, ingest_audio
    from tests.conftest import wav_bytes

    with local_earmark.db.read() as session:
        vox = UserService(session).by_name("vox")
    data = wav_bytes(seconds=2.0)
    result = ingest_audio(local_earmark.db, local_earmark.storage, vox, "a.wav", io.BytesIO(data), UploadOptions(dataset="vox", max_bytes=10**7))
    url = f"/api/v1/sounds/{result.sound_id}/audio"
    whole = api.get(url, headers=basic("hal"))
    assert whole.status_code == 200 and whole.content == data and whole.headers["content-type"] == "audio/wav"
    part = api.get(url, headers=basic("hal") | {"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == data[100:200] and part.headers["content-range"] == f"bytes 100-199/{len(data)}"
    tail = api.get(url, headers=basic("hal") | {"Range": "bytes=-10"})
    assert tail.content == data[-10:]
    outside = api.get(url, headers=basic("hal") | {"Range": f"bytes={len(data) + 5}-"})
    assert outside.status_code == 416 and outside.json()["error"].startswith("The requested range is outside")
    seconds = api.get(url + "?start=0.5&end=1.0", headers=basic("hal"))
    decoded, rate = sf.read(io.BytesIO(seconds.content))
    assert seconds.status_code == 200 and len(decoded) == rate // 2
    assert api.get(url + "?start=x", headers=basic("hal")).json() == {"error": "start must be a number, not 'x'."}


def test_peaks_of_any_view_at_most_the_points_asked(api, local_earmark):
    import io

    import numpy as np
    import soundfile as sf

    from core.ingest.pipeline import UploadOptions, ingest_audio
    from tests.conftest import wav_bytes

    with local_earmark.db.read() as session:
        vox = UserService(session).by_name("vox")
    rate, seconds = 16_000, 40.0  # 640,000 frames: a pyramid is made
    t = np.arange(int(rate * seconds)) / rate
    buffer = io.BytesIO()
    sf.write(buffer, 0.5 * np.sin(2 * np.pi * 100 * t) * (t / seconds), rate, format="WAV", subtype="PCM_16")
    long = ingest_audio(local_earmark.db, local_earmark.storage, vox, "long.wav", io.BytesIO(buffer.getvalue()),
                        UploadOptions(dataset="vox", max_bytes=10**8)).sound_id
    whole = api.get(f"/api/v1/sounds/{long}/peaks?points=1000", headers=basic("hal")).json()
    assert whole["source"].startswith("peaks/") and whole["points"] <= 1000 and len(whole["x"]) == len(whole["y"]) == whole["points"]
    assert whole["start_seconds"] == 0 and whole["end_seconds"] == seconds and whole["duration_seconds"] == seconds
    assert 0.45 < max(whole["y"]) <= 0.5 and -0.5 <= min(whole["y"]) < -0.45  # the ramp's loudest end
    zoomed = api.get(f"/api/v1/sounds/{long}/peaks?start=39&end=39.05", headers=basic("hal")).json()
    assert zoomed["source"] == "samples" and zoomed["points"] == 800 and 39 <= zoomed["x"][0] < zoomed["x"][-1] < 39.05
    past = api.get(f"/api/v1/sounds/{long}/peaks?start=30&end=99", headers=basic("hal")).json()
    assert past["end_seconds"] == seconds  # cut at the end of the sound
    short = ingest_audio(local_earmark.db, local_earmark.storage, vox, "short.wav", io.BytesIO(wav_bytes()),
                         UploadOptions(dataset="vox", max_bytes=10**7)).sound_id
    assert api.get(f"/api/v1/sounds/{short}/peaks", headers=basic("hal")).json()["source"].startswith("samples")
    assert api.get("/api/v1/sounds/nope/peaks", headers=basic("hal")).status_code == 404
    assert api.get(f"/api/v1/sounds/{long}/peaks").status_code == 401


def test_the_spectrogram_of_a_view_is_a_png_with_the_tone_where_it_is(api, local_earmark):
    import io

    import numpy as np
    import soundfile as sf
    from PIL import Image

    from core.ingest.pipeline import UploadOptions, ingest_audio

    with local_earmark.db.read() as session:
        vox = UserService(session).by_name("vox")
    rate = 16_000
    t = np.arange(200 * rate) / rate  # 200 s: a 1 kHz tone in the first half, 3 kHz in the second
    tone = 0.5 * np.sin(2 * np.pi * np.where(t < 100, 1000, 3000) * t)
    buffer = io.BytesIO()
    sf.write(buffer, tone, rate, format="WAV", subtype="PCM_16")
    sound = ingest_audio(local_earmark.db, local_earmark.storage, vox, "tones.wav", io.BytesIO(buffer.getvalue()),
                         UploadOptions(dataset="vox", max_bytes=10**8)).sound_id
    answer = api.get(f"/api/v1/sounds/{sound}/spectrogram?start=90&end=110", headers=basic("hal"))
    assert answer.status_code == 200 and answer.headers["content-type"] == "image/png"
    assert answer.headers["x-content-type-options"] == "nosniff" and answer.headers["content-security-policy"] == "sandbox"
    image = np.asarray(Image.open(io.BytesIO(answer.content)).convert("L"), dtype=float)
    rows, columns = image.shape
    assert rows == 257 and 500 <= columns <= 600  # frequency bins (512-point FFT) by frames
    brightest = rows - 1 - image.argmax(axis=0)  # per column, the loudest bin counted from the bottom (0 Hz)
    hz = brightest * rate / 2 / (rows - 1)
    assert np.all(np.abs(hz[: columns // 2 - 10] - 1000) < 40) and np.all(np.abs(hz[columns // 2 + 10:] - 3000) < 40)
    too_long = api.get(f"/api/v1/sounds/{sound}/spectrogram", headers=basic("hal"))
    assert too_long.status_code == 400 and too_long.json() == {"error": "Zoom in to 120 s or less to see the spectrogram."}
    assert api.get("/api/v1/sounds/nope/spectrogram", headers=basic("hal")).status_code == 404
    assert api.get(f"/api/v1/sounds/{sound}/spectrogram?start=1&end=2").status_code == 401


def test_signed_links_and_registry_files_answer_ranges(api, local_earmark):
    """A player seeking in an original opened from a page asks for parts: 206 with just those bytes."""
    import io

    from core.catalogue.files import FileService
    from core.catalogue.links import file_link
    from core.ingest.pipeline import UploadOptions, ingest_audio
    from tests.conftest import wav_bytes

    with local_earmark.db.read() as session:
        vox, hal = UserService(session).by_name("vox"), UserService(session).by_name("hal")
    data = wav_bytes(seconds=2.0)
    key = ingest_audio(local_earmark.db, local_earmark.storage, vox, "a.wav", io.BytesIO(data),
                       UploadOptions(dataset="vox", max_bytes=10**7)).key
    with local_earmark.db.read() as session:
        link = file_link(local_earmark.settings, FileService(session, local_earmark.storage).by_key(key), hal)
    whole = api.get(link)
    assert whole.status_code == 200 and whole.content == data and whole.headers["accept-ranges"] == "bytes"
    part = api.get(link, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == data[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{len(data)}" and part.headers["content-security-policy"] == "sandbox"
    assert api.get(link, headers={"Range": f"bytes={len(data)}-"}).status_code == 416
    registry = api.get(f"/api/v1/data/files/{key}", headers=basic("hal") | {"Range": "bytes=-44"})
    assert registry.status_code == 206 and registry.content == data[-44:]


def test_file_registry_endpoints(api, local_earmark, monkeypatch):
    from tests.conftest import wav_bytes

    auth = basic("vox")
    sent = api.post("/api/v1/data/upload", files={"file": ("training_data.json", b'{"a": 1}', "application/json")},
                    data={"purpose": "training", "description": "Bot training data", "metadata": '{"source": "production"}'},
                    headers=auth)
    assert sent.status_code == 201
    record = sent.json()["file"]
    assert sent.json()["success"] and record["category"] == "data" and record["purpose"] == "training"
    assert record["metadata"] == {"source": "production"} and record["original_filename"] == "training_data.json"
    again = api.post("/api/v1/data/upload", files={"file": ("copy.json", b'{"a": 1}', "application/json")}, headers=auth)
    assert (sent.json()["status"], again.json()["status"]) == ("stored", "duplicate")
    assert again.status_code == 200 and again.json()["message"].startswith("Already there")
    voice = api.post("/api/v1/data/upload", files={"file": ("voice.wav", wav_bytes(), "audio/wav")}, data={"dataset": "echo"}, headers=auth)
    assert voice.status_code == 201 and voice.json()["sound_id"] and voice.json()["file"]["path"] == "audio/echo/voice.wav"
    fake = api.post("/api/v1/data/upload", files={"file": ("notes.wav", b"text", "audio/wav")}, headers=auth)
    assert fake.status_code == 400 and "not decodable audio" in fake.json()["error"]
    evil = api.post("/api/v1/data/upload", files={"file": ("../../etc/passwd.txt", b"x", "text/plain")}, headers=auth)
    assert evil.status_code == 403 and "outside" in evil.json()["error"]
    monkeypatch.setenv("EARMARK_MAX_UPLOAD_MB", "1")
    from core.store import config
    config.settings.cache_clear()
    deps.earmark.cache_clear()
    big = api.post("/api/v1/data/upload", files={"file": ("big.txt", b"x" * (1024 * 1024 + 1), "text/plain")}, headers=auth)
    assert big.status_code == 413 and "EARMARK_MAX_UPLOAD_MB" in big.json()["error"]
    assert api.post("/api/v1/data/upload", files={"file": ("a.txt", b"x", "text/plain")}, headers=basic("hal")).status_code == 403

    listed = api.get("/api/v1/data/files?purpose=training", headers=auth).json()
    assert listed["total"] == 1 and listed["files"][0]["path"] == record["path"]
    assert api.get("/api/v1/data/files?category=audio&limit=1&offset=0", headers=auth).json()["total"] == 1
    meta = api.get(f"/api/v1/data/files/{record['path']}?metadata=true", headers=auth).json()
    assert meta["metadata"]["hash"] == record["hash"]
    assert api.get(f"/api/v1/data/files/{record['path']}", headers=auth).content == b'{"a": 1}'
    assert api.get("/api/v1/data/files/files/../../secret", headers=auth).status_code in (403, 404)
    stats = api.get("/api/v1/data/stats", headers=auth).json()["stats"]
    assert stats["total_files"] == 2 and stats["by_purpose"]["training"]["count"] == 1
    assert api.delete(f"/api/v1/data/files/{record['path']}", headers=basic("hal")).status_code == 403
    assert api.delete(f"/api/v1/data/files/{record['path']}", headers=auth).json() == {"success": True, "message": "File deleted successfully"}
    assert api.get(f"/api/v1/data/files/{record['path']}", headers=auth).status_code == 404


def test_every_link_to_a_user_has_the_same_form(api):
    """Issue 26: a file's ``uploaded_by`` was "/users/<id>" while a sound's ``created_by`` was "/api/v1/users/<id>";
    every link is now a path under /api/v1 that answers."""
    from tests.conftest import wav_bytes

    auth = basic("vox")
    upload = api.post("/api/v1/data/upload", files={"file": ("voice.wav", wav_bytes(), "audio/wav")}, data={"dataset": "echo"},
                      headers=auth).json()
    sound = api.get(f"/api/v1/sounds/{upload['sound_id']}", headers=auth).json()
    note = api.post(f"/api/v1/sounds/{sound['id']}/annotations", json={"start_seconds": 0.1, "duration_seconds": 0.2, "tags": ["x"]},
                    headers=auth).json()
    path = upload["file"]["path"]
    links = {upload["file"]["uploaded_by"], sound["created_by"], note["created_by"],
             api.get("/api/v1/data/files", headers=auth).json()["files"][0]["uploaded_by"],
             api.get(f"/api/v1/data/files/{path}?metadata=true", headers=auth).json()["metadata"]["uploaded_by"]}
    [link] = links
    assert link.startswith("/api/v1/users/") and api.get(link, headers=auth).json()["user_name"] == "vox"


def test_subset_download_streams_a_zip(api, local_earmark):
    import io
    import zipfile

    from core.ingest.demo import load_demo

    load_demo(local_earmark.db, local_earmark.storage, max_bytes=10**8)
    response = api.get("/api/v1/download?count=5&dataset=demo&seed=3&where=gender=f&formats=csv,rttm", headers=basic("hal"))
    assert response.status_code == 200 and response.headers["content-disposition"] == 'attachment; filename="demo5.zip"'
    zf = zipfile.ZipFile(io.BytesIO(response.content))
    assert zf.testzip() is None and "annotations.rttm" in zf.namelist()
    assert response.headers["x-earmark-seed"] == "3"
    assert api.get("/api/v1/download?count=0", headers=basic("hal")).status_code == 400
    assert api.get("/api/v1/download?count=ten", headers=basic("hal")).json()["error"].startswith("count must be a positive whole number")
    nothing = api.get("/api/v1/download?dataset=none", headers=basic("hal"))
    assert nothing.status_code == 404 and nothing.json() == {"error": "No sounds match these filters."}


def test_a_download_that_must_stop_at_a_missing_file_says_so_before_any_zip_byte(api, local_earmark):
    """Issue 28: the subset is outlined (ids only) before the first byte, and with on_missing=fail every file is
    checked then: a file gone from storage is one sentence naming it, not a ZIP cut short."""
    import io
    import json
    import zipfile

    from core.catalogue.sounds import SoundService
    from core.ingest.demo import load_demo

    load_demo(local_earmark.db, local_earmark.storage, max_bytes=10**8)
    with local_earmark.db.read() as session:
        gone = sorted(SoundService(session, local_earmark.storage).list().items, key=lambda s: s.path)[0]
        local_earmark.storage.delete(gone.file.key)
    response = api.get("/api/v1/download?count=100&dataset=demo&on_missing=fail", headers=basic("hal"))
    assert 400 <= response.status_code < 500 and not response.content.startswith(b"PK")
    assert response.json() == {"error": f"1 file(s) of the subset are missing from storage ({gone.path}); "
                                        "export the rest instead, or restore them."}
    kept = api.get("/api/v1/download?count=100&dataset=demo", headers=basic("hal"))  # skip: the rest, the gone one listed
    assert kept.status_code == 200 and kept.headers["content-disposition"] == 'attachment; filename="demo32.zip"'
    manifest = json.loads(zipfile.ZipFile(io.BytesIO(kept.content)).read("manifest.json"))
    assert manifest["missing"] == [gone.path] and manifest["count_included"] == len(manifest["files"]) == 31


def test_an_unknown_format_is_refused_naming_every_format_accepted(api):
    """Trial item 13: a misspelled training format is a 400 whose sentence lists the ZIP's annotation formats and
    the training formats (parquet itself is accepted), not only the former."""
    from core.export.formats import TRAINING_FORMATS
    from core.export.subset import FORMATS

    response = api.get("/api/v1/download?dataset=demo&formats=parquet,webdatset", headers=basic("hal"))
    assert response.status_code == 400
    error = response.json()["error"]
    assert error.startswith("formats must be formats separated by commas, of ") and "'parquet,webdatset'" in error
    listed = error.split(" of ", 1)[1].split(", not ")[0].split(", ")
    assert listed == [*FORMATS, *TRAINING_FORMATS]


def test_split_download_streams_a_folder_per_split_with_the_leakage_report(api, local_earmark):
    """GET /download?split=...: every matching sound placed (stored as its field 'split'), one ZIP, no speaker in two
    splits; shares that are not a split are a 400 naming the problem."""
    import io
    import json
    import zipfile
    from collections import Counter

    from sqlalchemy import select

    from core.ingest.demo import load_demo
    from core.store.models import SoundField

    load_demo(local_earmark.db, local_earmark.storage, max_bytes=10**8)
    response = api.get("/api/v1/download?dataset=demo&seed=4&split=train=0.5,test=0.5&group_by=speaker_id&stratify=gender",
                       headers=basic("hal"))
    assert response.status_code == 200, response.text
    assert response.headers["content-disposition"] == 'attachment; filename="demo-train-test.zip"'
    zf = zipfile.ZipFile(io.BytesIO(response.content))
    manifest = json.loads(zf.read("manifest.json"))
    assert manifest["split"]["group_by"] == ["speaker_id"] and manifest["split"]["stratify"] == "gender"
    assert manifest["leakage"]["groups_across_splits"]["count"] == 0
    assert sum(part["count_included"] for part in manifest["exports"].values()) == 32
    assert {n.split("/", 1)[0] for n in zf.namelist() if n != "manifest.json"} == {"train", "test"}
    with local_earmark.db.read() as session:  # each sound's split is stored as its metadata field
        stored = Counter(session.scalars(select(SoundField.value).where(SoundField.name == "split")))
    assert stored == {name: part["count_included"] for name, part in manifest["exports"].items()}
    # training formats in the same ZIP, per split: WebDataset shards and a Kaldi folder beside each split's audio
    both = zipfile.ZipFile(io.BytesIO(api.get("/api/v1/download?dataset=demo&seed=4&split=train=0.5,test=0.5"
                                              "&group_by=speaker_id&formats=webdataset,kaldi", headers=basic("hal")).content))
    for name in ("train", "test"):
        assert f"{name}/kaldi/wav.scp" in both.namelist() and any(n.startswith(f"{name}/webdataset/") for n in both.namelist())
    assert json.loads(both.read("manifest.json"))["leakage"]["groups_across_splits"]["count"] == 0
    bad = api.get("/api/v1/download?dataset=demo&split=train=0.9", headers=basic("hal"))
    assert bad.status_code == 400 and bad.json() == {"error": "Name at least two splits with their shares, as in train=0.8,dev=0.1,test=0.1."}


def test_sounds_filtered_by_metadata_as_on_browse(api, local_earmark):
    """GET /sounds?where=COLUMN=VALUE (may repeat): the catalogue search's filter; every page of a multi-page listing
    keeps every condition (the next link carries each where)."""
    from core.ingest.demo import load_demo

    load_demo(local_earmark.db, local_earmark.storage, max_bytes=10**8)
    first = api.get("/api/v1/sounds?dataset=demo&where=gender=f&where=set=dev&page_size=5", headers=basic("hal")).json()
    items, page = list(first["items"]), first
    while page["next"]:
        assert page["next"].count("where=") == 2
        page = api.get(page["next"], headers=basic("hal")).json()
        items += page["items"]
    from sqlalchemy import select

    from core.store.models import SoundField

    with local_earmark.db.read() as session:
        def having(name, value):
            return set(session.scalars(select(SoundField.sound_id).where(SoundField.name == name, SoundField.value == value)))
        expected = having("gender", "f") & having("set", "dev")
    assert {i["id"] for i in items} == expected and len(items) == first["total_count"] and 5 < len(items) < 32
    bad = api.get("/api/v1/sounds?where=gender", headers=basic("hal"))
    assert bad.status_code == 400 and "COLUMN=VALUE" in bad.json()["error"]


def test_stored_files_are_served_so_no_script_in_them_runs(api):
    xhtml = b'<html xmlns="http://www.w3.org/1999/xhtml"><script>alert(document.cookie)</script></html>'
    sent = api.post("/api/v1/data/upload", files={"file": ("page.xml", xhtml, "application/xml")}, headers=basic("vox"))
    assert sent.status_code == 201, sent.text
    served = api.get(f"/api/v1/data/files/{sent.json()['file']['path']}", headers=basic("vox"))
    assert served.content == xhtml
    assert served.headers["content-disposition"] == "attachment; filename*=UTF-8''page.xml"
    assert served.headers["x-content-type-options"] == "nosniff" and served.headers["content-security-policy"] == "sandbox"


def test_audio_plays_inline_with_the_type_its_content_has(api):
    from tests.conftest import wav_bytes

    mp3 = wav_bytes(seconds=1.0, fmt="MP3", subtype="MPEG_LAYER_III")
    sent = api.post("/api/v1/data/upload", files={"file": ("named.wav", mp3, "audio/wav")}, data={"dataset": "mislabelled"},
                    headers=basic("vox"))
    assert sent.status_code == 201, sent.text
    audio = api.get(f"/api/v1/sounds/{sent.json()['sound_id']}/audio", headers=basic("hal"))
    assert audio.status_code == 200 and audio.content == mp3
    assert audio.headers["content-type"] == "audio/mpeg" and "content-disposition" not in audio.headers
    assert audio.headers["x-content-type-options"] == "nosniff" and audio.headers["content-security-policy"] == "sandbox"


def test_page_tokens_act_as_their_user_until_they_expire_or_the_password_changes(api, local_earmark):
    """What a page hands its own scripts (the waveform component): a signed Bearer value, no password, good on
    the page's own routes (tests/test_core_signed_links.py: nowhere else)."""
    from core.accounts import auth, credentials, tokens
    from core.errors import AuthenticationFailed

    key = auth.cookie_key(local_earmark.settings)
    sound_id = api.post("/api/v1/sounds", json={"title": "t", "duration_seconds": 10, "audio_url": "https://x.org/a.ogg"},
                        headers=basic("vox")).json()["id"]
    with local_earmark.db.read() as session:
        hal = UserService(session).by_name("hal")
    bearer = {"Authorization": "Bearer " + credentials.page_token(hal, key)}
    assert api.get(f"/api/v1/sounds/{sound_id}", headers=bearer).status_code == 200
    note = api.post(f"/api/v1/sounds/{sound_id}/annotations", json={"start_seconds": 1, "duration_seconds": 1, "tags": ["x"]},
                    headers=bearer)
    assert note.status_code == 201 and note.json()["created_by"].endswith(hal.id)
    expired = "Bearer " + credentials.PAGE_TOKEN_PREFIX + tokens.sign(tokens.Kind.PAGE, hal, {}, key, -1)
    answer = api.get(f"/api/v1/sounds/{sound_id}", headers={"Authorization": expired})
    assert answer.status_code == 401 and answer.json() == {"error": "This page token has expired: open the page again."}
    forged = "Bearer " + credentials.page_token(hal, "another key" * 4)
    assert api.get(f"/api/v1/sounds/{sound_id}", headers={"Authorization": forged}).status_code == 401
    with pytest.raises(AuthenticationFailed, match="not accepted here"):
        credentials.authenticate(local_earmark.db, bearer["Authorization"])  # where no key is given
    with local_earmark.db.write() as session:
        UserService(session).set_password(hal, hal.id, "a-new-password")
    changed = api.get(f"/api/v1/sounds/{sound_id}", headers=bearer)
    assert changed.status_code == 401 and "has ended" in changed.json()["error"]
    with local_earmark.db.read() as session:
        fresh = {"Authorization": "Bearer " + credentials.page_token(UserService(session).by_name("hal"), key)}
    assert api.get(f"/api/v1/sounds/{sound_id}", headers=fresh).status_code == 200
    with local_earmark.db.write() as session:
        session.get(type(hal), hal.id).is_active = False
    assert api.get(f"/api/v1/sounds/{sound_id}", headers=fresh).status_code == 401


def test_audio_routes_take_no_handler_slot(api, monkeypatch):
    """Quick handlers share deps.HANDLER_SLOTS; routes that wait on decoding or storage (peaks, audio, files,
    subsets) run beside them, so listings holding every slot do not hold them up."""
    from concurrent.futures import ThreadPoolExecutor
    from threading import Barrier, Event

    from core.catalogue.sounds import SoundService

    entered, release = Barrier(deps.HANDLER_SLOTS + 1), Event()
    real = SoundService.list_public

    def held(self, *args, **kwargs):
        entered.wait(10)
        release.wait(10)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(SoundService, "list_public", held)
    with api as client, ThreadPoolExecutor(deps.HANDLER_SLOTS + 1) as pool:
        listings = [pool.submit(client.get, "/api/v1/sounds", headers=basic("hal")) for _ in range(deps.HANDLER_SLOTS)]
        entered.wait(10)  # every slot is now held by a listing
        queued = pool.submit(client.get, "/api/v1/sounds/nope", headers=basic("hal"))
        peaks = client.get("/api/v1/sounds/nope/peaks", headers=basic("hal"))
        assert peaks.status_code == 404 and not queued.done()
        release.set()
        assert [f.result(10).status_code for f in listings] == [200] * deps.HANDLER_SLOTS
        assert queued.result(10).status_code == 404


def test_a_listing_checks_its_caller_on_the_handlers_thread(api, monkeypatch):
    """One trip to a worker thread per authenticated GET: the caller is checked there, then the handler runs.
    A plain FastAPI route with a sync handler makes three (the check, the handler, then checking the answer
    against its return type), each a wake-up and a turn at the interpreter lock."""
    import anyio.to_thread

    trips = []
    real = anyio.to_thread.run_sync

    async def counted(*args, **kwargs):
        trips.append(args[0])
        return await real(*args, **kwargs)

    with api as client:
        client.get("/api/v1/sounds", headers=basic("hal"))  # warm: the first Basic check runs bcrypt
        monkeypatch.setattr(anyio.to_thread, "run_sync", counted)
        assert client.get("/api/v1/sounds", headers=basic("hal")).status_code == 200
        assert len(trips) == 1
        assert client.get("/api/v1/", headers=basic("hal")).status_code == 200  # a plain route (/health's kind)
        assert len(trips) == 1 + 3


@pytest.mark.parametrize("headers", [{}, basic("hal", "wrong-password"), {"Authorization": "Bearer em_unknown"},
                                     {"Authorization": "Digest x"}])
def test_a_handler_never_runs_for_a_refused_caller(api, monkeypatch, headers):
    """The check moved onto the handler's thread still comes first: a refused caller gets the 401 and the
    handler is never called (for routes on a thread and for those on the event loop alike)."""
    from core.catalogue.sounds import SoundService

    called = []
    monkeypatch.setattr(SoundService, "list_public", lambda *a, **k: called.append(a))
    monkeypatch.setattr("core.api.sounds.ensure_peaks", lambda *a, **k: called.append(a))
    with api as client:
        for path in ("/api/v1/sounds", "/api/v1/sounds/nope/peaks", "/api/v1/sounds/nope/audio"):
            response = client.get(path, headers=headers)
            assert response.status_code == 401, (path, response.text)
            assert response.headers["www-authenticate"].startswith("Basic")
    assert called == []


def test_every_route_taking_a_caller_checks_it(api):
    """A route taking the caller either checks it with its handler (Bounded) or has the dependency check it:
    :class:`deps.Unchecked` never reaches a handler as the user."""
    from fastapi.routing import APIRoute

    from core.api.app import create_app

    def every(routes):
        for route in routes:
            included = getattr(route, "original_router", None)  # an included router: its own routes
            yield from every(included.routes) if included else [route]

    checked = [route for route in every(create_app().routes) if isinstance(route, APIRoute)
               and any(dep.call is deps.current_user for dep in route.dependant.dependencies)]
    assert len(checked) > 30
    for route in checked:
        assert isinstance(route, deps.Bounded) == getattr(route.endpoint, "checks_caller", False), route.path
