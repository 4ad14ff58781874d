"""The speaker-check analyzer (core/jobs/analyzers/speaker_check.py) on voices made here (tests/speechlike.py's
Voice): a file filed under the wrong speaker is flagged with its sentence, the scores equal a brute-force
leave-one-out (and leave-session-out) computation, the fields reach the API and an export's metadata, a re-run
replaces rather than adds, and "sounds like this" lists the same voice first. Synthetic voices sit closer together
than real ones, so the threshold here is lower than the default (bench/curation.py measures real-ish voices)."""

from __future__ import annotations

import csv
import io
import threading
import zipfile

import numpy as np
import pytest
from sqlalchemy import func, select

from core.catalogue.search import CatalogueQuery
from core.catalogue.sounds import SoundService
from core.errors import ConfigError, NotFound, ValidationError
from core.export.subset import ExportRequest, export_to_file
from core.jobs import voices
from core.jobs.analyzers import voice
from core.jobs.queue import JobService, work
from core.store.models import Job, SoundField, VoiceEmbedding
from tests.analysis import api_client, encoded, encoder_once, fields_of, ingest, run_job
from tests.conftest import make_user
from tests.speechlike import Voice, speech_of

VOICES = {"id00017": Voice(105, 0.86, 0.97, 0.01), "id00018": Voice(215, 1.18, 0.92, 0.04),
          "id00019": Voice(150, 1.02, 0.95, 0.02)}
SECONDS = 6.0  # a file; at 4 s one voice's files spread twice as far (leave-one-out distances up to 0.13, not 0.07)
THRESHOLD = 0.2  # between these voices' own spread and the wrong file's distance (0.30)


@pytest.fixture(autouse=True, scope="module")
def _encoder_once_per_module():
    """The encoder runs once per distinct recording in this module (tests/analysis.py's encoder_once)."""
    with encoder_once():
        yield


def upload(earmark, user, name: str, samples: np.ndarray, fields: dict[str, str], dataset: str = "voices") -> str:
    return ingest(earmark, user, name, encoded(samples), dataset, fields)


@pytest.fixture
def voices_dataset(local_earmark):
    """Four files of each voice under its own speaker, two sessions each, and one of id00018's voice filed as id00017."""
    owner = make_user(local_earmark.db, "vox", "dataset")
    ids = {}
    for number, (speaker, who) in enumerate(VOICES.items()):
        for take in range(4):
            ids[f"{speaker}/{take}"] = upload(local_earmark, owner, f"{speaker}/{take}.wav", speech_of(who, 10 * number + take, SECONDS),
                                              {"speaker_id": speaker, "session": f"{speaker}-s{take % 2}"})
    ids["wrong"] = upload(local_earmark, owner, "id00017/wrong.wav", speech_of(VOICES["id00018"], 4242, SECONDS),
                          {"speaker_id": "id00017", "session": "id00017-s9"})
    ids["unlabelled"] = upload(local_earmark, owner, "nobody.wav", speech_of(VOICES["id00019"], 77), {})
    return local_earmark, owner, ids


def run(earmark, user, **params) -> Job:
    return run_job(earmark, user, "speaker-check", "voices", {"threshold": THRESHOLD} | params)


def fields(earmark) -> dict[str, dict[str, str]]:
    return fields_of(earmark, "speaker_check.")


@pytest.mark.parametrize("threshold", [THRESHOLD, 0.0])  # 0: set from the dataset's own scores
def test_a_file_of_another_voice_is_flagged_and_the_rest_are_not(voices_dataset, threshold):
    earmark, owner, ids = voices_dataset
    job = run(earmark, owner, threshold=threshold)
    assert job.state == "completed" and job.done == len(ids), job.output
    found = fields(earmark)
    wrong = found[ids["wrong"]]
    assert wrong["speaker_check.flagged"] == "true", found
    assert wrong["speaker_check.note"] == f"voice differs from id00017's: {float(wrong['speaker_check.score']):.2f}"
    assert float(wrong["speaker_check.score"]) > 0.25
    right = [found[ids[key]] for key in ids if key not in ("wrong", "unlabelled")]
    assert [f["speaker_check.flagged"] for f in right] == ["false"] * 12, found
    assert all("speaker_check.note" not in f for f in right)
    assert ids["unlabelled"] not in found  # no speaker, no score
    with earmark.db.read() as session:
        assert session.scalar(select(func.count()).select_from(VoiceEmbedding)) == len(ids)  # every sound embedded


