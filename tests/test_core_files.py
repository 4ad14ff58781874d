"""The file registry: listing, filters, paging, stats, delete (owner/admin), expiry and purge, on both backends."""

from __future__ import annotations

import datetime as dt
import io

import pytest

from core.accounts.users import UserService
from core.catalogue.files import FileService, detect_category, parse_extra, public_file
from core.catalogue.sounds import SoundService
from core.errors import NotFound, PermissionDenied, ValidationError
from core.ingest.pipeline import UploadOptions, ingest_audio, store_file
from core.store.models import utcnow
from tests.conftest import make_user, wav_bytes


def opts(**kw):
    return UploadOptions(**({"dataset": "vox", "max_bytes": 10 * 1024**2} | kw)).checked()


def test_registry_lists_filters_pages_and_counts(earmark):
    vox = make_user(earmark.db, "vox", "dataset")
    for i in range(3):
        store_file(earmark.db, earmark.storage, vox, f"n{i}.txt", io.BytesIO(f"note {i}".encode()), opts(purpose="training"))
    store_file(earmark.db, earmark.storage, vox, "t.csv", io.BytesIO(b"a,b\n1,2\n"), opts(), )
    ingest_audio(earmark.db, earmark.storage, vox, "a.wav", io.BytesIO(wav_bytes()), opts())
    with earmark.db.read() as session:
        files = FileService(session, earmark.storage)
        total, page = files.list(limit=2)
        assert total == 5 and len(page) == 2 and page[0].key.startswith("audio/vox/a.wav")  # newest first
        assert files.list(purpose="training")[0] == 3
        assert [f.category for f in files.list(category="data")[1]] == ["data"]
        assert len(files.list(limit=2, offset=4)[1]) == 1
        stats = files.stats()
        assert stats.by_purpose["training"]["count"] == 3 and stats.by_category["audio"]["count"] == 1
        assert stats.total_files == 5 and stats.total_bytes == sum(f.size for f in files.list()[1])
        shaped = public_file(files.list(category="text")[1][0])
        assert set(shaped) >= {"path", "filename", "category", "purpose", "size", "hash", "uploaded_at", "description"}
        with pytest.raises(ValidationError) as err:
            files.list(purpose="fun")
        assert err.value.field == "purpose"


def test_delete_is_for_the_owner_or_an_admin_and_takes_the_sound_along(earmark):
    vox, other = make_user(earmark.db, "vox", "dataset"), make_user(earmark.db, "other", "dataset")
    result = ingest_audio(earmark.db, earmark.storage, vox, "a.wav", io.BytesIO(wav_bytes()), opts())
    with earmark.db.read() as session:
        file_id = SoundService(session, earmark.storage).get(result.sound_id).file_id
    with earmark.db.write() as session, pytest.raises(PermissionDenied):
        FileService(session, earmark.storage).delete(other, file_id)
    with earmark.db.write() as session:
        FileService(session, earmark.storage).delete(UserService(session).by_name("admin"), file_id)
    with earmark.db.read() as session:
        with pytest.raises(NotFound):
            SoundService(session, earmark.storage).get(result.sound_id)
        assert FileService(session, earmark.storage).list()[0] == 0
    assert list(earmark.storage.list()) == []


def test_expired_files_vanish_from_listings_and_purge_removes_them(earmark):
    vox = make_user(earmark.db, "vox", "dataset")
    soon = utcnow() + dt.timedelta(hours=1)
    sound = ingest_audio(earmark.db, earmark.storage, vox, "a.wav", io.BytesIO(wav_bytes()), opts(expires_at=soon))
    store_file(earmark.db, earmark.storage, vox, "keep.txt", io.BytesIO(b"keep"), opts())
    later = soon + dt.timedelta(minutes=1)
    with earmark.db.read() as session:
        files = FileService(session, earmark.storage)
        assert files.list()[0] == 2 and files.list(now=later)[0] == 1
    with earmark.db.write() as session:
        assert FileService(session, earmark.storage).purge_expired(now=utcnow()) == (0, 0)
        purged, size = FileService(session, earmark.storage).purge_expired(now=later)
    assert purged == 1 and size > 0
    with earmark.db.read() as session, pytest.raises(NotFound):
        SoundService(session, earmark.storage).get(sound.sound_id)
    assert [o.key.split("/")[0] for o in earmark.storage.list()] == ["files"]


def test_expiry_must_be_in_the_future():
    with pytest.raises(ValidationError) as err:
        opts(expires_at=dt.datetime(2001, 1, 1))
    assert err.value.field == "expires_at"


@pytest.mark.parametrize("name, content, category", [
    ("a.wav", wav_bytes(), "audio"), ("t.json", b"[1, 2]", "data"), ("t.csv", b"a,b\n", "data"),
    ("x.npy", b"\x93NUMPY\x01\x00", "data"), ("r.md", b"# hi", "text"), ("v.mp4", b"\x00\x00\x00\x18ftypmp42", "video"),
    ("v.webm", b"\x1a\x45\xdf\xa3rest", "video"),
])
def test_category_comes_from_the_name_and_is_confirmed_by_content(name, content, category):
    assert detect_category(name, io.BytesIO(content)) == category


@pytest.mark.parametrize("name, content, message", [
    ("v.mp4", b"not a video", "v.mp4 is not a video file"),
    ("x.npy", b"plain", "x.npy is not a NumPy .npy file."),
    ("a.zip", b"plain", "a.zip is not a readable ZIP or TAR archive."),
    ("a.wav", b"plain", "a.wav is not decodable audio"),
    ("run.sh", b"#!/bin/sh", "run.sh: this kind of file is not accepted"),
])
def test_content_that_contradicts_the_name_is_refused(name, content, message):
    with pytest.raises(ValidationError, match=message.replace(".", r"\.")):
        detect_category(name, io.BytesIO(content))


def test_free_metadata_must_be_a_json_object():
    assert parse_extra('{"source": "studio"}') == {"source": "studio"} and parse_extra(" ") == {}
    with pytest.raises(ValidationError, match="must be a JSON object"):
        parse_extra("[1]")
    with pytest.raises(ValidationError, match="not valid JSON"):
        parse_extra("{source}")
