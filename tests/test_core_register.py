"""Files registered where they are (core.ingest.register): a bucket on moto's S3 server and a local folder, read and
never written or deleted; re-runs that pick up new objects and mark vanished ones missing; exports, playback and
peaks reading from the source; purge, fsck --repair and dataset deletion leaving the source alone; its own settings."""

from __future__ import annotations

import datetime as dt
import io
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from core.accounts.users import UserService
from core.audio import peaks
from core.audio.waveform import playback
from core.catalogue import consistency
from core.catalogue.search import CatalogueQuery
from core.catalogue.sounds import delete_dataset
from core.catalogue.stats import catalogue_stats, storage_parts
from core.cli import main
from core.context import open_earmark
from core.errors import ReadOnlySource, StorageError, ValidationError
from core.export.subset import ExportRequest, export_to_file, plan_export
from core.ingest.pipeline import UploadOptions, ensure_peaks
from core.ingest.register import register
from core.store import config
from core.store.models import JobItem, Sound, StoredFile, utcnow
from tests.conftest import free_port, make_user, wav_bytes

LATER = utcnow() + dt.timedelta(days=2)  # past fsck's grace period: nothing is spared for being young
LONG = wav_bytes(seconds=12.0, freq=300)  # long enough for a peaks pyramid (an object Earmark writes)
SOURCE = {  # the user's bucket before Earmark is pointed at it
    "vox/id001/v1/00001.wav": wav_bytes(freq=200),
    "vox/id001/v1/00002.wav": LONG,
    "vox/id002/v9/00001.wav": wav_bytes(freq=500),
    "vox/id002/v9/broken.wav": b"RIFF\x24\x00\x00\x00WAVEfmt nonsense",
    "vox/meta.csv": b"speaker,gender\nid001,f\nid002,m\n",
    "vox/readme.txt": b"VoxCeleb-like sample",
    "other/elsewhere.wav": wav_bytes(freq=700),
}


def _client(endpoint: str):
    import boto3

    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="user",
                        aws_secret_access_key="user-secret")


@pytest.fixture
def bucket(s3_server: str, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> str:
    """A fresh bucket on the server holding SOURCE; the AWS settings that reach it."""
    name = f"user-{abs(hash(request.node.nodeid)) % 10**10}"
    client = _client(s3_server)
    client.create_bucket(Bucket=name)
    for key, data in SOURCE.items():
        client.put_object(Bucket=name, Key=key, Body=data)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "user")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "user-secret")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    return name


def _objects(endpoint: str, bucket: str) -> dict[str, tuple[str, int]]:
    """Every object of the bucket: key -> (ETag, size)."""
    pages = _client(endpoint).get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return {o["Key"]: (o["ETag"], o["Size"]) for page in pages for o in page.get("Contents", [])}


def _open(monkeypatch: pytest.MonkeyPatch, **env: str):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    config.settings.cache_clear()
    return open_earmark(config.settings())


def _source_untouched(before: dict[str, tuple[str, int]], after: dict[str, tuple[str, int]]) -> None:
    theirs = {k: v for k, v in after.items() if not k.startswith(("audio/", "derived/", "files/", "exports/"))}
    assert theirs == before  # nothing of the user's written, changed or deleted; nothing new among them


