"""The edges of the HTTP API that issue 26's fuzzing found: numbers bounded where they enter (no total that
overflows, no value a column cannot hold), 405 naming every method of the path, JSON for any path under
/api/v1, the permission and message for cancelling someone else's job, and the job states defined once."""

from __future__ import annotations

import base64

import pytest
from sqlalchemy import update
from starlette.applications import Starlette
from starlette.testclient import TestClient

from core.accounts import credentials
from core.accounts.users import UserService
from core.annotations.service import AnnotationService
from core.api import deps
from core.api.app import routes
from core.catalogue.stats import catalogue_stats, human_duration
from core.errors import PermissionDenied
from core.jobs.queue import JobService
from core.jobs.states import FINISHED, JobState
from core.store.models import JOB_STATES, Sound
from tests.conftest import ADMIN_PASSWORD, USER_PASSWORD, make_user, wav_bytes


def basic(name: str, password: str = USER_PASSWORD) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{name}:{password}".encode()).decode()}


@pytest.fixture
def api(local_earmark) -> TestClient:
    deps.earmark.cache_clear()
    credentials.BASIC_CACHE.entries.clear()
    make_user(local_earmark.db, "hal")
    make_user(local_earmark.db, "vox", "dataset")
    make_user(local_earmark.db, "mario")
    return TestClient(Starlette(routes=routes()))


def reference_sound(api: TestClient, title: str = "t", seconds: float = 10) -> str:
    made = api.post("/api/v1/sounds", json={"title": title, "duration_seconds": seconds, "audio_url": f"https://x.org/{title}.ogg"},
                    headers=basic("vox"))
    assert made.status_code == 201, made.text
    return made.json()["id"]


@pytest.mark.parametrize(("duration", "error"), [
    (1.7976931348623157e308, "duration_seconds must be at most 604800, not 1.7976931348623157e+308."),
    (604_800.5, "duration_seconds must be at most 604800, not 604800.5."),
    (0, "duration_seconds must be more than 0, not 0."),
    (None, "duration_seconds must be a number, not None."),
])
def test_a_sound_s_duration_is_refused_by_name_unless_finite_and_at_most_a_week(api, duration, error):
    answer = api.post("/api/v1/sounds", json={"title": "huge", "duration_seconds": duration}, headers=basic("vox"))
    assert answer.status_code == 400 and answer.json() == {"error": error}


def test_a_sound_without_a_duration_is_refused_by_name(api):
    answer = api.post("/api/v1/sounds", json={"title": "no length"}, headers=basic("vox"))
    assert answer.status_code == 400 and answer.json() == {"error": "duration_seconds must be given."}


def test_non_finite_durations_are_refused_by_name(api):
    for raw in (b'{"title": "x", "duration_seconds": Infinity}', b'{"title": "x", "duration_seconds": NaN}'):
        answer = api.post("/api/v1/sounds", content=raw, headers=basic("vox") | {"Content-Type": "application/json"})
        assert answer.status_code == 400 and answer.json()["error"].startswith("duration_seconds must be a finite number")


def test_no_stored_duration_breaks_the_totals(api, local_earmark):
    """Rows written before durations were bounded (or by hand): the total stays a number and Home's line reads."""
    first, second = reference_sound(api, "a"), reference_sound(api, "b")
    with local_earmark.db.write() as session:
        session.execute(update(Sound).where(Sound.id.in_([first, second])).values(duration_seconds=1.7976931348623157e308))
    with local_earmark.db.read() as session:
        figures = catalogue_stats(session)
    assert figures.total_duration_seconds == 2 * 7 * 24 * 3600  # each counted as the longest a sound may be
    assert human_duration(figures.total_duration_seconds) == "336 h 00 min"
    assert human_duration(float("inf")) == "unknown"
    assert api.get("/api/v1/", headers=basic("hal")).json()["totalSounds"] == 2


def test_undoing_a_review_with_absurd_bounds_or_a_wrong_accepted_id_is_a_400(api, local_earmark):
    sound_id = reference_sound(api)
    body = {"source": "speech-activity:abc", "start_seconds": 1e300, "end_seconds": 1e301}
    answer = api.post(f"/api/v1/sounds/{sound_id}/suggestions", json=body, headers=basic("hal"))
    assert answer.status_code == 400 and answer.json() == {"error": "start_seconds must be at most 604800, not 1e+300."}
    with (local_earmark.db.write() as session,
          pytest.raises(Exception, match="start_seconds and end_seconds must be a suggestion's bounds")):
        AnnotationService(session).unreview(UserService(session).by_name("hal"), sound_id, source="x", start_seconds=1e300,
                                            end_seconds=1e301)
    elsewhere = reference_sound(api, "elsewhere")
    with local_earmark.db.write() as session:  # a review of hal's to undo, with an annotation on another sound as accepted_id
        vox, hal = UserService(session).by_name("vox"), UserService(session).by_name("hal")
        AnnotationService(session).create_many(vox, sound_id, [{"start_seconds": 1, "end_seconds": 2, "tags": ["speech"]}],
                                               source="speech-activity:abc")
        other_id = AnnotationService(session).create(hal, elsewhere, start_seconds=3, duration_seconds=1, tags=["x"]).id
    [suggestion] = [a for a in api.get(f"/api/v1/sounds/{sound_id}/annotations", headers=basic("hal")).json()["items"] if a["source"]]
    assert api.post(f"/api/v1/annotations/{suggestion['id']}/reject", headers=basic("hal")).status_code == 204
    undo = {"source": "speech-activity:abc", "start_seconds": 1, "end_seconds": 2, "tags": ["speech"], "accepted_id": other_id}
    answer = api.post(f"/api/v1/sounds/{sound_id}/suggestions", json=undo, headers=basic("hal"))
    assert answer.status_code == 400, answer.text
    assert answer.json() == {"error": "accepted_id must be the annotation this suggestion's acceptance made, on the same sound."}
    assert api.get(f"/api/v1/annotations/{other_id}", headers=basic("hal")).status_code == 200  # nothing changed


