"""One contract for every storage backend (local folder and S3 via moto), run unchanged on both."""

from __future__ import annotations

import hashlib
import io

import pytest

from core.errors import ConfigError, InvalidKey, ObjectNotFound
from core.store.config import load_settings
from core.store.storage import LocalStorage, S3Storage, normalise_key, open_storage
from tests.conftest import S3_BUCKET


def test_put_records_size_and_sha256(storage):
    data = b"hello world" * 1000
    info = storage.put("audio/ds/a.wav", data)
    assert info.key == "audio/ds/a.wav"
    assert info.size == len(data)
    assert info.sha256 == hashlib.sha256(data).hexdigest()
    assert storage.read_bytes("audio/ds/a.wav") == data
    assert storage.size("audio/ds/a.wav") == len(data)


def test_put_from_a_stream_larger_than_a_chunk(storage):
    data = bytes(range(256)) * 20_000  # ~5 MB, several chunks
    info = storage.put("big.bin", io.BytesIO(data))
    assert info.size == len(data) and info.sha256 == hashlib.sha256(data).hexdigest()
    with storage.open("big.bin") as f:
        assert f.read() == data


@pytest.mark.parametrize("wrap", [io.BytesIO, lambda data: _OneWayStream(data), bytes], ids=["seekable", "one-way", "bytes"])
def test_put_of_an_object_big_enough_for_parts(storage, wrap):
    data = bytes(range(256)) * 40_000 + b"tail"  # ~10 MB: over the 8 MB above which S3 uploads go in parts
    info = storage.put("parts.bin", wrap(data))
    assert info.size == len(data) and info.sha256 == hashlib.sha256(data).hexdigest()
    assert storage.read_bytes("parts.bin") == data


def test_overwrite_replaces_content(storage):
    storage.put("k", b"one")
    storage.put("k", b"two")
    assert storage.read_bytes("k") == b"two"


def test_exists_delete_and_missing(storage):
    storage.put("files/data/x.csv", b"a,b\n")
    assert storage.exists("files/data/x.csv")
    storage.delete("files/data/x.csv")
    assert not storage.exists("files/data/x.csv")
    with pytest.raises(ObjectNotFound):
        storage.read_bytes("files/data/x.csv")
    with pytest.raises(ObjectNotFound):
        storage.size("files/data/x.csv")
    storage.delete("files/data/x.csv")  # deleting a missing object is not an error


def test_list_by_prefix_returns_relative_keys(storage):
    for key in ("audio/a/1.wav", "audio/a/2.wav", "audio/b/1.wav", "derived/x/peaks"):
        storage.put(key, b"x")
    assert sorted(o.key for o in storage.list("audio/a/")) == ["audio/a/1.wav", "audio/a/2.wav"]
    assert sorted(o.key for o in storage.list()) == ["audio/a/1.wav", "audio/a/2.wav", "audio/b/1.wav", "derived/x/peaks"]


def test_keys_are_normalised(storage):
    storage.put("audio//ds/./a.wav", b"x")
    assert storage.exists("audio/ds/a.wav")
    assert [o.key for o in storage.list()] == ["audio/ds/a.wav"]


@pytest.mark.parametrize("key", ["../escape", "a/../../b", "/etc/passwd", "a\\..\\b", "C:/x", "", "  ", "a/\x00b", ".", "./"])
def test_keys_cannot_escape_the_prefix(storage, key):
    with pytest.raises(InvalidKey):
        storage.put(key, b"x")
    with pytest.raises(InvalidKey):
        storage.exists(key)


def test_normalise_key_rules():
    assert normalise_key("a//b/./c") == "a/b/c"
    assert normalise_key("id00001/vid/00001.wav") == "id00001/vid/00001.wav"
    with pytest.raises(InvalidKey, match=r"'\.\.'"):
        normalise_key("a/../b")


def test_local_symlink_escape_is_refused(tmp_path):
    root = tmp_path / "objects"
    (root / "audio").mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    (root / "audio" / "link").symlink_to(outside)
    with pytest.raises(InvalidKey, match="outside the storage folder"):
        LocalStorage(root).put("audio/link/x.wav", b"x")
    assert not list(outside.iterdir())


def test_local_check_names_the_setting_for_an_unwritable_folder(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(ConfigError) as err:
        LocalStorage(blocker / "objects").check()
    assert err.value.setting == "EARMARK_STORAGE_URL" and "EARMARK_STORAGE_URL" in str(err.value)


def test_s3_prefix_is_kept_in_the_bucket(aws):
    import boto3

    S3Storage("earmark-test", "team/one", region="us-east-1").put("audio/a.wav", b"x")
    keys = [o["Key"] for o in boto3.client("s3", region_name="us-east-1").list_objects_v2(Bucket="earmark-test")["Contents"]]
    assert keys == ["team/one/audio/a.wav"]


def _make_public(bucket: str) -> None:
    import json

    import boto3

    policy = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": "*", "Action": ["s3:GetObject", "s3:ListBucket"],
        "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
    }]}
    boto3.client("s3", region_name="us-east-1").put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))