def test_a_bucket_registered_in_place_is_read_and_never_written(s3_server, bucket, monkeypatch, tmp_path):
    # Earmark's own storage is the same bucket, at its root: the hardest case for "never touch the user's objects"
    earmark = _open(monkeypatch, EARMARK_STORAGE_URL=f"s3://{bucket}", EARMARK_S3_ENDPOINT_URL=s3_server)
    before = _objects(s3_server, bucket)
    assert main(["import", f"s3://{bucket}/vox", "--metadata", f"s3://{bucket}/vox/meta.csv", "--dataset", "vox", "--quiet"]) == 1  # broken.wav
    after = _objects(s3_server, bucket)
    _source_untouched(before, after)
    with earmark.db.read() as session:
        sounds = {s.path: s for s in session.scalars(select(Sound).where(Sound.dataset == "vox"))}
        assert sorted(sounds) == ["id001/v1/00001.wav", "id001/v1/00002.wav", "id002/v9/00001.wav"]
        long = sounds["id001/v1/00002.wav"]
        assert long.file.key == f"s3://{bucket}/vox/id001/v1/00002.wav" and long.file.source == f"s3://{bucket}/vox"
        assert long.metadata_dict == {"speaker": "id001", "gender": "f"}
        assert sounds["id002/v9/00001.wav"].metadata_dict["gender"] == "m"
        assert long.duration_seconds == pytest.approx(12.0)
    assert [k for k in after if k not in before] == [peaks.peaks_key(long.id)]  # its peaks: the one object written

    # playback, peaks and the spectrogram's samples come from the source
    part = playback(earmark.storage, long, 1.0, 2.0)
    assert part.url is None or part.url.startswith(s3_server)
    with earmark.db.read() as session:
        sound = session.get(Sound, long.id)
        assert ensure_peaks(earmark.db, earmark.storage, sound) == peaks.peaks_key(long.id)
        line = peaks.envelope(earmark.storage, sound.file.key, peaks.peaks_key(sound.id), 0.0, 12.0, None)
    assert float(np.max(np.abs(line.y))) > 0.1  # the 300 Hz tone, drawn from the source's bytes

    # an export holds the source's exact bytes
    out = tmp_path / "vox.zip"
    export_to_file(earmark.db, earmark.storage, ExportRequest(query=CatalogueQuery(dataset="vox"), count=10, seed=1), out)
    with zipfile.ZipFile(out) as zf:
        assert zf.read("audio/id001/v1/00002.wav") == LONG
        assert zf.read("audio/id002/v9/00001.wav") == SOURCE["vox/id002/v9/00001.wav"]

    # purge, fsck --repair (every object past the grace period) and deleting the dataset leave the source alone
    assert main(["purge"]) == 0
    findings = consistency.repair(earmark.db, earmark.storage, now=LATER)
    assert findings.missing == [] and findings.orphans == []
    assert findings.foreign == len(SOURCE)  # the user's objects beside Earmark's: counted, left alone
    with earmark.db.write() as session:
        admin = UserService(session).ensure_admin("root", "root-password-1")
    assert delete_dataset(earmark.db, earmark.storage, admin, "vox") == 3
    final = _objects(s3_server, bucket)
    assert final == before  # Earmark's peaks gone with the dataset; every object of the user's still there, unchanged


def test_a_rerun_registers_new_objects_and_marks_vanished_ones_missing(s3_server, bucket, monkeypatch, tmp_path):
    earmark = _open(monkeypatch, EARMARK_S3_ENDPOINT_URL=s3_server)  # own storage: the local folder
    owner = make_user(earmark.db, "vox-owner", "dataset")
    options = UploadOptions(dataset="vox", max_bytes=10**8)
    first = register(earmark.db, earmark.storage, owner, f"s3://{bucket}/vox/", options)
    assert (first.counts["registered"], first.counts["refused"], first.counts["skipped"]) == (3, 1, 2)
    assert "broken.wav" in first.refused[0].path

    client = _client(s3_server)
    client.put_object(Bucket=bucket, Key="vox/id003/v2/00001.wav", Body=wav_bytes(freq=900))
    client.delete_object(Bucket=bucket, Key="vox/id001/v1/00001.wav")
    second = register(earmark.db, earmark.storage, owner, f"s3://{bucket}/vox", options)
    assert (second.counts["registered"], second.counts["known"], second.counts["missing"]) == (1, 2, 1)
    with earmark.db.read() as session:
        gone = session.scalar(select(StoredFile).where(StoredFile.key == f"s3://{bucket}/vox/id001/v1/00001.wav"))
        assert gone.missing_since is not None
        assert session.scalar(select(Sound.id).where(Sound.file_id == gone.id)) is not None  # kept, with its annotations

    request = ExportRequest(query=CatalogueQuery(dataset="vox"), count=10, seed=3)
    _, manifest = export_to_file(earmark.db, earmark.storage, request, tmp_path / "rest.zip")
    assert manifest["missing"] == ["id001/v1/00001.wav"] and manifest["count_included"] == 3
    assert manifest["name"] == "vox3.zip"  # named before the first byte: the file the catalogue knows is gone left out
    with pytest.raises(StorageError, match="1 file.s. of the subset are missing"):
        plan_export(earmark.db, earmark.storage, ExportRequest(query=CatalogueQuery(dataset="vox"), count=10, seed=3, on_missing="fail"))

    client.put_object(Bucket=bucket, Key="vox/id001/v1/00001.wav", Body=SOURCE["vox/id001/v1/00001.wav"])
    third = register(earmark.db, earmark.storage, owner, f"s3://{bucket}/vox", options)
    assert (third.counts["registered"], third.counts["known"], third.counts["back"], third.counts["missing"]) == (0, 4, 1, 0)


