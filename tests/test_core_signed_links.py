"""Signed tokens (issue 24): a page token, a file link and a subset link each do their one thing. None passes for
another kind, none is a login (a page token reaches only the page's own routes), a wrong or broken one is a 401
or 403 with one sentence, and every one ends at logout (tests/test_pages_home.py), password change or reset,
and deactivation."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import threading
import time

import pytest
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.testclient import TestClient

from core.accounts import auth, credentials, tokens
from core.accounts.users import UserService
from core.api import deps
from core.api.app import create_app, routes
from core.catalogue.files import FileService
from core.catalogue.links import file_link
from core.catalogue.search import CatalogueQuery
from core.errors import PermissionDenied
from core.export.links import subset_link
from core.export.subset import ExportRequest
from core.ingest.pipeline import UploadOptions, ingest_audio
from core.store.models import User
from tests.conftest import ADMIN_PASSWORD, USER_PASSWORD, make_user, wav_bytes

NEW_ADMIN = {"user_name": "mallory", "password": "mallory-password", "user_type": "human", "is_admin": True}


def basic(name: str, password: str = USER_PASSWORD) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{name}:{password}".encode()).decode()}


def bearer_page(token: str) -> dict[str, str]:
    return {"Authorization": "Bearer " + credentials.PAGE_TOKEN_PREFIX + token.removeprefix(credentials.PAGE_TOKEN_PREFIX)}


def api_with_people(local_earmark) -> TestClient:
    """The API, with admin, hal (human) and vox (dataset)."""
    deps.earmark.cache_clear()
    credentials.BASIC_CACHE.entries.clear()
    make_user(local_earmark.db, "hal")
    make_user(local_earmark.db, "vox", "dataset")
    return TestClient(Starlette(routes=routes()))


def stored_sound(local_earmark) -> str:
    """A sound of vox's dataset ``field``, with its stored audio."""
    with local_earmark.db.read() as session:
        vox = UserService(session).by_name("vox")
    return ingest_audio(local_earmark.db, local_earmark.storage, vox, "a.wav", io.BytesIO(wav_bytes(seconds=2.0)),
                        UploadOptions(dataset="field", max_bytes=10**7)).sound_id


@pytest.fixture
def api(local_earmark) -> TestClient:
    return api_with_people(local_earmark)


@pytest.fixture
def sound(api, local_earmark) -> str:
    return stored_sound(local_earmark)


def account(local_earmark, name: str) -> User:
    with local_earmark.db.read() as session:
        return UserService(session).by_name(name)


def handed_out(local_earmark, name: str) -> dict[str, str]:
    """What the pages hand ``name`` as they stand now: the Annotate page's page token and its player's file link,
    and the Download page's subset link (paths under /api/v1, the page token as a Bearer header value)."""
    user, key = account(local_earmark, name), auth.cookie_key(local_earmark.settings)
    with local_earmark.db.read() as session:
        stored = FileService(session, local_earmark.storage).by_key("audio/field/a.wav")
    request = ExportRequest(query=CatalogueQuery(dataset="field"), count=1, seed=1)
    return {"page": "Bearer " + credentials.page_token(user, key), "file": file_link(local_earmark.settings, stored, user, key=key),
            "subset": subset_link(local_earmark.settings, request, user)}


def token_of(link: str) -> str:
    return link.rsplit("/", 1)[1]


def exists(local_earmark, name: str) -> bool:
    with local_earmark.db.read() as session:
        return session.scalar(select(User.id).where(User.user_name == name)) is not None


# -- item 1: a link is not a login ---------------------------------------------------------------------------

def test_the_players_file_link_sent_as_a_page_token_makes_no_administrator(api, local_earmark, sound):
    """The attack of issue 24: an administrator's player link (its ``src``), as ``Bearer page.<T>``."""
    links = handed_out(local_earmark, "admin")
    for link in (links["file"], links["subset"]):
        forged = bearer_page(token_of(link))
        answer = api.post("/api/v1/users", json=NEW_ADMIN, headers=forged)
        assert answer.status_code == 401 and answer.json() == {"error": "This page token is not valid."}
        assert api.get("/api/v1/", headers=forged).status_code == 403  # no page route: refused before it is even checked
        assert api.post(f"/api/v1/sounds/{sound}/annotations", json={"start_seconds": 0, "duration_seconds": 1, "tags": ["x"]},
                        headers=forged).status_code == 401
    assert not exists(local_earmark, "mallory")


