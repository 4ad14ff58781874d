"""The duplicates analyzer on files made here: a speech-like WAV, its MP3 and OGG (soundfile), a resampled copy, a
copy 6 dB quieter, a 4 s excerpt at a known offset, and an unrelated recording. The copies are found with their
offsets, the unrelated one is in no group; as a job with two workers on both databases, a re-run replaces, the
results are in GET /api/v1/sounds/{id}, and deleting a sound deletes its fingerprint."""

from __future__ import annotations

import functools
import io
import threading

import numpy as np
import pytest
import soundfile as sf
from scipy.signal import resample_poly
from sqlalchemy import func, select

from core.audio import fingerprint as fp
from core.catalogue.search import CatalogueQuery
from core.catalogue.sounds import SoundService
from core.jobs.queue import JobService, work
from core.store.models import AudioFingerprint, FingerprintHash, FingerprintMatch, Job, SoundField
from tests import speechlike
from tests.analysis import api_client, encoded, fields_of, ingest, run_job
from tests.conftest import make_user

RATE = 16_000
EXCERPT_AT = 5.0


@functools.cache
def copies() -> dict[str, tuple[bytes, float | None]]:
    """name -> (file content, where it starts in the original; None: not a copy). The original comes first.
    Made once per process (the same bytes every time; nobody changes the dict)."""
    original = speechlike.recording(11, seconds=12.0, rate=RATE).samples
    unrelated = speechlike.recording(12, seconds=12.0, rate=RATE).samples
    start = int(EXCERPT_AT * RATE)
    return {
        "original.wav": (encoded(original, RATE, "WAV", "PCM_16"), 0.0),
        "copy.mp3": (encoded(original, RATE, "MP3", "MPEG_LAYER_III"), 0.0),
        "copy.ogg": (encoded(original, RATE, "OGG", "VORBIS"), 0.0),
        "resampled.wav": (encoded(resample_poly(original, 441, 320), 22_050, "WAV", "PCM_16"), 0.0),
        "quieter.wav": (encoded(original * 10 ** (-6 / 20), RATE, "WAV", "PCM_16"), 0.0),
        "excerpt.wav": (encoded(original[start:start + 4 * RATE], RATE, "WAV", "PCM_16"), EXCERPT_AT),
        "unrelated.wav": (encoded(unrelated, RATE, "WAV", "PCM_16"), None),
    }


def test_the_fingerprint_finds_each_copy_at_its_offset_and_not_the_unrelated_sound():
    made = copies()
    decoded = {name: sf.read(io.BytesIO(content), dtype="float32") for name, (content, _) in made.items()}
    stored = fp.fingerprint(*decoded["original.wav"])
    owners = np.zeros(len(stored), np.int64)
    for name, (samples, rate) in decoded.items():
        found = fp.best_offsets(fp.query_landmarks(samples, rate), owners, stored.hashes, stored.frames.astype(np.int64))
        start = made[name][1]
        if start is None:
            assert found.get(0, (0, 0))[1] < 6, name
        else:
            offset, votes = found[0]
            assert votes >= 30 and offset * fp.FRAME_SECONDS == pytest.approx(start, abs=0.05), (name, offset, votes)


def test_silence_and_a_short_sound_have_no_landmarks():
    assert len(fp.fingerprint(np.zeros(RATE * 3, np.float32), RATE)) == 0
    assert len(fp.query_landmarks(np.zeros(100, np.float32), RATE)) == 0


@pytest.fixture
def lab(local_earmark):
    """The files ingested in order (the original is the earliest sound), and a user to run jobs."""
    owner = make_user(local_earmark.db, "vox", "dataset")
    return local_earmark, owner, {name: ingest(local_earmark, owner, name, content, "lab") for name, (content, _) in copies().items()}


def run_duplicates(earmark, user, workers: int = 2) -> Job:
    return run_job(earmark, user, "duplicates", "lab", workers=workers)


def fields(earmark) -> dict[str, dict[str, str]]:
    return fields_of(earmark, "duplicates.", strip=True)


def check_groups(found: dict[str, dict[str, str]], ids: dict[str, str]) -> None:
    original = ids["original.wav"]
    assert found[original] == {"group": original}  # the earliest: the group is named after it, it copies nothing
    assert ids["unrelated.wav"] not in found
    for name, (_, start) in copies().items():
        if start is None or name == "original.wav":
            continue
        got = found[ids[name]]
        assert got["group"] == original and got["of"] == original, name
        assert float(got["offset_seconds"]) == pytest.approx(start, abs=0.05), (name, got)


def test_a_job_with_two_workers_groups_the_copies_and_a_rerun_replaces(lab):
    earmark, owner, ids = lab
    job = run_duplicates(earmark, owner)
    assert (job.state, job.done, job.failed) == ("completed", 7, 0)
    check_groups(fields(earmark), ids)
    assert job.output["fields"] == 5 * 3 + 1  # five copies with group, of and offset; the original its group
    with earmark.db.read() as session:
        landmarks = session.scalar(select(func.count()).select_from(FingerprintHash))
        matches = session.scalar(select(func.count()).select_from(FingerprintMatch))
    again = run_duplicates(earmark, owner, workers=1)
    assert again.state == "completed"
    check_groups(fields(earmark), ids)
    with earmark.db.read() as session:  # replaced, not added to
        assert session.scalar(select(func.count()).select_from(AudioFingerprint)) == 7
        assert session.scalar(select(func.count()).select_from(FingerprintHash)) == landmarks
        assert session.scalar(select(func.count()).select_from(FingerprintMatch)) == matches