def test_a_listing_that_fails_marks_nothing_missing(s3_server, bucket, monkeypatch):
    earmark = _open(monkeypatch, EARMARK_S3_ENDPOINT_URL=s3_server)
    owner = make_user(earmark.db, "vox-owner", "dataset")
    options = UploadOptions(dataset="vox", max_bytes=10**8)
    register(earmark.db, earmark.storage, owner, f"s3://{bucket}/vox", options)
    listing = earmark.storage.sources.listing

    def cut_short(root, threads=8):
        items = listing(root, threads)
        yield next(items)
        raise StorageError("S3 refused a request: SlowDown.")

    monkeypatch.setattr(earmark.storage.sources, "listing", cut_short)
    with pytest.raises(StorageError, match="SlowDown"):
        register(earmark.db, earmark.storage, owner, f"s3://{bucket}/vox", options)
    with earmark.db.read() as session:
        assert session.scalars(select(StoredFile.missing_since).where(StoredFile.source.is_not(None))).all() == [None] * 3


def test_the_source_has_its_own_endpoint_and_credentials(s3_server, bucket, monkeypatch):
    """Earmark's own storage is a local folder with no S3 settings at all; only EARMARK_SOURCE_* reach the bucket.
    A wrong endpoint says which setting, and never prints the secret."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    earmark = _open(monkeypatch, EARMARK_SOURCE_S3_ENDPOINT_URL=s3_server, EARMARK_SOURCE_AWS_ACCESS_KEY_ID="reader",
                    EARMARK_SOURCE_AWS_SECRET_ACCESS_KEY="reader-secret-xyz")
    owner = make_user(earmark.db, "vox-owner", "dataset")
    summary = register(earmark.db, earmark.storage, owner, f"s3://{bucket}/vox", UploadOptions(dataset="vox", max_bytes=10**8))
    assert summary.counts["registered"] == 3

    broken = _open(monkeypatch, EARMARK_SOURCE_S3_ENDPOINT_URL=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(StorageError) as caught:
        register(broken.db, broken.storage, owner, f"s3://{bucket}/vox", UploadOptions(dataset="vox", max_bytes=10**8))
    assert "reader-secret-xyz" not in str(caught.value) and "Could not reach" in str(caught.value)


def test_registered_objects_cannot_be_written_or_deleted(s3_server, bucket, monkeypatch, tmp_path):
    earmark = _open(monkeypatch, EARMARK_S3_ENDPOINT_URL=s3_server)
    before = _objects(s3_server, bucket)
    for key in (f"s3://{bucket}/vox/id001/v1/00001.wav", f"file://{tmp_path}/x.wav"):
        with pytest.raises(ReadOnlySource, match="registered source"):
            earmark.storage.put(key, b"overwritten")
        with pytest.raises(ReadOnlySource):
            earmark.storage.delete(key)
    assert _objects(s3_server, bucket) == before and not (tmp_path / "x.wav").exists()


def _snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {p.relative_to(folder).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns) for p in folder.rglob("*") if p.is_file()}


def test_a_local_folder_registered_in_place(tmp_path, capsys):
    folder = tmp_path / "clips"
    for key, data in SOURCE.items():
        if key.startswith("vox/"):
            (folder / key[4:]).parent.mkdir(parents=True, exist_ok=True)
            (folder / key[4:]).write_bytes(data)
    os.symlink("/etc/hostname", folder / "link.wav")  # links are not followed out of the folder
    before = _snapshot(folder)
    assert main(["import", str(folder), "--in-place", "--metadata", str(folder / "meta.csv"), "--quiet"]) == 1
    out = capsys.readouterr()
    assert "3 registered" in out.out and "refused id002/v9/broken.wav" in out.err and "nothing of the source written" in out.out
    assert _snapshot(folder) == before
    earmark = open_earmark(config.settings())
    with earmark.db.read() as session:
        keys = sorted(session.scalars(select(StoredFile.key).where(StoredFile.category == "audio")))
    assert keys == [f"file://{folder}/id001/v1/00001.wav", f"file://{folder}/id001/v1/00002.wav", f"file://{folder}/id002/v9/00001.wav"]
    with earmark.db.read() as session:  # Storage used is Earmark's own storage: the registered files are counted apart
        stats = catalogue_stats(session)
    registered = sum((folder / key[4:]).stat().st_size for key in SOURCE if key.startswith("vox/id") and "broken" not in key)
    assert stats.registered_bytes == registered and stats.uploaded_bytes == 0
    assert stats.storage_bytes == stats.derived_bytes > 0  # the peaks Earmark made
    assert "registered in place, read where they are and not stored here" in storage_parts(stats)
    assert main(["purge"]) == 0 and main(["fsck", "--repair"]) == 0
    assert _snapshot(folder) == before
    with earmark.db.write() as session:
        admin = UserService(session).ensure_admin("root", "root-password-1")
    delete_dataset(earmark.db, earmark.storage, admin, "clips")
    assert _snapshot(folder) == before


def test_bad_sources_are_refused_in_one_sentence(tmp_path, capsys):
    earmark = open_earmark(config.settings())
    owner = make_user(earmark.db, "owner", "dataset")
    options = UploadOptions(dataset="d", max_bytes=10**8)
    (earmark.settings.data_dir / "objects" / "audio").mkdir(parents=True, exist_ok=True)
    cases = {
        str(tmp_path / "nowhere"): "is not a folder on this machine",
        "s3://": "names no bucket",
        "http://example.com/x": "neither an s3:// URL nor a folder",
        str(earmark.settings.data_dir / "objects" / "audio"): "is where Earmark keeps its own files",
    }
    for source, message in cases.items():
        with pytest.raises(ValidationError, match=message):
            register(earmark.db, earmark.storage, owner, source, options)
    assert main(["import", str(tmp_path / "nowhere"), "--in-place"]) == 1
    assert "is not a folder on this machine" in capsys.readouterr().err
    listener = make_user(earmark.db, "listener", "human")
    with pytest.raises(Exception, match="may not"):
        register(earmark.db, earmark.storage, listener, str(tmp_path), options)


def test_the_source_root_of_the_same_bucket_as_earmark_skips_earmarks_own_objects(s3_server, bucket, monkeypatch):
    """Registering the whole bucket Earmark itself writes to: Earmark's own audio/ and derived/ objects are not
    taken for the user's sounds."""
    earmark = _open(monkeypatch, EARMARK_STORAGE_URL=f"s3://{bucket}", EARMARK_S3_ENDPOINT_URL=s3_server)
    owner = make_user(earmark.db, "owner", "dataset")
    from core.ingest.pipeline import ingest_audio

    ingest_audio(earmark.db, earmark.storage, owner, "up.wav", io.BytesIO(wav_bytes(freq=1200)), UploadOptions(dataset="up", max_bytes=10**8))
    summary = register(earmark.db, earmark.storage, owner, f"s3://{bucket}", UploadOptions(dataset="all", max_bytes=10**8))
    assert summary.counts["registered"] == 4  # vox's three and other/elsewhere.wav; not audio/up/up.wav
    assert summary.skipped["inside Earmark's own storage"] == ["audio/up/up.wav"]