def test_a_page_token_reaches_only_the_pages_own_routes(api, local_earmark, sound):
    """An administrator's genuine page token: the views and annotations of a sound work, the rest of the API
    (users, jobs, uploads, listings, the registry, stats) is a 403 that says why."""
    page = {"Authorization": handed_out(local_earmark, "admin")["page"]}
    refused = [("POST", "/api/v1/users", NEW_ADMIN), ("GET", "/api/v1/users", None), ("GET", "/api/v1/", None),
               ("PATCH", f"/api/v1/users/{account(local_earmark, 'admin').id}", {"password": "taken-over-1"}),
               ("POST", "/api/v1/jobs", {"analyzer": "audio_stats", "sound_ids": [sound]}), ("GET", "/api/v1/jobs", None),
               ("GET", "/api/v1/sounds", None), ("GET", "/api/v1/annotations", None), ("GET", "/api/v1/data/files", None),
               ("GET", "/api/v1/data/files/audio/field/a.wav", None), ("DELETE", f"/api/v1/sounds/{sound}", None),
               ("GET", "/api/v1/download?count=1", None)]
    for method, path, body in refused:
        answer = api.request(method, path, json=body, headers=page)
        assert answer.status_code in (403, 405), (method, path, answer.status_code)
        if answer.status_code == 403:
            assert answer.json()["error"].startswith("A page token works only for a page's own views and annotations")
    upload = api.post("/api/v1/data/upload", files={"file": ("b.wav", wav_bytes(), "audio/wav")}, headers=page)
    assert upload.status_code == 403
    assert not exists(local_earmark, "mallory")
    assert api.get(f"/api/v1/sounds/{sound}", headers=page).status_code == 200
    assert api.get(f"/api/v1/sounds/{sound}/peaks?start=0&end=2&points=100", headers=page).status_code == 200
    assert api.get(f"/api/v1/sounds/{sound}/spectrogram?start=0&end=2", headers=page).status_code == 200
    assert api.get(f"/api/v1/sounds/{sound}/audio", headers=page | {"Range": "bytes=0-9"}).status_code == 206
    made = api.post(f"/api/v1/sounds/{sound}/annotations", json={"start_seconds": 0, "duration_seconds": 1, "tags": ["x"]}, headers=page)
    assert made.status_code == 201
    note = made.json()
    assert api.patch(f"/api/v1/annotations/{note['id']}", json={"text": "hi", "version": note["version"]}, headers=page).status_code == 200
    assert api.get(f"/api/v1/sounds/{sound}/annotations", headers=page).json()["items"][0]["text"] == "hi"
    assert api.delete(f"/api/v1/annotations/{note['id']}", headers=page).status_code == 204


def test_the_routes_page_tokens_may_call_are_routes_of_the_api():
    """deps.PAGE_ROUTES names routes by their path: a renamed route would silently stop taking page tokens."""
    served = {(method.upper(), path) for path, operations in create_app().openapi()["paths"].items() for method in operations}
    assert served >= deps.PAGE_ROUTES, sorted(deps.PAGE_ROUTES - served)
    assert not {path for _, path in deps.PAGE_ROUTES if path.startswith(("/users", "/jobs", "/data", "/download", "/files"))}


# -- item 7: a wrong kind is a refusal, never a 500 -------------------------------------------------------

def test_a_token_of_another_kind_at_a_link_route_is_a_403(api, local_earmark, sound):
    links = handed_out(local_earmark, "hal")
    page = links["page"].removeprefix("Bearer ")
    key = auth.cookie_key(local_earmark.settings)
    broken = tokens.sign(tokens.Kind.FILE, account(local_earmark, "hal"), {"key": 5}, key)  # signed, but no storage key
    for path in (f"/api/v1/files/{page}", f"/api/v1/files/{page.removeprefix('page.')}", f"/api/v1/files/{token_of(links['subset'])}",
                 f"/api/v1/download/{token_of(links['file'])}", f"/api/v1/download/{page.removeprefix('page.')}",
                 f"/api/v1/files/{broken}", "/api/v1/files/not-a-token", "/api/v1/download/x.y"):
        answer = api.get(path)
        assert answer.status_code == 403 and answer.json() == {"error": "This link is not valid."}, path
    assert api.get(links["file"]).status_code == 200 and api.get(links["subset"]).status_code == 200  # each at its own route


def test_each_verifier_takes_only_its_own_kind():
    key, user = "k" * 48, User(id="u1", user_name="hal", token_generation=0)
    for kind in tokens.Kind:
        made = tokens.sign(kind, user, {"key": "audio/x.wav", "request": {}}, key)
        assert tokens.verify(kind, made, key)["kind"] == kind.value
        for other in set(tokens.Kind) - {kind}:
            with pytest.raises(PermissionDenied, match="is not valid"):
                tokens.verify(other, made, key)


def signed_as(kind: tokens.Kind, payload: dict, key: str) -> str:
    body = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    return f"{body}.{tokens._signature(key, kind, body)}"


