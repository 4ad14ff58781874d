"""Earmark started on a folder or a bucket that already holds someone else's objects: purge, fsck --repair and
deleting sounds and datasets touch only what Earmark wrote (its rows and its storage journal), on both backends,
including foreign objects under audio/, derived/, files/ and exports/ that look like Earmark's own."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from sqlalchemy import func, select

from core.accounts.users import UserService
from core.catalogue import consistency
from core.catalogue.sounds import SoundService, delete_dataset
from core.cli import main
from core.context import open_earmark
from core.errors import PermissionDenied, StorageError
from core.ingest.pipeline import UploadOptions, ingest_audio, store_file
from core.jobs.queue import JobService, claim, run_job
from core.store import config, journal
from core.store.ids import new_id
from core.store.models import JournalEntry, Sound, StoredFile, utcnow
from tests.conftest import S3_BUCKET, make_user, wav_bytes

LATER = utcnow() + dt.timedelta(days=2)  # every object past the grace period: nothing is spared for being young

FOREIGN = {  # what the bucket or folder held before Earmark was pointed at it
    "voxceleb/id10001/1zcIwhmdeo4/00001.wav": wav_bytes(freq=200),
    "voxceleb/vox1_meta.csv": b"VoxCeleb1 ID,VGGFace1 ID,Gender\nid10001,A.J._Buckley,m\n",
    "audio/d/x.wav": wav_bytes(freq=250),  # where Earmark would put dataset d's x.wav
    "audio/d/spk/00002.wav": wav_bytes(freq=260),
    f"derived/{new_id()}/peaks.bin": b"EMPK1\n not Earmark's",  # an Earmark-like key with an Earmark-like id
    "files/data/notes_0123456789.csv": b"a,b\n1,2\n",
    "exports/old-subset.zip": b"PK\x05\x06" + bytes(18),
}


@pytest.fixture(params=["local", "s3"])
def shared(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path):
    """Earmark on a folder, or on a whole bucket (no prefix), that already holds FOREIGN."""
    if request.param == "s3":
        import boto3

        request.getfixturevalue("aws")
        client = boto3.client("s3", region_name="us-east-1")
        for key, data in FOREIGN.items():
            client.put_object(Bucket=S3_BUCKET, Key=key, Body=data)
        monkeypatch.setenv("EARMARK_STORAGE_URL", f"s3://{S3_BUCKET}")
    else:
        root = tmp_path / "shared"
        for key, data in FOREIGN.items():
            (root / key).parent.mkdir(parents=True, exist_ok=True)
            (root / key).write_bytes(data)
        monkeypatch.setenv("EARMARK_STORAGE_URL", f"file://{root}")
    config.settings.cache_clear()
    return open_earmark(config.settings())


def assert_foreign_intact(earmark) -> None:
    for key, data in FOREIGN.items():
        assert earmark.storage.read_bytes(key) == data, key


def sound(earmark, user, path: str, dataset: str = "d", seconds: float = 12.0, freq: float = 300.0):
    """A stored sound (12 s: with its peaks pyramid under derived/)."""
    return ingest_audio(earmark.db, earmark.storage, user, path, io.BytesIO(wav_bytes(seconds=seconds, freq=freq)),
                        UploadOptions(dataset=dataset, max_bytes=10**8))


def admin(earmark):
    with earmark.db.read() as session:
        return UserService(session).by_name("admin")


def journal_size(earmark) -> int:
    with earmark.db.read() as session:
        return session.scalar(select(func.count()).select_from(JournalEntry))


def test_fsck_and_purge_remove_earmarks_leftovers_and_count_the_rest(shared, capsys):
    vox = make_user(shared.db, "vox", "dataset")
    kept = sound(shared, vox, "a.wav")
    lost = sound(shared, vox, "b.wav", freq=400)
    shared.storage.delete(lost.key)  # a row whose object was lost
    leftover = f"derived/{new_id()}/peaks.bin"  # written before its row, then a crash
    journal.record(shared.db, [leftover])
    shared.storage.put(leftover, b"a pyramid whose row never came")

    found = consistency.check(shared.db, shared.storage, now=LATER)
    assert found.orphans == [leftover] and found.missing == [lost.key] and found.foreign == len(FOREIGN)
    assert found.foreign_line() == (f"Found {len(FOREIGN)} object(s) Earmark did not write "
                                    f"({', '.join(found.foreign_examples)}, ...) and left them alone.")
    assert set(found.foreign_examples) <= set(FOREIGN)

    repaired = consistency.repair(shared.db, shared.storage, now=LATER)
    assert repaired.orphans == [leftover] and repaired.foreign == len(FOREIGN)
    assert not shared.storage.exists(leftover) and shared.storage.read_bytes(kept.key)
    assert_foreign_intact(shared)
    assert journal_size(shared) == 0
    again = consistency.check(shared.db, shared.storage, now=LATER)
    assert (again.orphans, again.missing, again.foreign) == ([], [], len(FOREIGN))

    for command in (["fsck"], ["fsck", "--repair"], ["purge"]):  # as the operator runs them
        assert main(command) == 0
        out = capsys.readouterr().out
        assert f"Found {len(FOREIGN)} object(s) Earmark did not write" in out and "and left them alone." in out
    assert_foreign_intact(shared)


def test_deleting_sounds_and_datasets_deletes_only_their_own_objects(shared):
    vox = make_user(shared.db, "vox", "dataset")
    a, b = sound(shared, vox, "a.wav"), sound(shared, vox, "spk/b.wav", freq=500)
    other = sound(shared, vox, "a.wav", dataset="e", freq=600)
    with shared.db.write() as session:
        job_id = JobService(session).submit(admin(shared), "spectrogram", sound_ids=[a.sound_id, other.sound_id]).id
    claim(shared.db, "w")
    assert run_job(shared.db, shared.storage, job_id, "w") == "completed"  # derived/<id>/spectrogram-*.npy, journalled
    table = store_file(shared.db, shared.storage, vox, "labels.csv", io.BytesIO(b"file_name,x\na.wav,1\n"),
                       UploadOptions(dataset="d", max_bytes=10**6))
    assert table.status == "stored" and journal_size(shared) == 0  # every write's row came: nothing left journalled
    with shared.db.read() as session:
        ours = set(session.scalars(select(StoredFile.key)))
    derived_of_a = {k for k in ours if k.startswith(f"derived/{a.sound_id}/")}
    assert len(derived_of_a) == 2  # peaks and the spectrogram

    with shared.db.write() as session:
        SoundService(session, shared.storage).delete(admin(shared), b.sound_id)
    assert not shared.storage.exists(b.key)
    assert_foreign_intact(shared)

    assert delete_dataset(shared.db, shared.storage, vox, "d", batch=1) == 1
    assert not any(shared.storage.exists(k) for k in {a.key} | derived_of_a)
    assert_foreign_intact(shared)  # audio/d/x.wav and audio/d/spk/00002.wav too
    assert shared.storage.read_bytes(other.key) and shared.storage.read_bytes(table.key)
    with shared.db.read() as session:
        assert session.scalar(select(func.count()).select_from(Sound).where(Sound.dataset == "d")) == 0
    assert journal_size(shared) == 0  # objects deleted, their entries cleared
    after = consistency.check(shared.db, shared.storage, now=LATER)
    assert (after.orphans, after.missing, after.foreign) == ([], [], len(FOREIGN))


def test_a_dataset_is_deleted_only_by_who_may_delete_all_of_it(local_earmark):
    vox, ann = make_user(local_earmark.db, "vox", "dataset"), make_user(local_earmark.db, "ann", "dataset")
    sound(local_earmark, vox, "a.wav", seconds=1)
    sound(local_earmark, ann, "b.wav", seconds=1, freq=500)
    with pytest.raises(PermissionDenied):
        delete_dataset(local_earmark.db, local_earmark.storage, vox, "d")
    with local_earmark.db.read() as session:
        assert session.scalar(select(func.count()).select_from(Sound)) == 2  # refused whole
    assert delete_dataset(local_earmark.db, local_earmark.storage, admin(local_earmark), "d") == 2


def test_an_object_whose_deletion_failed_stays_earmarks_until_fsck_removes_it(earmark, monkeypatch):
    vox = make_user(earmark.db, "vox", "dataset")
    stored = sound(earmark, vox, "a.wav", seconds=1)

    def refuse(key: str) -> None:
        raise StorageError("S3 is down.")

    with monkeypatch.context() as patched:
        patched.setattr(earmark.storage, "delete", refuse)
        with earmark.db.write() as session:
            SoundService(session, earmark.storage).delete(admin(earmark), stored.sound_id)
    assert earmark.storage.exists(stored.key) and journal_size(earmark) == 1
    assert consistency.check(earmark.db, earmark.storage).orphans == []  # just deleted: maybe still in progress
    assert consistency.repair(earmark.db, earmark.storage, now=LATER).orphans == [stored.key]
    assert not earmark.storage.exists(stored.key) and journal_size(earmark) == 0


def test_interrupted_writes_are_swept_only_where_earmark_writes(local_earmark):
    import os

    root = local_earmark.storage.own.root  # Earmark's own folder (core.store.sources.CatalogueStorage)
    ours, theirs, lookalike = root / "audio" / "d" / ".upload-ab_cd123", root / "notes" / ".upload-ab_cd123", root / "audio" / ".upload-mine"
    for path in (ours, theirs, lookalike):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"half a file")
        old = (utcnow() - dt.timedelta(days=2)).timestamp()
        os.utime(path, (old, old))
    assert consistency.repair(local_earmark.db, local_earmark.storage).partial == 1
    assert not ours.exists() and theirs.exists() and lookalike.exists()


def test_an_upload_never_replaces_an_object_it_did_not_write(shared):
    """audio/d/x.wav is the user's (FOREIGN): uploading x.wav into dataset d is refused with a sentence saying so,
    leaves no row, and leaves their object as it was; a big file (uploaded in parts) too. Earmark's own leftover at
    a key (journalled) is replaced as before."""
    vox = make_user(shared.db, "vox", "dataset")
    for seconds in (1.0, 300.0):  # one request, and an upload in parts (9.6 MB)
        refused = sound(shared, vox, "x.wav", seconds=seconds, freq=800)
        assert refused.status == "refused", refused
        assert refused.reason == ("audio/d/x.wav already holds a file Earmark did not write, which it leaves alone; "
                                  "upload this one to another dataset or path, or move that file away.")
        assert_foreign_intact(shared)
        with shared.db.read() as session:
            assert session.scalar(select(func.count()).select_from(Sound).where(Sound.dataset == "d")) == 0
            assert session.scalar(select(func.count()).select_from(StoredFile)) == 0
    assert journal_size(shared) == 0

    leftover = "audio/e/y.wav"  # its row was removed and a crash came before its object was deleted
    journal.record(shared.db, [leftover])
    shared.storage.put(leftover, b"an old version, Earmark's own")
    stored = sound(shared, vox, "y.wav", dataset="e")
    assert stored.status == "stored" and shared.storage.read_bytes(leftover) != b"an old version, Earmark's own"
    assert sound(shared, vox, "z.wav", dataset="d").status == "stored"  # the rest of the dataset is unaffected
    assert_foreign_intact(shared)