def test_s3_without_credentials_reads_a_public_bucket_unsigned(aws, monkeypatch):
    S3Storage("earmark-test", region="us-east-1").put("public/a.wav", b"public data")
    _make_public("earmark-test")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    public = S3Storage("earmark-test", region="us-east-1")
    assert public.anonymous
    assert public.read_bytes("public/a.wav") == b"public data"


def test_s3_anonymous_setting_forces_unsigned_requests(aws):
    _make_public("earmark-test")
    settings = load_settings({"EARMARK_STORAGE_URL": "s3://earmark-test", "EARMARK_S3_ANONYMOUS": "1", "AWS_REGION": "us-east-1"}, env_file=None)
    storage = open_storage(settings)
    assert storage.anonymous
    storage.check()


def test_s3_missing_bucket_names_the_setting(aws):
    with pytest.raises(ConfigError) as err:
        S3Storage("no-such-bucket", region="us-east-1").check()
    assert err.value.setting == "EARMARK_STORAGE_URL"
    assert "no-such-bucket" in str(err.value)


def test_s3_unreachable_endpoint_names_the_setting(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "y")
    storage = S3Storage("bucket", endpoint_url="http://127.0.0.1:9", region="us-east-1")
    with pytest.raises(ConfigError) as err:
        storage.check()
    assert err.value.setting == "EARMARK_S3_ENDPOINT_URL"
    assert "http://127.0.0.1:9" in str(err.value)


def test_s3_presigned_url_is_given_for_objects(aws):
    storage = S3Storage("earmark-test", region="us-east-1")
    url = storage.presigned_url("audio/a.wav", 60)
    assert url.startswith("https://") and "audio/a.wav" in url
    assert "Expires=" in url or "X-Amz-Expires=60" in url


def test_objects_over_the_multipart_threshold_round_trip(storage):
    from core.store.storage import MULTIPART_THRESHOLD

    data = bytes(range(256)) * (MULTIPART_THRESHOLD // 256 + 4096)  # just over the threshold
    info = storage.put("big/over.bin", io.BytesIO(data))
    assert info.size == len(data) and info.sha256 == hashlib.sha256(data).hexdigest()
    assert storage.size("big/over.bin") == len(data) and storage.read_bytes("big/over.bin") == data


class _OneWayStream(io.RawIOBase):
    """A stream that cannot seek (a pipe, a socket): put must still hash and store it."""

    def __init__(self, data: bytes) -> None:
        self._inner = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def readinto(self, buffer) -> int:
        chunk = self._inner.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)


def test_unseekable_streams_are_stored(storage):
    data = b"streamed " * 100_000
    info = storage.put("pipe.bin", io.BufferedReader(_OneWayStream(data)))
    assert info.sha256 == hashlib.sha256(data).hexdigest() and storage.read_bytes("pipe.bin") == data


def test_ranges_and_seekable_reads(storage):
    data = bytes(range(256)) * 4000
    storage.put("r.bin", data)
    assert storage.read_range("r.bin", 1000, 10) == data[1000:1010]
    assert storage.read_range("r.bin", len(data) - 5, 100) == data[-5:]
    with storage.open_seekable("r.bin") as f:
        f.seek(500_000)
        assert f.read(7) == data[500_000:500_007]
        f.seek(-3, io.SEEK_END)
        assert f.read() == data[-3:] and f.tell() == len(data)
        f.seek(10)
        assert f.read(5) == data[10:15]


def test_soundfile_reads_a_window_through_a_seekable_object(storage):
    import numpy as np
    import soundfile as sf

    tone = (np.sin(np.arange(160_000) / 10) * 10_000).astype("int16")
    buffer = io.BytesIO()
    sf.write(buffer, tone, 16_000, format="WAV", subtype="PCM_16")
    storage.put("audio/t.wav", buffer.getvalue())
    with storage.open_seekable("audio/t.wav") as raw, sf.SoundFile(raw) as f:
        f.seek(80_000)
        assert np.array_equal(f.read(100, dtype="int16"), tone[80_000:80_100])


@pytest.mark.parametrize("path, escapes", [("a/b.wav", False), ("../a", True), ("a/../../b", True), ("/etc/x", True),
                                           ("\\\\x", True), ("C:/x", True), ("a\\\\..\\\\b", True), ("a..b/c", False)])
def test_escapes_root(path, escapes):
    from core.store.storage import escapes_root

    assert escapes_root(path) is escapes


def test_s3_sweeps_multipart_uploads_a_crash_left_unfinished(aws):
    import datetime as dt

    storage = S3Storage(S3_BUCKET, "some/prefix", region="us-east-1")
    storage.client.create_multipart_upload(Bucket=S3_BUCKET, Key="some/prefix/audio/big.wav")
    storage.client.create_multipart_upload(Bucket=S3_BUCKET, Key="elsewhere/not-ours.wav")
    started = storage.client.list_multipart_uploads(Bucket=S3_BUCKET)["Uploads"][0]["Initiated"]  # moto fakes this date
    assert storage.sweep_partial(started - dt.timedelta(seconds=1)) == 0  # started after the cut-off: maybe in progress
    assert storage.sweep_partial(started + dt.timedelta(seconds=1)) == 1  # only under the prefix
    left = storage.client.list_multipart_uploads(Bucket=S3_BUCKET).get("Uploads", [])
    assert [u["Key"] for u in left] == ["elsewhere/not-ours.wav"]