def test_scores_equal_a_brute_force_leave_out(voices_dataset):
    """Each score is the cosine distance to the mean of the speaker's sounds outside the sound's own session,
    computed here over all pairs from the stored embeddings."""
    earmark, owner, ids = voices_dataset
    run(earmark, owner, session_column="session")
    with earmark.db.read() as session:
        vectors = {s: v for s, v in session.execute(select(VoiceEmbedding.sound_id, VoiceEmbedding.vector))}
        labels = {(s, n): v for s, n, v in session.execute(select(SoundField.sound_id, SoundField.name, SoundField.value))}
    found = fields(earmark)
    checked = 0
    for sound_id in vectors:
        speaker = labels.get((sound_id, "speaker_id"))
        if speaker is None:
            continue
        others = [voices.as_vectors([vectors[o]])[0] for o in vectors
                  if labels.get((o, "speaker_id")) == speaker and labels[(o, "session")] != labels[(sound_id, "session")]]
        mean = np.mean(others, axis=0)
        expected = 1 - float(voices.as_vectors([vectors[sound_id]])[0] @ mean / np.linalg.norm(mean))
        assert float(found[sound_id]["speaker_check.score"]) == pytest.approx(expected, abs=1.5e-3)
        checked += 1
    assert checked == 13
    assert found[ids["wrong"]]["speaker_check.flagged"] == "true"


def test_a_speaker_heard_in_one_session_only_gets_no_score(local_earmark):
    owner = make_user(local_earmark.db, "vox", "dataset")
    alone = [upload(local_earmark, owner, f"a{i}.wav", speech_of(VOICES["id00019"], i), {"speaker_id": "x", "session": "one"})
             for i in range(2)]
    run(local_earmark, owner, session_column="session")
    assert not any(sound_id in fields(local_earmark) for sound_id in alone)
    run(local_earmark, owner)  # without the session column each is compared with the other
    assert all(fields(local_earmark)[sound_id]["speaker_check.flagged"] == "false" for sound_id in alone)


def test_a_rerun_replaces_fields_and_embeddings(voices_dataset):
    earmark, owner, ids = voices_dataset
    run(earmark, owner)
    assert fields(earmark)[ids["wrong"]]["speaker_check.flagged"] == "true"
    job = run(earmark, owner, threshold=1.5)  # nothing is that far
    assert job.state == "completed"
    found = fields(earmark)
    assert found[ids["wrong"]]["speaker_check.flagged"] == "false" and "speaker_check.note" not in found[ids["wrong"]]
    with earmark.db.read() as session:
        assert session.scalar(select(func.count()).select_from(VoiceEmbedding)) == len(ids)


def test_sounds_like_this_lists_the_same_voice_first(voices_dataset):
    earmark, owner, ids = voices_dataset
    with earmark.db.read() as session, pytest.raises(NotFound, match="has no voice embedding yet: run the speaker-check"):
        voices.nearest(session, ids["wrong"])
    run(earmark, owner)
    with earmark.db.read() as session:
        near = voices.nearest(session, ids["id00017/0"], limit=3)
        assert [n.path.split("/")[0] for n in near] == ["id00017"] * 3 and ids["id00017/0"] not in {n.sound_id for n in near}
        assert near[0].similarity >= near[1].similarity >= near[2].similarity
        like_wrong = voices.nearest(session, ids["wrong"], limit=4)
        assert {n.path for n in like_wrong} == {f"id00018/{t}.wav" for t in range(4)}  # its voice, not its label
        # batches: the same answer when the dataset is read a few rows at a time
        assert voices.nearest(session, ids["wrong"], limit=4) == like_wrong


