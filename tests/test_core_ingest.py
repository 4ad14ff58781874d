"""Ingest on both storage backends: content checks, hashes, duplicates, metadata join, nothing half-written."""

from __future__ import annotations

import hashlib
import io

import pytest
from sqlalchemy import func, select

from core.errors import PermissionDenied
from core.ingest import import_folder, index_metadata, ingest_audio, pick_path_column, read_metadata_csv
from core.models import Sound, StoredFile
from core.sounds import SoundService, public_sound
from core.users import UserService
from tests.conftest import make_user, wav_bytes

MB = 1024 * 1024


def ingest(earmark, user, path, data, **kw):
    return ingest_audio(earmark.db, earmark.storage, user, kw.pop("dataset", "vox"), path, io.BytesIO(data),
                        max_bytes=kw.pop("max_bytes", 10 * MB), **kw)


def counts(earmark):
    with earmark.db.read() as session:
        return (session.scalar(select(func.count()).select_from(Sound)),
                session.scalar(select(func.count()).select_from(StoredFile)),
                len(list(earmark.storage.list())))


def test_audio_is_measured_hashed_and_stored(earmark):
    user = make_user(earmark.db, "vox", "dataset")
    data = wav_bytes(seconds=1.5, sample_rate=22_050, channels=2)
    result = ingest(earmark, user, "id00001/vid/00001.wav", data, fields={"gender": "f"}, tags=["Speech"])
    assert result.status == "stored", result.reason
    with earmark.db.read() as session:
        sound = SoundService(session, earmark.storage).get(result.sound_id)
        assert (sound.sample_rate, sound.channels, sound.format) == (22_050, 2, "WAV")
        assert sound.duration_seconds == pytest.approx(1.5)
        assert sound.sha256 == hashlib.sha256(data).hexdigest() == sound.file.sha256
        assert sound.file.size == len(data) and sound.file.key == "audio/vox/id00001/vid/00001.wav"
        assert public_sound(sound)["metadata"] == {"gender": "f"} and sound.tag_names == ["speech"]
    assert earmark.storage.read_bytes("audio/vox/id00001/vid/00001.wav") == data


@pytest.mark.parametrize("fmt, subtype, ext", [("FLAC", "PCM_24", "flac"), ("OGG", "VORBIS", "ogg"),
                                                ("AIFF", "PCM_16", "aiff"), ("WAV", "FLOAT", "wav"), ("WAV", "ULAW", "wav")])
def test_common_formats_are_accepted(local_earmark, fmt, subtype, ext):
    user = make_user(local_earmark.db, "vox", "dataset")
    result = ingest(local_earmark, user, f"a.{ext}", wav_bytes(fmt=fmt, subtype=subtype))
    assert result.status == "stored", result.reason


def test_same_content_is_not_stored_twice(earmark):
    user = make_user(earmark.db, "vox", "dataset")
    data = wav_bytes()
    first = ingest(earmark, user, "a.wav", data)
    again = ingest(earmark, user, "copy/of/a.wav", data)
    assert again.status == "duplicate" and again.sound_id == first.sound_id and "a.wav" in again.reason
    assert counts(earmark) == (1, 1, 1)


@pytest.mark.parametrize("path, data, reason", [
    ("notes.wav", b"this is text, not audio" * 10, "not readable audio"),
    ("notes.txt", None, "audio extension"),
    ("../escape.wav", None, "'..'"),
    ("big.wav", "big", "larger than the 1 MB limit (EARMARK_MAX_UPLOAD_MB)"),
])
def test_bad_files_are_refused_with_a_reason_and_leave_nothing(earmark, path, data, reason):
    user = make_user(earmark.db, "vox", "dataset")
    if data is None:
        data = wav_bytes()
    if data == "big":
        data = wav_bytes(seconds=40)  # 1.28 MB
    result = ingest(earmark, user, path, data, max_bytes=1 * MB)
    assert result.status == "refused" and reason in result.reason
    assert counts(earmark) == (0, 0, 0)


def test_a_different_file_at_a_taken_path_is_refused(local_earmark):
    user = make_user(local_earmark.db, "vox", "dataset")
    ingest(local_earmark, user, "a.wav", wav_bytes(freq=440))
    result = ingest(local_earmark, user, "a.wav", wav_bytes(freq=880))
    assert result.status == "refused" and "different file" in result.reason
    assert counts(local_earmark) == (1, 1, 1)


