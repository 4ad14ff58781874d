"""The OpenAPI document is the contract: Schemathesis (every check it has, its examples, coverage and fuzzing
phases) sends generated requests to the API as app.py mounts it, on this suite's database, with real ids (sounds,
annotations, users, jobs, stored files and signed links made by the product's own code), and every answer must
be one the document promises: a documented status with its body schema and media type, 400 for input the
schema refuses, never a 500, 405 naming every method, credentials enforced.

Seed and example count are fixed, so a run is repeatable and its time bounded (about a minute here)."""

from __future__ import annotations

import io
import time
from collections import defaultdict

import pytest
import schemathesis
from schemathesis.engine import events
from starlette.applications import Starlette

from core.accounts import credentials, throttle
from core.accounts.credentials import TokenService
from core.accounts.users import UserService
from core.annotations.service import AnnotationService
from core.api import deps
from core.api.app import routes
from core.catalogue.files import FileService
from core.catalogue.links import file_link
from core.catalogue.search import CatalogueQuery
from core.export.links import subset_link
from core.export.subset import ExportRequest
from core.ingest.pipeline import UploadOptions, ingest_audio, store_file
from core.jobs.queue import JobService
from core.store import config
from tests.conftest import make_user, wav_bytes

SEED = 26
EXAMPLES = 5  # per operation in the fuzzing phase: the whole run takes about a minute on this 2-core machine

# Operations that refuse some schema-valid requests with a 400, by rules JSON Schema cannot state: they depend on
# stored data or relate two fields (each operation's description says them). For these alone a 400 to
# schema-valid input is not a failure; every other check holds for them as for the rest.
RULES_BEYOND_THE_SCHEMA = {
    "GET /sounds": "a cursor is one the server handed out in next",
    "GET /sounds/{sound_id}/annotations": "time_range's end is at or after its start",
    "GET /sounds/{sound_id}/peaks": "the view lies in the sound (end after start) and channel is one it has",
    "GET /sounds/{sound_id}/spectrogram": "the view lies in the sound, is at most 120 s, and channel is one it has",
    "GET /sounds/{sound_id}/audio": "a part has its end after its start and is at most 10 minutes",
    "POST /sounds/{sound_id}/annotations": "the segment lies in the sound and channel is one it has",
    "PATCH /annotations/{annotation_id}": "the segment lies in the sound and channel is one it has",
    "POST /sounds/{sound_id}/suggestions": "start_seconds is before end_seconds",
    "POST /data/upload": "the file's content fits its name and category; metadata is a JSON object",
    "POST /annotation-imports": "each file is annotations in the format its name or content shows (or format names)",
    "GET /download": "split names at least two splits whose shares add up to 1",
}


@pytest.fixture
def api_with_data(local_earmark, monkeypatch: pytest.MonkeyPatch):
    """The API over a catalogue made the product's way, and the real ids and links to fill its paths with."""
    # Schemathesis sends wrong credentials to every operation on purpose (they must be refused with 401); the
    # throttle would rightly answer 429 after the first few (tests/test_core_throttle.py covers it).
    monkeypatch.setattr(throttle, "FREE_FAILURES", 1_000_000)
    deps.earmark.cache_clear()
    credentials.BASIC_CACHE.entries.clear()
    earmark = local_earmark
    victim = make_user(earmark.db, "victim")  # the user the fuzzer may change or delete (also creates 'admin')
    root = make_user(earmark.db, "root", admin=True, password="root-password-1")
    make_user(earmark.db, "bot", "featurebot")
    options = UploadOptions(dataset="fuzz", max_bytes=10**8).checked()
    mono = ingest_audio(earmark.db, earmark.storage, root, "mono.wav", io.BytesIO(wav_bytes(2.0)), options)
    ingest_audio(earmark.db, earmark.storage, root, "stereo.wav", io.BytesIO(wav_bytes(2.0, channels=2)), options)
    doomed = ingest_audio(earmark.db, earmark.storage, root, "doomed.wav", io.BytesIO(wav_bytes(0.5)), options)
    notes = store_file(earmark.db, earmark.storage, root, "notes.txt", io.BytesIO(b"hello"),
                       UploadOptions(dataset="fuzz", max_bytes=10**8, purpose="training").checked())
    with earmark.db.write() as session:
        users = UserService(session)
        root, bot = users.by_name("root"), users.by_name("bot")
        note = AnnotationService(session).create(root, mono.sound_id, start_seconds=0.1, duration_seconds=0.5, tags=["x"])
        AnnotationService(session).create_many(bot, mono.sound_id, [{"start_seconds": 0.2, "end_seconds": 0.4, "tags": ["speech"]}],
                                               source="speech-activity:fuzz")
        job = JobService(session).submit(root, "audio-stats", sound_ids=[mono.sound_id])
        _, token = TokenService(session).create(root, root.id, "schemathesis")
        stored = FileService(session, earmark.storage).by_key(notes.key)
        settings = config.settings()
        file_token = file_link(settings, stored, root).rsplit("/", 1)[1]
        subset = ExportRequest(query=CatalogueQuery(dataset="fuzz"), viewer_id=root.id, count=2, seed=1)
        subset_token = subset_link(settings, subset, root).rsplit("/", 1)[1]
        ids = {"sound_id": mono.sound_id, "annotation_id": note.id, "user_id": victim.id, "job_id": job.id, "path": notes.key}
    return Starlette(routes=routes()), token, ids, {"file": file_token, "subset": subset_token, "doomed": doomed.sound_id}


