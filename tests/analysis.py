"""What the analyzer tests share (test_core_duplicates.py, test_core_speaker_check.py and the pages' tests that
borrow their fixtures): files encoded and ingested as an upload stores them, a job run to its end by workers, the
fields an analyzer wrote, the API on its own, and the speaker encoder run once per distinct recording."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import threading
from collections.abc import Iterator

import numpy as np
import pytest
import soundfile as sf
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.testclient import TestClient

from core.accounts import credentials as apiauth
from core.api import deps
from core.api.app import routes
from core.catalogue.search import CatalogueQuery
from core.ingest.pipeline import UploadOptions, ingest_audio
from core.jobs.analyzers import voice
from core.jobs.queue import JobService, work
from core.store.models import Job, SoundField
from tests.conftest import USER_PASSWORD


def encoded(samples: np.ndarray, rate: int = 16_000, fmt: str = "WAV", subtype: str = "PCM_16") -> bytes:
    """``samples`` as the bytes of a file in ``fmt`` (soundfile: WAV, MP3, OGG ...)."""
    buffer = io.BytesIO()
    sf.write(buffer, samples, rate, format=fmt, subtype=subtype)
    return buffer.getvalue()


def ingest(earmark, user, name: str, content: bytes, dataset: str, fields: dict[str, str] | None = None) -> str:
    """The new sound's id, stored as an upload stores it (with its metadata ``fields``)."""
    result = ingest_audio(earmark.db, earmark.storage, user, name, io.BytesIO(content),
                          UploadOptions(dataset=dataset, max_bytes=10**8), fields=fields or {})
    assert result.sound_id, result
    return result.sound_id


def run_job(earmark, user, analyzer: str, dataset: str, params: dict | None = None, workers: int = 1) -> Job:
    """Submit ``analyzer`` over the dataset and let ``workers`` worker threads run it to its end."""
    with earmark.db.write() as session:
        job_id = JobService(session).submit(user, analyzer, query=CatalogueQuery(dataset=dataset), params=params or {}).id
    threads = [threading.Thread(target=work, args=(earmark.db, earmark.storage, threading.Event()),
                                kwargs={"poll_seconds": 0.01, "once": True}) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    with earmark.db.read() as session:
        return session.get_one(Job, job_id)


def fields_of(earmark, prefix: str, strip: bool = False) -> dict[str, dict[str, str]]:
    """sound id -> {field name: value} of the fields whose names start with ``prefix`` (without it if ``strip``)."""
    with earmark.db.read() as session:
        rows = session.execute(select(SoundField.sound_id, SoundField.name, SoundField.value)
                               .where(SoundField.name.startswith(prefix)))
        found: dict[str, dict[str, str]] = {}
        for sound_id, name, value in rows:
            found.setdefault(sound_id, {})[name.removeprefix(prefix) if strip else name] = value
        return found


def api_client(user: str) -> tuple[TestClient, dict[str, str]]:
    """The HTTP API on the test's settings (caches of an earlier test's app and logins cleared) and ``user``'s
    Basic authorization header."""
    deps.earmark.cache_clear()
    apiauth.BASIC_CACHE.entries.clear()
    token = base64.b64encode(f"{user}:{USER_PASSWORD}".encode()).decode()
    return TestClient(Starlette(routes=routes())), {"Authorization": f"Basic {token}"}


EMBEDDED: dict[tuple[str, int, str], np.ndarray] = {}  # shared by every module that uses encoder_once


@contextlib.contextmanager
def encoder_once() -> Iterator[None]:
    """voice.embed remembered by its input (and the model file): a module's tests re-ingest the same recordings
    for every test, and the encoder, most of speaker-check's time, then runs once for each (identical output:
    the network is deterministic), and so do the page tests that borrow its fixtures. A recording not embedded yet in
this process runs the real encoder."""
    real = voice.embed

    def embed(samples: np.ndarray, rate: int) -> np.ndarray:
        key = (str(voice.MODEL), rate, hashlib.sha256(np.ascontiguousarray(samples, np.float32).tobytes()).hexdigest())
        if key not in EMBEDDED:
            EMBEDDED[key] = real(samples, rate)
        return EMBEDDED[key].copy()

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(voice, "embed", embed)
        yield