def test_a_payload_that_lies_about_its_kind_or_lacks_its_issue_time_is_refused():
    """Even with the secret's kind keys in hand, a payload must match its key's kind and carry user, generation
    and issue time; and tokens made before kinds existed (one key for all, no kind) verify as nothing."""
    key, later = "k" * 48, int(time.time()) + 60
    whole = {"kind": "page", "user": "u1", "gen": 0, "iat": time.time(), "exp": later}
    assert tokens.verify(tokens.Kind.PAGE, signed_as(tokens.Kind.PAGE, whole, key), key)["user"] == "u1"
    for kind, payload in [(tokens.Kind.FILE, whole), (tokens.Kind.PAGE, whole | {"kind": "file"}),
                          (tokens.Kind.PAGE, {k: v for k, v in whole.items() if k != "iat"}),
                          (tokens.Kind.PAGE, {k: v for k, v in whole.items() if k != "gen"}), (tokens.Kind.PAGE, whole | {"user": 7})]:
        with pytest.raises(PermissionDenied, match="is not valid"):
            tokens.verify(tokens.Kind.PAGE, signed_as(kind, payload, key), key)
    body = base64.urlsafe_b64encode(json.dumps({"user": "u1", "key": "audio/x.wav", "exp": later}).encode()).rstrip(b"=").decode()
    old = f"{body}.{base64.urlsafe_b64encode(hmac.new(key.encode(), body.encode(), hashlib.sha256).digest()).rstrip(b'=').decode()}"
    for kind in tokens.Kind:
        with pytest.raises(PermissionDenied, match="is not valid"):
            tokens.verify(kind, old, key)


# -- items 4 and 8: every kind ends at logout, password change or reset, and deactivation ------------------

def assert_all_refused(api, links: dict[str, str], sound: str, why: str) -> None:
    page = api.get(f"/api/v1/sounds/{sound}/peaks?start=0&end=2&points=100", headers={"Authorization": links["page"]})
    assert page.status_code == 401 and why in page.json()["error"], page.json()
    posted = api.post(f"/api/v1/sounds/{sound}/annotations", json={"start_seconds": 0, "duration_seconds": 1, "tags": ["x"]},
                      headers={"Authorization": links["page"]})
    assert posted.status_code == 401
    for name in ("file", "subset"):
        answer = api.get(links[name])
        assert answer.status_code == 403 and why in answer.json()["error"], (name, answer.json())


def assert_all_work(api, links: dict[str, str], sound: str) -> None:
    assert api.get(f"/api/v1/sounds/{sound}/peaks?start=0&end=2&points=100", headers={"Authorization": links["page"]}).status_code == 200
    assert api.get(links["file"]).status_code == 200 and api.get(links["subset"]).status_code == 200


def test_a_password_change_or_reset_ends_page_tokens_and_links(api, local_earmark, sound):
    links = handed_out(local_earmark, "hal")
    hal_id = account(local_earmark, "hal").id
    changed = api.patch(f"/api/v1/users/{hal_id}", json={"password": "another-password-1"}, headers=basic("hal"))
    assert changed.status_code == 204
    assert_all_refused(api, links, sound, "has ended")
    links = handed_out(local_earmark, "hal")
    assert_all_work(api, links, sound)
    with local_earmark.db.write() as session:  # an administrator's reset (the Users page)
        users = UserService(session)
        users.set_password(users.by_name("admin"), hal_id, "reset-password-1")
    assert_all_refused(api, links, sound, "has ended")


def test_deactivation_ends_page_tokens_and_links_and_reactivation_does_not_revive_them(api, local_earmark, sound):
    links = handed_out(local_earmark, "hal")
    hal_id = account(local_earmark, "hal").id
    admin = basic("admin", ADMIN_PASSWORD)
    assert api.patch(f"/api/v1/users/{hal_id}", json={"is_active": False}, headers=admin).status_code == 204
    assert_all_refused(api, links, sound, "deactivated")
    assert api.patch(f"/api/v1/users/{hal_id}", json={"is_active": True}, headers=admin).status_code == 204
    assert_all_refused(api, links, sound, "has ended")
    assert_all_work(api, handed_out(local_earmark, "hal"), sound)


def test_ending_tokens_counts_every_bump_when_they_race(local_earmark):
    """An SQL increment, not a read-then-write: eight logouts at once are eight (on PostgreSQL under READ
    COMMITTED as on SQLite)."""
    hal_id = make_user(local_earmark.db, "hal").id
    gate = threading.Barrier(8)
    errors: list[Exception] = []

    def log_out() -> None:
        try:
            gate.wait(10)
            with local_earmark.db.write() as session:
                UserService(session).end_signed_tokens(hal_id)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=log_out) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    assert account(local_earmark, "hal").token_generation == 8


def test_a_password_change_refreshes_the_sessions_own_copy(local_earmark):
    """The service bumps in SQL; the account it returns reads the new generation, so a page that mints right
    after the change hands out tokens that work."""
    make_user(local_earmark.db, "hal")
    with local_earmark.db.write() as session:
        users = UserService(session)
        hal = users.by_name("hal")
        assert users.set_password(hal, hal.id, "another-password-1").token_generation == 1
        assert users.set_active(users.by_name("admin"), hal.id, False).token_generation == 2
        assert users.set_active(users.by_name("admin"), hal.id, True).token_generation == 2
