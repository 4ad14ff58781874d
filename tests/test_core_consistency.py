"""fsck: objects without rows and rows without objects, on both storage backends, with a grace period for
uploads in progress."""

from __future__ import annotations

import datetime as dt
import io

from sqlalchemy import func, select

from core.catalogue import consistency
from core.ingest.pipeline import UploadOptions, ingest_audio
from core.store import journal
from core.store.models import Sound, StoredFile, utcnow
from tests.conftest import make_user, wav_bytes

LATER = utcnow() + dt.timedelta(days=2)  # as if the check ran two days on: everything is past its grace


def test_finds_and_repairs_both_kinds_of_disagreement(earmark):
    vox = make_user(earmark.db, "vox", "dataset")
    kept, lost = (ingest_audio(earmark.db, earmark.storage, vox, f"{n}.wav", io.BytesIO(wav_bytes(seconds=12, freq=300 + n)),
                               UploadOptions(dataset="d", max_bytes=10**7)) for n in (1, 2))
    journal.record(earmark.db, ["derived/gone/peaks.bin"])  # journalled before it is written, as Earmark does
    earmark.storage.put("derived/gone/peaks.bin", b"left by a crash")  # and then no row came
    earmark.storage.delete(lost.key)  # a row whose object was lost

    assert consistency.check(earmark.db, earmark.storage).line() == "0 object(s) without a row, 0 row(s) without an object"
    found = consistency.check(earmark.db, earmark.storage, now=LATER)
    assert found.orphans == ["derived/gone/peaks.bin"] and found.missing == [lost.key]

    consistency.repair(earmark.db, earmark.storage, now=LATER)
    after = consistency.check(earmark.db, earmark.storage, now=LATER)
    assert after.orphans == [] and after.missing == []
    with earmark.db.read() as session:
        assert session.scalar(select(func.count()).select_from(Sound)) == 1  # the lost sound and its peaks row went too
        assert set(session.scalars(select(StoredFile.key))) == {kept.key, f"derived/{kept.sound_id}/peaks.bin"}
    assert earmark.storage.read_bytes(kept.key)


def test_interrupted_local_writes_are_swept(local_earmark):
    import os

    root = local_earmark.storage.own.root  # Earmark's own folder (core.store.sources.CatalogueStorage)
    partial = root / "audio" / ".upload-abc12345"
    partial.parent.mkdir(parents=True)
    partial.write_bytes(b"half a file")
    assert consistency.repair(local_earmark.db, local_earmark.storage).partial == 0  # too young: maybe a write in progress
    old = (utcnow() - dt.timedelta(days=2)).timestamp()
    os.utime(partial, (old, old))
    assert consistency.repair(local_earmark.db, local_earmark.storage).partial == 1 and not partial.exists()
