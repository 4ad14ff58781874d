"""Login throttling: failures counted in SQL per account and per address, growing waits, 429 with Retry-After over
HTTP, and an unknown name costing a password check like a known one."""

from __future__ import annotations

import base64
import datetime as dt
import threading

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from core.accounts import auth, credentials, throttle
from core.accounts.users import UserService
from core.api import deps
from core.api.app import routes
from core.errors import AuthenticationFailed, TooManyAttempts
from core.store.models import LoginFailure, utcnow
from tests.conftest import USER_PASSWORD, make_user


def basic(name: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{name}:{password}".encode()).decode()


def test_waits_grow_after_the_free_failures_and_a_success_clears_the_account(db):
    keys = throttle.keys("Hal", "10.0.0.1")
    assert keys == ["user:hal", "addr:10.0.0.1"]
    now = utcnow()
    with db.write() as session:
        for _ in range(throttle.FREE_FAILURES):
            throttle.failed(session, keys, now)
        throttle.check(session, keys, now)  # still free
        throttle.failed(session, keys, now)
    with db.read() as session:
        with pytest.raises(TooManyAttempts) as refused:
            throttle.check(session, keys, now)
        assert refused.value.retry_after == 2
        throttle.check(session, keys, now + dt.timedelta(seconds=3))  # the wait is over
    with db.write() as session:
        throttle.failed(session, keys, now)
    with db.read() as session, pytest.raises(TooManyAttempts) as refused:
        throttle.check(session, keys, now)
    assert refused.value.retry_after == 4  # doubled
    with db.write() as session:
        throttle.succeeded(session, "hal")
    with db.read() as session:
        assert session.get(LoginFailure, "user:hal") is None and session.get(LoginFailure, "addr:10.0.0.1").failures == 7


def test_concurrent_failures_are_all_counted(db):
    errors = []

    def fail() -> None:
        try:
            with db.write() as session:
                throttle.failed(session, ["user:target"])
        except Exception as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)

    threads = [threading.Thread(target=fail) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    with db.read() as session:
        assert session.get(LoginFailure, "user:target").failures == 16


def test_an_unknown_name_costs_a_password_check_too(db, monkeypatch):
    make_user(db, "hal")
    checks = []
    real = auth.verify_password
    monkeypatch.setattr(auth, "verify_password", lambda password, hashed: checks.append(hashed) or real(password, hashed))
    with db.read() as session:
        for name in ("hal", "nobody"):
            with pytest.raises(AuthenticationFailed, match="Wrong user name or password."):
                UserService(session).authenticate(name, "wrong-password")
    assert len(checks) == 2 and all(h.startswith("$2b$") for h in checks)


def test_guessing_over_http_gets_429_with_retry_after_and_the_right_password_waits_too(local_earmark):
    deps.earmark.cache_clear()
    credentials.BASIC_CACHE.entries.clear()
    make_user(local_earmark.db, "hal")
    api = TestClient(Starlette(routes=routes()))
    statuses = [api.get("/api/v1/", headers={"Authorization": basic("hal", f"guess-{n}")}).status_code for n in range(6)]
    assert statuses == [401] * 6
    refused = api.get("/api/v1/", headers={"Authorization": basic("hal", USER_PASSWORD)})
    assert refused.status_code == 429 and refused.headers["retry-after"] in ("1", "2")
    assert refused.json()["error"].startswith("Too many failed logins: try again in")
    posted = api.post("/api/v1/jobs", json={}, headers={"Authorization": basic("hal", USER_PASSWORD)})  # checked before the body
    assert posted.status_code == 429
