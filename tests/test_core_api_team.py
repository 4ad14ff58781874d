"""The team's HTTP API (core/api/team.py): assign, my work, Done, time, review (list, lanes, take, accept, return),
progress, moving and taking back; role refusals as 403s, bad input as one-sentence 400s, a second accept as a 409,
blind reads of annotations and sounds. On SQLite and PostgreSQL."""

from __future__ import annotations

import threading

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from core.accounts import credentials as apiauth
from core.annotations.service import AnnotationService
from core.api import deps
from core.api.app import routes
from core.catalogue.sounds import SoundService
from core.store.db import Database
from core.store.models import User
from core.team import queue, review
from tests.conftest import ADMIN_PASSWORD, ON_POSTGRES, make_user
from tests.test_core_api import basic

V1 = "/api/v1"


@pytest.fixture
def api(local_earmark):
    deps.earmark.cache_clear()
    apiauth.BASIC_CACHE.entries.clear()
    owner = make_user(local_earmark.db, "vox", "dataset")
    for name in ("alice", "bob", "carol"):
        make_user(local_earmark.db, name)
    make_user(local_earmark.db, "mia", "dataset")
    with local_earmark.db.write() as session:
        service = SoundService(session, local_earmark.storage)
        ids = [service.create_reference(owner, title=f"s{i}", duration_seconds=8.0, audio_url=f"https://e.x/{i}.wav",
                                        dataset="birds", tags=["crow" if i < 4 else "wren"]).id for i in range(10)]
    client = TestClient(Starlette(routes=routes()))
    client.sound_ids = ids  # type: ignore[attr-defined]
    return client


def post(api, path, who, body=None):
    return api.post(V1 + path, json=body if body is not None else {}, headers=basic(who))


def get(api, path, who, **params):
    return api.get(V1 + path, params=params, headers=basic(who))


def test_assign_work_submit_review_and_progress_over_http(api):
    made = post(api, "/assignments", "vox", {"dataset": "birds", "to": ["alice", "bob"], "per_sound": 2})
    assert made.status_code == 201, made.text
    assert made.json() | {"batch_id": None} == {"batch_id": None, "sounds": 10, "assignments": 20, "multiple": 10,
                                                "per_annotator": {"alice": 10, "bob": 10}}
    assert post(api, "/assignments", "vox", {"dataset": "birds", "to": ["alice", "bob"], "per_sound": 2}).json()["sounds"] == 0
    work = get(api, "/my-work", "alice").json()["items"]
    assert len(work) == 10 and {w["state"] for w in work} == {"to do"}
    sound = work[0]["sound_id"]
    assert post(api, f"/my-work/{sound}/open", "alice").json()["state"] == "in progress"
    assert post(api, f"/my-work/{sound}/time", "alice", {"seconds": 42.5}).json() == {"counted": 42.5}
    for who, start in (("alice", 1.0), ("bob", 1.2)):
        created = post(api, f"/sounds/{sound}/annotations", who, {"start_seconds": start, "end_seconds": start + 2, "tags": ["call"]})
        assert created.status_code == 201 and created.json()["is_gold"] is False
    # blind: alice sees her own region only
    seen = get(api, f"/sounds/{sound}/annotations", "alice").json()["items"]
    assert [a["start_seconds"] for a in seen] == [1.0]
    bobs = get(api, f"/sounds/{sound}/annotations", "vox").json()["items"]
    bob_id = next(a["id"] for a in bobs if a["start_seconds"] == 1.2)
    assert get(api, f"/annotations/{bob_id}", "alice").status_code == 404
    assert get(api, "/sounds", "carol", dataset="birds").json()["total_count"] == 0  # nothing assigned to carol
    for who in ("alice", "bob"):
        done = post(api, f"/my-work/{sound}/submit", who)
        assert done.status_code == 200 and done.json()["state"] == "submitted"
    again = post(api, f"/my-work/{sound}/submit", "alice")
    assert again.status_code == 409 and "already submitted" in again.json()["error"]
    waiting = get(api, "/reviews", "vox").json()["items"]
    assert waiting == [{"sound_id": sound, "dataset": "birds", "path": "https://e.x/0.wav" if sound == api.sound_ids[0] else waiting[0]["path"],
                        "submitted": 2, "assigned": 2}]
    lanes = get(api, f"/reviews/{sound}", "vox").json()
    assert {name: [a["start_seconds"] for a in items] for name, items in lanes["people"].items()} == {"alice": [1.0], "bob": [1.2]}
    assert lanes["states"] == {"alice": "submitted", "bob": "submitted"} and lanes["gold"] == []
    taken = post(api, f"/reviews/{sound}/take", "vox", {"annotator": "alice"}).json()["items"]
    assert [(a["start_seconds"], a["is_gold"]) for a in taken] == [(1.0, True)]
    gold_region = post(api, f"/sounds/{sound}/annotations", "vox", {"start_seconds": 5, "end_seconds": 6, "tags": ["song"], "is_gold": True})
    assert gold_region.status_code == 201 and gold_region.json()["is_gold"] is True
    refused = post(api, f"/sounds/{sound}/annotations", "alice", {"start_seconds": 5, "end_seconds": 6, "tags": ["x"], "is_gold": True})
    assert refused.status_code == 403
    accepted = post(api, f"/reviews/{sound}/accept", "vox")
    assert accepted.json() == {"sound_id": sound, "accepted": 2}
    late = post(api, f"/reviews/{sound}/accept", "admin".replace("admin", "vox"))
    assert late.status_code == 409 and late.json()["error"] == "This sound was already accepted by vox."
    other = work[1]["sound_id"]
    post(api, f"/my-work/{other}/submit", "alice")
    returned = post(api, f"/reviews/{other}/return", "vox", {"annotator": "alice", "comment": "Mark the second call too."})
    assert returned.json()["state"] == "returned" and returned.json()["comment"] == "Mark the second call too."
    mine = get(api, "/my-work", "alice").json()["items"]
    assert (mine[0]["sound_id"], mine[0]["state"], mine[0]["comment"]) == (other, "returned", "Mark the second call too.")
    assert get(api, "/my-work", "alice", state="accepted").json()["items"][0]["sound_id"] == sound
    rows = get(api, "/progress", "vox", dataset="birds").json()["items"]
    alice = next(r for r in rows if r["annotator"] == "alice")
    assert (alice["assigned"], alice["done"], alice["accepted"], alice["returned_ever"]) == (10, 1, 1, 1)
    assert alice["active_hours"] == pytest.approx(42.5 / 3600) and alice["returned_share"] == pytest.approx(0.5)
    assert rows[0]["annotator"] is None and rows[0]["assigned"] == 20