def test_human_users_may_not_upload(local_earmark):
    human = make_user(local_earmark.db, "hal", "human")
    result = ingest(local_earmark, human, "a.wav", wav_bytes())
    assert result.status == "refused" and "may not upload" in result.reason


def test_failed_database_write_removes_the_object(earmark, monkeypatch):
    user = make_user(earmark.db, "vox", "dataset")
    import core.ingest

    def broken_sound(**kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(core.ingest, "Sound", broken_sound)
    with pytest.raises(RuntimeError):
        ingest(earmark, user, "a.wav", wav_bytes())
    assert counts(earmark) == (0, 0, 0)


def test_deleting_a_sound_removes_its_rows_and_object(earmark):
    user = make_user(earmark.db, "vox", "dataset")
    result = ingest(earmark, user, "a.wav", wav_bytes())
    other = make_user(earmark.db, "other", "dataset")
    with earmark.db.write() as session, pytest.raises(PermissionDenied):
        SoundService(session, earmark.storage).delete(other, result.sound_id)
    with earmark.db.write() as session:
        SoundService(session, earmark.storage).delete(user, result.sound_id)
    assert counts(earmark) == (0, 0, 0)


def test_real_world_metadata_csv_is_read():
    data = "\ufeffpath ; Gender ;set\r\nid1/v/1.wav;f;test\r\nid2/v/1.wav;m;dev\r\n".encode()
    rows = read_metadata_csv(data)
    assert rows == [{"path": "id1/v/1.wav", "Gender": "f", "set": "test"}, {"path": "id2/v/1.wav", "Gender": "m", "set": "dev"}]
    assert pick_path_column(rows, None) == "path"
    tab = read_metadata_csv(b"file_name\tspeaker\naudio/a.wav\tx\n")
    assert pick_path_column(tab, None) == "file_name"
    assert set(index_metadata(tab, "file_name")) == {"audio/a.wav", "a.wav"}


def test_import_folder_keeps_paths_and_joins_metadata(earmark, tmp_path):
    user = make_user(earmark.db, "vox", "dataset")
    for i, rel in enumerate(("id1/v1/00001.wav", "id1/v1/00002.wav", "id2/v9/00001.wav")):
        (tmp_path / "in" / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "in" / rel).write_bytes(wav_bytes(freq=300 + 100 * i))
    (tmp_path / "in" / "id2" / "v9" / "broken.wav").write_bytes(b"RIFF....garbage")
    metadata = index_metadata(read_metadata_csv(b"path,speaker\naudio/id1/v1/00001.wav,one\nid2/v9/00001.wav,two\n"), "path")
    summary = import_folder(earmark.db, earmark.storage, user, tmp_path / "in", dataset="vox", max_bytes=MB, metadata=metadata)
    assert summary.line() == "3 stored, 0 already there, 1 refused"
    with earmark.db.read() as session:
        sounds = {s.path: s.metadata_dict for s in session.scalars(select(Sound))}
    assert sounds == {"id1/v1/00001.wav": {"path": "audio/id1/v1/00001.wav", "speaker": "one"},
                      "id1/v1/00002.wav": {}, "id2/v9/00001.wav": {"path": "id2/v9/00001.wav", "speaker": "two"}}


def test_losing_a_race_for_the_same_path_keeps_the_winners_object(local_earmark, monkeypatch):
    """Two uploads of one file at once: the one whose insert fails must not delete the object the other recorded."""
    import core.ingest

    user = make_user(local_earmark.db, "vox", "dataset")
    data = wav_bytes()
    real_existing = core.ingest._existing
    calls = {"n": 0}

    def existing_after_a_concurrent_upload(db, dataset, path, sha):
        calls["n"] += 1
        if calls["n"] == 1:  # our pre-check ran before the other upload committed
            assert ingest(local_earmark, user, path, data).status == "stored"
            return None
        return real_existing(db, dataset, path, sha)

    monkeypatch.setattr(core.ingest, "_existing", existing_after_a_concurrent_upload)
    result = ingest(local_earmark, user, "a.wav", data)
    assert result.status == "duplicate"
    assert counts(local_earmark) == (1, 1, 1)
    assert local_earmark.storage.read_bytes("audio/vox/a.wav") == data