def test_fields_reach_the_api_and_an_exports_metadata(voices_dataset, tmp_path):
    earmark, owner, ids = voices_dataset
    run(earmark, owner)
    api, auth = api_client("vox")
    metadata = api.get(f"/api/v1/sounds/{ids['wrong']}", headers=auth).json()["metadata"]
    assert metadata["speaker_check.flagged"] == "true" and metadata["speaker_check.note"].startswith("voice differs from id00017's")
    export_to_file(earmark.db, earmark.storage, ExportRequest(query=CatalogueQuery(dataset="voices"), count=14), tmp_path / "out.zip")
    rows = list(csv.DictReader(io.StringIO(zipfile.ZipFile(tmp_path / "out.zip").read("metadata.csv").decode())))
    wrong = next(r for r in rows if r["file_name"].endswith("wrong.wav"))
    assert wrong["speaker_check.flagged"] == "true" and float(wrong["speaker_check.score"]) > THRESHOLD
    assert sum(r["speaker_check.flagged"] == "false" for r in rows) == 12


def test_bad_parameters_and_a_damaged_model_are_named(local_earmark, tmp_path, monkeypatch):
    owner = make_user(local_earmark.db, "vox", "dataset")
    with local_earmark.db.write() as session, pytest.raises(ValidationError, match="threshold must be from 0 to 2"):
        JobService(session).submit(owner, "speaker-check", query=CatalogueQuery(dataset="voices"), params={"threshold": 3})
    damaged = tmp_path / "encoder.onnx"
    damaged.write_bytes(voice.MODEL.read_bytes()[:-10])
    monkeypatch.setattr(voice, "MODEL", damaged)
    voice.session.cache_clear()
    try:
        with pytest.raises(ConfigError, match="speaker model .* is missing or damaged"):
            voice.embed(speech_of(VOICES["id00017"], 1), 16_000)
    finally:
        voice.session.cache_clear()


def test_the_api_submits_it_with_column_names_and_names_a_bad_parameter(voices_dataset):
    earmark, owner, ids = voices_dataset
    api, auth = api_client("vox")
    listed = {a["name"]: a for a in api.get("/api/v1/analyzers", headers=auth).json()["items"]}
    assert listed["speaker-check"]["params"]["speaker_column"]["default"] == "speaker_id"
    created = api.post("/api/v1/jobs", headers=auth, json={"analyzer": "speaker-check", "dataset": "voices", "params": {
        "speaker_column": "speaker_id", "session_column": "session", "threshold": THRESHOLD}})
    assert created.status_code == 201, created.text
    assert created.json()["params"] == {"speaker_column": "speaker_id", "session_column": "session", "threshold": THRESHOLD,
                                        "max_seconds": 300.0}
    bad = api.post("/api/v1/jobs", headers=auth, json={"analyzer": "speaker-check", "dataset": "voices", "params": {"threshold": 9}})
    assert bad.status_code == 400 and "threshold" in bad.json()["error"]
    work(earmark.db, earmark.storage, threading.Event(), poll_seconds=0.01, once=True)
    assert fields(earmark)[ids["wrong"]]["speaker_check.flagged"] == "true"


def test_sounds_like_this_follows_sounds_added_deleted_and_embedded(voices_dataset):
    """The dataset's embeddings are searched from a matrix kept in memory (core.jobs.voices.Matrices): a sound
    deleted drops out of the next answer, and one added shows only once it is embedded, without clearing anything."""
    earmark, owner, ids = voices_dataset
    run(earmark, owner)
    with earmark.db.read() as session:
        first = voices.nearest(session, ids["id00017/0"], limit=3)
    assert ids["id00017/1"] in {n.sound_id for n in first}
    with earmark.db.write() as session:
        SoundService(session, earmark.storage).delete(owner, ids["id00017/1"])
    newcomer = upload(earmark, owner, "id00017/new.wav", speech_of(VOICES["id00017"], 99, SECONDS), {"speaker_id": "id00017"})
    with earmark.db.read() as session:
        after = {n.sound_id for n in voices.nearest(session, ids["id00017/0"], limit=3)}
    assert ids["id00017/1"] not in after and newcomer not in after and len(after) == 3
    run(earmark, owner)
    with earmark.db.read() as session:
        near = voices.nearest(session, ids["id00017/0"], limit=3)
    assert newcomer in {n.sound_id for n in near} and {n.path.split("/")[0] for n in near} == {"id00017"}