def _config(token: str, ids: dict[str, str], links: dict[str, str]) -> schemathesis.Config:
    return schemathesis.Config.from_dict({
        "seed": SEED,
        "generation": {"max-examples": EXAMPLES, "database": "none"},
        "phases": {"stateful": {"enabled": False}},  # FastAPI's document has no links to follow
        "checks": {"enabled": True},
        "continue-on-failure": True,
        "auth": {"openapi": {"HTTPBearer": {"bearer": token}}},
        "parameters": {f"path.{name}": value for name, value in ids.items()},
        "operations": [
            {"include-name": "GET /files/{token}", "parameters": {"path.token": links["file"]}},
            {"include-name": "GET /download/{token}", "parameters": {"path.token": links["subset"]}},
            {"include-name": "DELETE /sounds/{sound_id}", "parameters": {"path.sound_id": links["doomed"]}},  # not the one in use
            *({"include-name": name, "checks": {"positive_data_acceptance": {
                "expected-statuses": ["2xx", "3xx", "400", "401", "403", "404", "409", "429"]}}}
              for name in RULES_BEYOND_THE_SCHEMA),
        ],
    })


def _run(schema) -> tuple[list[str], set[str], float]:
    """Every failure (check, operation, what it said, how to reproduce it), the operations tested, the time."""
    started, tested = time.monotonic(), set()
    found: dict[tuple[str, str], list[str]] = defaultdict(list)
    for event in schemathesis.engine.from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            tested.add(event.recorder.label)
            for checks in event.recorder.checks.values():
                for check in checks:
                    if check.failure_info is not None:
                        found[(check.name, event.recorder.label)].append(
                            f"{check.failure_info.failure.title}: {check.failure_info.failure.message}\n"
                            f"    {check.failure_info.code_sample}")
        elif isinstance(event, events.NonFatalError):
            found[("error", event.label)].append(event.info.format())
        elif isinstance(event, events.FatalError):
            found[("fatal", "engine")].append(repr(event.exception))
    failures = [f"{check} on {operation} ({len(said)}x):\n  {said[0]}" for (check, operation), said in sorted(found.items())]
    return failures, tested, time.monotonic() - started


def test_the_api_answers_as_its_openapi_document_says(api_with_data):
    app, token, ids, links = api_with_data
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app, config=_config(token, ids, links))
    operations = {operation.label for operation in (result.ok() for result in schema.get_all_operations())}
    assert set(RULES_BEYOND_THE_SCHEMA) <= operations  # each exception names a real operation
    failures, tested, seconds = _run(schema)
    assert not failures, f"{len(failures)} kinds of failure in {seconds:.0f} s:\n\n" + "\n\n".join(failures)
    assert tested >= operations, operations - tested


def test_every_json_answer_has_exactly_its_model_s_fields(api_with_data, local_earmark):
    """A response model drops what it does not declare: a field a service adds to its public shape must be added
    to core.api.models too (and to the document), or clients would never see it."""
    from core.accounts.users import public_user
    from core.annotations.service import public_annotation
    from core.api import models
    from core.api.jobs import public_job
    from core.catalogue.files import public_file
    from core.catalogue.sounds import SoundService, public_sound
    from core.store.models import Job

    _, _, ids, _ = api_with_data
    with local_earmark.db.read() as session:
        sound = SoundService(session, local_earmark.storage).get(ids["sound_id"])
        root = UserService(session).by_name("root")
        shapes = {models.SoundOut: public_sound(sound), models.UserOut: public_user(root, root),
                  models.AnnotationOut: public_annotation(AnnotationService(session).get(ids["annotation_id"])),
                  models.FileRecord: public_file(FileService(session, local_earmark.storage).by_key(ids["path"])),
                  models.JobOut: public_job(session.get(Job, ids["job_id"]))}
    for model, shape in shapes.items():
        assert set(shape) == set(model.model_fields), model.__name__
        model.model_validate(shape)


def test_the_document_s_enums_are_the_core_s():
    from typing import get_args

    from core.api import files, models, sounds
    from core.catalogue.files import UPLOAD_CATEGORIES
    from core.catalogue.search import SORTS
    from core.store.models import CATEGORIES, PURPOSES, USER_TYPES

    assert get_args(files.Listed) == CATEGORIES and get_args(files.Category) == UPLOAD_CATEGORIES
    assert set(get_args(files.Purpose)) == set(PURPOSES) and get_args(models.UserType) == USER_TYPES
    assert set(get_args(get_args(sounds.SoundQuery.model_fields["sort"].annotation)[0])) == set(SORTS)


def test_the_document_lists_an_upload_s_ingest_statuses():
    """An upload's answer says what happened to the file with IngestStatus's values (core/ingest/states.py): stored
    or duplicate, since a refused file is a 400 and one file is never skipped."""
    from core.api.app import create_app
    from core.ingest.states import IngestStatus

    document = create_app().openapi()
    status = document["components"]["schemas"]["Uploaded"]["properties"]["status"]
    assert status["type"] == "string" and status["enum"] == [IngestStatus.STORED, IngestStatus.DUPLICATE]
    assert "status" in document["components"]["schemas"]["Uploaded"]["required"]
    upload = document["paths"]["/data/upload"]["post"]["responses"]
    assert {"200", "201", "400"} <= set(upload)