def test_a_channel_beyond_any_sound_is_a_400_on_a_sound_of_unknown_channels(api):
    sound_id = reference_sound(api)
    answer = api.post(f"/api/v1/sounds/{sound_id}/annotations", json={"start_seconds": 0, "duration_seconds": 1, "tags": ["x"],
                                                                      "channel": 10**12}, headers=basic("hal"))
    assert answer.status_code == 400 and answer.json()["error"].startswith("channel must be")


@pytest.mark.parametrize(("method", "path", "allowed"), [
    ("OPTIONS", "/api/v1/jobs", "GET, POST"),
    ("PUT", "/api/v1/sounds/{sound}", "DELETE, GET, HEAD"),
    ("PUT", "/api/v1/annotations/x", "DELETE, GET, PATCH"),
    ("POST", "/api/v1/users/x", "DELETE, GET, HEAD, PATCH"),
    ("PATCH", "/api/v1/data/files/files/text/a.txt", "DELETE, GET"),
])
def test_a_405_lists_every_method_of_the_path(api, method, path, allowed):
    answer = api.request(method, path.format(sound=reference_sound(api)), headers=basic("vox"))
    assert answer.status_code == 405 and answer.headers["allow"] == allowed
    assert answer.json()["error"].endswith(f"(only {allowed}).")


@pytest.mark.parametrize("path", ["/api/v1/a%0Ab", "/api/v1/sounds/a%0Ab/peaks", "/api/v1/%0D%0A", "/api/v1/users/%0A"])
def test_any_path_under_the_api_answers_json(api, path):
    answer = api.get(path, headers=basic("hal"))
    assert answer.status_code in (400, 404) and answer.headers["content-type"] == "application/json"
    assert set(answer.json()) == {"error"}


def test_cancelling_someone_elses_job_is_refused_with_its_own_sentence(api, local_earmark):
    sound_id = api.post("/api/v1/data/upload", files={"file": ("a.wav", wav_bytes(0.5))}, data={"dataset": "lab"},
                        headers=basic("vox")).json()["sound_id"]
    job = api.post("/api/v1/jobs", json={"analyzer": "audio-stats", "sound_ids": [sound_id]}, headers=basic("hal")).json()
    with local_earmark.db.write() as session, pytest.raises(PermissionDenied) as refused:
        JobService(session).cancel(UserService(session).by_name("mario"), job["id"])
    assert str(refused.value) == "You may cancel this job only if it is your own."
    answer = api.post(f"/api/v1/jobs/{job['id']}/cancel", headers=basic("mario"))
    assert answer.status_code == 403 and answer.json() == {"error": "You may cancel this job only if it is your own."}
    cancelled = api.post(f"/api/v1/jobs/{job['id']}/cancel", headers=basic("hal"))
    assert cancelled.status_code == 200 and cancelled.json()["state"] == JobState.CANCELLED == "cancelled"
    again = api.post(f"/api/v1/jobs/{job['id']}/cancel", headers=basic("hal"))
    assert again.status_code == 409 and again.json() == {"error": f"Job {job['id']} has already cancelled."}


def test_job_states_are_defined_once():
    """core.jobs.states is the definition; the models' tuple (core.store may not import core.jobs) must match it."""
    assert tuple(JobState) == JOB_STATES
    assert {"completed", "failed", "cancelled"} == FINISHED and all(JobState(s).finished for s in FINISHED)


def test_a_sound_is_deleted_by_its_creator_or_an_administrator(api, local_earmark):
    """DELETE /sounds/{id}: the way to remove a sound one created (a reference, or uploaded audio with its object)."""
    reference = reference_sound(api, "gone")
    uploaded = api.post("/api/v1/data/upload", files={"file": ("a.wav", wav_bytes(0.5))}, data={"dataset": "lab"},
                        headers=basic("vox")).json()
    refused = api.delete(f"/api/v1/sounds/{reference}", headers=basic("hal"))
    assert refused.status_code == 403 and refused.json() == {"error": "As a human user you may not delete this sound or file; ask an administrator."}
    assert api.delete(f"/api/v1/sounds/{reference}", headers=basic("vox")).status_code == 204
    assert api.get(f"/api/v1/sounds/{reference}", headers=basic("hal")).status_code == 404
    assert api.delete(f"/api/v1/sounds/{reference}", headers=basic("vox")).status_code == 404
    key = uploaded["file"]["path"]
    assert local_earmark.storage.exists(key)
    assert api.delete(f"/api/v1/sounds/{uploaded['sound_id']}", headers=basic("admin", ADMIN_PASSWORD)).status_code == 204
    assert not local_earmark.storage.exists(key) and api.get("/api/v1/", headers=basic("hal")).json()["totalSounds"] == 0