@pytest.mark.parametrize("who, path, body, status, says", [
    ("alice", "/assignments", {"dataset": "birds", "to": ["bob"]}, 403, "As a human user you may not assign"),
    ("mia", "/assignments", {"dataset": "birds", "to": ["bob"]}, 403, "only if it is your own"),
    ("vox", "/assignments", {"dataset": "birds", "to": []}, 400, "to must have at least 1 items"),
    ("vox", "/assignments", {"dataset": "birds", "to": ["bob"], "per_sound": 2}, 400, "per_sound must be from 1 to the number of annotators (1)"),
    ("vox", "/assignments", {"dataset": "birds", "to": ["bob"], "share": 0}, 400, "share must be more than 0"),
    ("vox", "/assignments", {"dataset": "birds", "to": ["zed"]}, 404, "No user named 'zed'."),
    ("vox", "/assignments", {"dataset": "owls", "to": ["bob"]}, 404, "No dataset 'owls'."),
    ("vox", "/assignments", {"dataset": "birds", "to": ["bob"], "per_sound": "2"}, 400, "per_sound must be a whole number"),
    ("alice", "/assignments/move", {"dataset": "birds", "from_annotator": "bob", "to": "alice"}, 403, "may not assign"),
])
def test_refusals_are_one_sentence(api, who, path, body, status, says):
    answer = post(api, path, who, body)
    assert answer.status_code == status, answer.text
    assert says in answer.json()["error"]


def test_reviewing_is_for_the_datasets_reviewers(api):
    post(api, "/assignments", "vox", {"dataset": "birds", "to": ["alice"]})
    sound = api.sound_ids[0]
    post(api, f"/my-work/{sound}/submit", "alice")
    for path in (f"/reviews/{sound}",):
        assert get(api, path, "alice").status_code == 403
        assert get(api, path, "mia").status_code == 403
    assert get(api, "/reviews", "mia").json()["items"] == []  # nothing of hers to review
    assert post(api, f"/reviews/{sound}/accept", "bob").status_code == 403
    assert post(api, f"/reviews/{sound}/return", "vox", {"annotator": "alice", "comment": ""}).status_code == 400
    assert post(api, f"/reviews/{sound}/accept", "vox").json()["error"].startswith("The sound has no gold version yet")
    assert api.post(V1 + f"/reviews/{sound}/accept?allow_empty=true", headers=basic("vox")).status_code == 200
    assert get(api, "/progress", "alice", dataset="birds").status_code == 403
    admin = api.get(V1 + "/reviews", headers=basic("admin", ADMIN_PASSWORD))
    assert admin.status_code == 200
    assert post(api, f"/my-work/{api.sound_ids[1]}/open", "bob").status_code == 404