def test_jobs_read_registered_files_from_their_source(s3_server, bucket, monkeypatch):
    """audio-stats over registered sounds measures the bucket's bytes; a file gone from the bucket fails its item with
    a sentence naming it, and the rest of the job completes."""
    from core.jobs.queue import JobService, claim, run_job

    earmark = _open(monkeypatch, EARMARK_S3_ENDPOINT_URL=s3_server)
    owner = make_user(earmark.db, "vox-owner", "dataset")
    register(earmark.db, earmark.storage, owner, f"s3://{bucket}/vox", UploadOptions(dataset="vox", max_bytes=10**8))
    _client(s3_server).delete_object(Bucket=bucket, Key="vox/id002/v9/00001.wav")  # gone before the next listing
    with earmark.db.write() as session:
        job_id = JobService(session).submit(owner, "audio-stats", query=CatalogueQuery(dataset="vox")).id
    assert claim(earmark.db, "w") == job_id
    run_job(earmark.db, earmark.storage, job_id, "w")
    with earmark.db.read() as session:
        job = JobService(session).get(job_id)
        assert (job.done, job.failed) == (2, 1)
        [error] = session.scalars(select(JobItem.error).where(JobItem.job_id == job_id, JobItem.error.is_not(None))).all()
        assert error == f"No object 'vox/id002/v9/00001.wav' in s3://{bucket}."
        sounds = {s.path: s.metadata_dict for s in session.scalars(select(Sound).where(Sound.dataset == "vox"))}
    assert float(sounds["id001/v1/00002.wav"]["audio_stats.peak_dbfs"]) > -20  # the tone, read from the bucket
    assert "audio_stats.peak_dbfs" not in sounds["id002/v9/00001.wav"]
