"""Issue 24 over HTTP: an upload whose header claims more audio than the file holds is a 400 with one sentence;
a sound stored with such a header before uploads were measured answers its views and parts with a 400, never a
500; audio parts are streamed and limited in samples; a channel the sound does not have is a 400."""

from __future__ import annotations

import io

import soundfile as sf
from sqlalchemy import update

from core.store.models import Sound
from tests.conftest import wav_bytes
from tests.test_core_api import api, basic  # noqa: F401 - the fixture and the header of the API tests
from tests.test_core_audio_bounds import lying_flac, lying_mp3, needs_mp3, u8_wav


def upload(api, name: str, data: bytes):  # noqa: F811 - the fixture's client
    return api.post("/api/v1/data/upload", files={"file": (name, data, "application/octet-stream")}, data={"dataset": "lab"},
                    headers=basic("vox"))


@needs_mp3
def test_an_upload_claiming_more_audio_than_it_holds_is_refused_in_one_sentence(api, local_earmark):  # noqa: F811
    lie = lying_mp3(3_000_000)
    refused = upload(api, "lie.mp3", lie)
    assert refused.status_code == 400
    assert refused.json() == {"error": f"lie.mp3 claims 107,999.912 s of audio, more than its {len(lie):,} bytes can hold "
                                       "as MP3 (refused)."}
    flac = upload(api, "lie.flac", lying_flac(100_000))
    assert flac.status_code == 400
    assert flac.json()["error"].startswith("lie.flac is truncated: its header says 6.250 s, but its audio ends before ")
    assert api.get("/api/v1/sounds", headers=basic("hal")).json()["total_count"] == 0
    assert upload(api, "fine.flac", wav_bytes(seconds=0.5, fmt="FLAC")).status_code == 201


def test_views_of_a_sound_stored_with_a_lying_header_answer_400_not_500(api, local_earmark):  # noqa: F811
    """What main stored from the lying FLAC (rows saying 100,000 frames over 0.5 s of audio): peaks, spectrogram
    and part answered 500 (LibsndfileError); now each says what is wrong with the file."""
    sound_id = upload(api, "old.flac", wav_bytes(seconds=0.5, fmt="FLAC")).json()["sound_id"]
    local_earmark.storage.put("audio/lab/old.flac", lying_flac(100_000))
    with local_earmark.db.write() as session:
        session.execute(update(Sound).where(Sound.id == sound_id).values(frames=100_000, duration_seconds=6.25))
    for path in ("peaks", "spectrogram?start=0&end=6", "audio?start=1&end=6"):
        answer = api.get(f"/api/v1/sounds/{sound_id}/{path}", headers=basic("hal"))
        assert answer.status_code == 400, (path, answer.status_code)
        assert answer.json()["error"].startswith("old.flac is truncated: its header says 6.250 s, but its audio ends before ")
    assert api.get(f"/api/v1/sounds/{sound_id}/audio", headers=basic("hal")).status_code == 200  # the file as it is


def test_an_audio_part_is_streamed_and_limited_in_samples(api, local_earmark, monkeypatch):  # noqa: F811
    """An 8-bit WAV at 1 MHz: its seconds are few, its samples many. A part is sent as it is encoded (its length
    known first), and a part reading more than PLAY_MAX_SAMPLES is a 400 however short it is in seconds."""
    import core.audio.waveform

    sound_id = upload(api, "bat.wav", u8_wav(seconds=3.0)).json()["sound_id"]
    url = f"/api/v1/sounds/{sound_id}/audio"
    part = api.get(url + "?start=0.5&end=2.5", headers=basic("hal"))
    assert part.status_code == 200 and part.headers["content-type"] == "audio/wav"
    assert int(part.headers["content-length"]) == len(part.content) == 44 + 2 * 2_000_000
    assert part.headers["x-content-type-options"] == "nosniff"
    decoded, rate = sf.read(io.BytesIO(part.content))
    assert rate == 1_000_000 and len(decoded) == 2_000_000
    monkeypatch.setattr(core.audio.waveform, "PLAY_MAX_SAMPLES", 1_000_000, raising=False)
    refused = api.get(url + "?start=0&end=2", headers=basic("hal"))
    assert refused.status_code == 400
    assert refused.json() == {"error": "Parts of this sound longer than 1 s (1,000,000 samples) are not played here; zoom in."}


def test_a_channel_the_sound_does_not_have_is_a_400(api, local_earmark):  # noqa: F811
    sound_id = upload(api, "mono.wav", wav_bytes(seconds=2.0)).json()["sound_id"]
    answer = api.get(f"/api/v1/sounds/{sound_id}/spectrogram?start=0&end=1&channel=3", headers=basic("hal"))
    assert answer.status_code == 400 and answer.json() == {"error": "channel must be from 0 to 0."}