def test_moving_and_taking_back_over_http(api):
    post(api, "/assignments", "vox", {"dataset": "birds", "to": ["alice", "bob"]})
    moved = post(api, "/assignments/move", "vox", {"dataset": "birds", "from_annotator": "alice", "to": "carol"})
    assert moved.json() == {"count": 5}
    assert len(get(api, "/my-work", "carol").json()["items"]) == 5 and get(api, "/my-work", "alice").json()["items"] == []
    back = post(api, "/assignments/take-back", "vox", {"dataset": "birds", "annotator": "carol"})
    assert back.json() == {"count": 5}


@pytest.mark.skipif(not ON_POSTGRES, reason="the race is PostgreSQL's: SQLite's write lock takes writers one at a time")
def test_two_reviewers_accepting_at_once_one_wins(local_earmark):
    """Two reviewers (the uploader and an administrator) accept the same sound in two transactions that overlap: the
    second's conditional UPDATE waits on the first's row locks, then matches nothing and says who won."""
    from core.catalogue.search import CatalogueQuery
    from core.errors import Conflict
    from core.team.assignments import AssignRequest, assign

    db: Database = local_earmark.db
    owner = make_user(db, "vox", "dataset")
    annotators = [make_user(db, name) for name in ("alice", "bob")]
    with db.write() as session:
        sound = SoundService(session, local_earmark.storage).create_reference(owner, title="s", duration_seconds=4.0, dataset="birds").id
        assign(session, owner, AssignRequest(CatalogueQuery(dataset="birds"), ("alice", "bob"), per_sound=2))
    for person in annotators:
        with db.write() as session:
            AnnotationService(session).create(person, sound, start_seconds=1, end_seconds=2, tags=["call"])
            queue.submit(session, person, sound)
    with db.write() as session:
        review.take_set(session, owner, sound, "alice")
    with db.read() as session:
        admin = session.query(User).filter_by(user_name="admin").one()
    results: dict[str, object] = {}

    def first() -> None:
        with db.write() as session:
            results["vox"] = review.accept(session, owner, sound)
            _until_someone_waits_on_a_lock(db)  # the other's UPDATE, on these rows; then this commits

    def second() -> None:
        try:
            with db.write() as session:
                results["admin"] = review.accept(session, admin, sound)
        except Conflict as exc:
            results["admin"] = exc

    one = threading.Thread(target=first)
    one.start()
    while "vox" not in results and one.is_alive():
        one.join(0.01)
    two = threading.Thread(target=second)
    two.start()
    one.join(30)
    two.join(30)
    assert results["vox"] == 2
    assert isinstance(results["admin"], Conflict) and str(results["admin"]) == "This sound was already accepted by vox."


def _until_someone_waits_on_a_lock(db: Database, deadline_s: float = 20) -> None:
    """Return once another transaction waits for a row lock (pg_locks has a lock not granted), or fail."""
    import time

    from sqlalchemy import text

    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        with db.engine.connect() as connection:
            if connection.execute(text("SELECT count(*) FROM pg_locks WHERE NOT granted")).scalar():
                return
        time.sleep(0.01)
    raise AssertionError("the second reviewer's accept never waited on the first's rows")