def test_a_stricter_rerun_takes_away_the_fields_of_sounds_no_longer_grouped(lab):
    earmark, owner, ids = lab
    run_duplicates(earmark, owner)
    with earmark.db.write() as session:
        job_id = JobService(session).submit(owner, "duplicates", query=CatalogueQuery(dataset="lab"),
                                            params={"min_landmarks": 10_000}).id
    work(earmark.db, earmark.storage, threading.Event(), once=True)
    with earmark.db.read() as session:
        assert session.get_one(Job, job_id).state == "completed"
    assert fields(earmark) == {}


def test_the_results_are_in_the_sound_api_and_a_deleted_sound_takes_its_fingerprint(lab):
    earmark, owner, ids = lab
    run_duplicates(earmark, owner)
    api, auth = api_client("vox")
    answer = api.get(f"/api/v1/sounds/{ids['excerpt.wav']}", headers=auth)
    assert answer.status_code == 200
    metadata = answer.json()["metadata"]
    assert metadata["duplicates.of"] == metadata["duplicates.group"] == ids["original.wav"]
    assert float(metadata["duplicates.offset_seconds"]) == pytest.approx(EXCERPT_AT, abs=0.05)
    with earmark.db.write() as session:
        SoundService(session, earmark.storage).delete(owner, ids["copy.mp3"])
    with earmark.db.read() as session:
        assert session.scalar(select(func.count()).select_from(AudioFingerprint)) == 6
        left = session.scalar(select(func.count()).select_from(FingerprintHash).join(
            AudioFingerprint, AudioFingerprint.id == FingerprintHash.fingerprint_id, isouter=True).where(AudioFingerprint.id.is_(None)))
        assert left == 0


def test_the_split_leakage_report_lists_copies_in_different_splits(lab):
    from core.export.splits import SplitRule, leakage

    earmark, owner, ids = lab
    rule = SplitRule((("train", 0.5), ("test", 0.5)), seed=1)
    with earmark.db.write() as session:
        for name, sound_id in ids.items():
            split = "test" if name in ("excerpt.wav", "unrelated.wav") else "train"
            session.merge(SoundField(sound_id=sound_id, name="split", value=split))
    with earmark.db.read() as session:
        assert "near_duplicates_across_splits" not in leakage(session, CatalogueQuery(dataset="lab"), rule)  # not run yet
    run_duplicates(earmark, owner, workers=1)
    with earmark.db.read() as session:
        report = leakage(session, CatalogueQuery(dataset="lab"), rule)
    near = report["near_duplicates_across_splits"]
    assert near["count"] == 1 and near["examples"][0]["key"] == ids["original.wav"] and near["examples"][0]["splits"] == ["test", "train"]
    assert near["examples"][0]["files"]["test"] == "lab/excerpt.wav"  # the copy in test named (train: one of the rest)
    assert report["identical_audio_across_splits"]["count"] == 0  # no two files are byte-identical


def test_a_lookup_reads_only_the_rarest_hashes_and_still_finds_the_copy(local_earmark):
    """A lookup reads at most its budget of index rows, the rarest hashes first, and never a hash held by COMMON
    landmarks or more (a decoy here holds one of the original's hashes that often): the MP3 copy still finds its
    original at offset 0 with a budget of 60 rows, which is a fraction of its hashes."""
    from sqlalchemy import insert

    from core.jobs.analyzers import duplicates as dup

    made = copies()
    original, rate = sf.read(io.BytesIO(made["original.wav"][0]), dtype="float32")
    query = fp.query_landmarks(*sf.read(io.BytesIO(made["copy.mp3"][0]), dtype="float32"))
    owner = make_user(local_earmark.db, "vox", "dataset")
    first, decoy = (ingest(local_earmark, owner, name, made[name][0], "lab") for name in ("original.wav", "unrelated.wav"))
    stored = fp.fingerprint(original, rate)
    common = int(np.intersect1d(stored.hashes, query.hashes)[0])
    with local_earmark.db.write() as session:
        dup.keep(session, [(first, dup.Output(data=dup.Prints(stored, stored)))], {})
        decoy_print = session.scalars(insert(AudioFingerprint).values(sound_id=decoy, version=fp.VERSION, landmarks=dup.COMMON)
                                      .returning(AudioFingerprint.id)).one()
        session.execute(insert(FingerprintHash), [{"fingerprint_id": decoy_print, "hash": common, "frame": f} for f in range(dup.COMMON)])
    with local_earmark.db.read() as session:
        every = dup.rarest(session, np.unique(query.hashes).tolist(), budget=10**6)
        assert common not in every and set(every) == set(np.intersect1d(stored.hashes, query.hashes).tolist()) - {common}
        chosen = dup.rarest(session, np.unique(query.hashes).tolist(), budget=60)
        assert 0 < len(chosen) <= 60 < len(every)  # each of the original's other hashes is in a row or a few
        found = dup.lookup(session, query, budget=60)
    original_print = next(k for k in found if k != decoy_print)
    offset, votes = found[original_print]
    assert offset == 0 and votes >= 12, found
    assert found.get(decoy_print, (0, 0))[1] < dup.MIN_KEPT