def test_a_blind_annotator_cannot_open_a_sound_not_assigned_to_them_by_its_id(api):
    """GET and HEAD /sounds/{id} (and its peaks, spectrogram and audio, which read it the same way) answer a blind
    annotator about a sound not assigned to them as about a sound that is not there; the dataset's owner, and the
    annotator on their own sound, read it as before."""
    mine, theirs = api.sound_ids[0], api.sound_ids[1]
    assert post(api, "/assignments", "vox", {"dataset": "birds", "to": ["alice"], "query": {}}).status_code == 201
    post(api, "/assignments/take-back", "vox", {"dataset": "birds", "sound_ids": [theirs], "annotator": "alice"})
    work = {w["sound_id"] for w in get(api, "/my-work", "alice").json()["items"]}
    assert mine in work and theirs not in work
    assert get(api, f"/sounds/{mine}", "alice").status_code == 200
    hidden = get(api, f"/sounds/{theirs}", "alice")
    assert hidden.status_code == 404 and hidden.json() == {"error": f"No sound with id {theirs!r}."}
    assert api.head(f"{V1}/sounds/{theirs}", headers=basic("alice")).status_code == 404
    assert get(api, f"/sounds/{theirs}/audio", "alice").status_code == 404
    assert get(api, f"/sounds/{theirs}", "vox").status_code == 200


def test_a_blind_annotator_cannot_write_where_they_may_not_see(api):
    """Annotating, changing and deleting (core/annotations/service.py) follow the blind rule as reads do: on a sound
    not assigned to her, or on another person's region of a shared sound, alice is told it is not there (404) and
    nothing changes; on her own sound she works as before, and the dataset's owner changes anything."""
    mine, theirs = api.sound_ids[0], api.sound_ids[1]
    assert post(api, "/assignments", "vox", {"dataset": "birds", "to": ["alice", "bob"], "per_sound": 2}).status_code == 201
    region = {"start_seconds": 1.0, "end_seconds": 2.0, "tags": ["call"]}
    kept = post(api, f"/sounds/{theirs}/annotations", "alice", region).json()  # hers while it was assigned to her
    bobs = post(api, f"/sounds/{mine}/annotations", "bob", region).json()
    post(api, "/assignments/take-back", "vox", {"dataset": "birds", "sound_ids": [theirs], "annotator": "alice"})

    refused = post(api, f"/sounds/{theirs}/annotations", "alice", region)
    assert refused.status_code == 404 and refused.json() == {"error": f"No sound with id {theirs!r}."}
    assert post(api, f"/sounds/{theirs}/tags", "alice", {"tag": "owl"}).status_code == 404  # its dataset's palette too
    for annotation in (kept, bobs):  # her own region on a sound taken back, bob's on a sound they share
        changed = api.patch(f"{V1}/annotations/{annotation['id']}", json={"version": 1, "end_seconds": 3.0}, headers=basic("alice"))
        assert changed.status_code == 404 and changed.json() == {"error": f"No annotation with id {annotation['id']!r}."}
        assert api.delete(f"{V1}/annotations/{annotation['id']}", headers=basic("alice")).status_code == 404
    owner_sees = {a["id"]: a for s in (mine, theirs) for a in get(api, f"/sounds/{s}/annotations", "vox").json()["items"]}
    assert {owner_sees[kept["id"]]["end_seconds"], owner_sees[bobs["id"]]["end_seconds"]} == {2.0}  # nothing changed

    assert post(api, f"/sounds/{mine}/annotations", "alice", region).status_code == 201  # her own sound, as before
    assert api.patch(f"{V1}/annotations/{bobs['id']}", json={"version": 1, "end_seconds": 3.0}, headers=basic("bob")).status_code == 200
    assert api.delete(f"{V1}/annotations/{kept['id']}", headers=basic("admin", ADMIN_PASSWORD)).status_code == 204


def test_the_waveforms_page_token_may_add_active_time_and_nothing_else_of_the_team_api(api, local_earmark):
    """The waveform sends the seconds left on a sound as the page leaves it with its page token
    (core/api/deps.py PAGE_ROUTES): that route takes it; Done and the rest of the team's API do not."""
    from core.accounts import auth, credentials
    from core.accounts.users import UserService

    post(api, "/assignments", "vox", {"dataset": "birds", "to": ["alice"]})
    sound = api.sound_ids[0]
    with local_earmark.db.read() as session:
        alice = UserService(session).by_name("alice")
    bearer = {"Authorization": "Bearer " + credentials.page_token(alice, auth.cookie_key(local_earmark.settings))}
    sent = api.post(f"{V1}/my-work/{sound}/time", json={"seconds": 12.4}, headers=bearer)
    assert sent.status_code == 200 and sent.json() == {"counted": 12.4}
    assert api.post(f"{V1}/my-work/{sound}/submit", headers=bearer).status_code == 403
    assert api.get(f"{V1}/my-work", headers=bearer).status_code == 403
    assert get(api, "/my-work", "alice").json()["items"][0]["active_seconds"] == 12.4
