"""Throttling that fits a team server (issue 26): failed logins counted per account and per address with limits
that let people who share an address (a NAT, a reverse proxy) keep logging in while one of them fails, and the
client's address read from X-Forwarded-For only when the connection comes from EARMARK_TRUSTED_PROXIES.

The clock is frozen (core.accounts.throttle reads ``utcnow`` at each call), so no wait runs out mid-test."""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import types

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from core.accounts import credentials, throttle
from core.api import deps
from core.api.app import routes
from core.errors import AuthenticationFailed, ConfigError, TooManyAttempts
from core.store import config
from core.store.config import load_settings
from core.store.models import LoginFailure
from tests.conftest import USER_PASSWORD, make_user

NOW = dt.datetime(2026, 12, 5, 12, 0, tzinfo=dt.UTC)
PROXY, CLIENT, OTHER = "10.0.0.2", "198.51.100.7", "203.0.113.9"


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(throttle, "utcnow", lambda: NOW)


def basic(name: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{name}:{password}".encode()).decode()}


def api(peer: str = CLIENT) -> TestClient:
    """The HTTP API as a client at ``peer`` reaches it (no Basic check remembered from another test)."""
    deps.earmark.cache_clear()
    credentials.BASIC_CACHE.entries.clear()
    return TestClient(Starlette(routes=routes()), client=(peer, 40000))


def trust(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("EARMARK_TRUSTED_PROXIES", value)
    config.settings.cache_clear()


def counted_addresses(db) -> dict[str, int]:
    with db.read() as session:
        return {row.key.removeprefix("addr:"): row.failures
                for row in session.query(LoginFailure).filter(LoginFailure.key.startswith("addr:"))}


def test_twelve_wrong_passwords_from_one_address_leave_another_user_able_to_log_in(local_earmark):
    make_user(local_earmark.db, "hal")
    make_user(local_earmark.db, "ada")
    client = api()
    statuses = [client.get("/api/v1/", headers=basic("hal", f"guess-{n}")).status_code for n in range(12)]
    assert statuses == [401] * (throttle.FREE_FAILURES + 1) + [429] * (12 - throttle.FREE_FAILURES - 1)
    assert client.get("/api/v1/", headers=basic("ada", USER_PASSWORD)).status_code == 200
    refused = client.get("/api/v1/", headers=basic("hal", USER_PASSWORD))  # hal's account waits, from anywhere
    assert refused.status_code == 429 and refused.headers["retry-after"] == "2"
    assert refused.json() == {"error": "Too many failed logins: try again in 2 s."}
    assert api(OTHER).get("/api/v1/", headers=basic("hal", USER_PASSWORD)).status_code == 429


def test_an_account_guessed_from_many_addresses_is_locked_everywhere(db):
    make_user(db, "hal")
    make_user(db, "ada")
    for n in range(throttle.FREE_FAILURES + 1):
        with pytest.raises(AuthenticationFailed) as refused:
            credentials.check_password(db, "hal", f"guess-{n}", f"192.0.2.{n + 1}")
        assert type(refused.value) is AuthenticationFailed  # each address tried once: only the account counts up
    with pytest.raises(TooManyAttempts, match=r"^Too many failed logins: try again in 2 s\.$"):
        credentials.check_password(db, "hal", USER_PASSWORD, "192.0.2.200")  # the right password, a new address
    assert credentials.check_password(db, "ada", USER_PASSWORD, "192.0.2.1").user_name == "ada"
    assert set(counted_addresses(db).values()) == {1}


def test_the_wait_ends_and_a_right_password_then_clears_the_account(db, monkeypatch):
    make_user(db, "hal")
    for n in range(throttle.FREE_FAILURES + 1):
        with pytest.raises(AuthenticationFailed):
            credentials.check_password(db, "hal", f"guess-{n}", CLIENT)
    monkeypatch.setattr(throttle, "utcnow", lambda: NOW + dt.timedelta(seconds=2))
    assert credentials.check_password(db, "hal", USER_PASSWORD, CLIENT).user_name == "hal"
    with db.read() as session:
        assert session.get(LoginFailure, "user:hal") is None
        assert session.get(LoginFailure, f"addr:{CLIENT}").failures == throttle.FREE_FAILURES + 1


def test_spraying_many_accounts_from_one_address_blocks_that_address_only(db):
    make_user(db, "ada")
    limit = throttle.FREE_FAILURES * throttle.SHARED_ADDRESS_FACTOR
    for n in range(limit):  # one wrong password each for many names: no account's count sees it
        with pytest.raises(AuthenticationFailed) as refused:
            credentials.check_password(db, f"someone-{n}", "password-1", CLIENT)
        assert type(refused.value) is AuthenticationFailed
    assert credentials.check_password(db, "ada", USER_PASSWORD, CLIENT).user_name == "ada"  # still free at the limit
    with pytest.raises(AuthenticationFailed):
        credentials.check_password(db, "someone-else", "password-1", CLIENT)
    with pytest.raises(TooManyAttempts):  # past it, the address waits, for everyone behind it
        credentials.check_password(db, "ada", USER_PASSWORD, CLIENT)
    assert credentials.check_password(db, "ada", USER_PASSWORD, OTHER).user_name == "ada"


def test_a_count_quiet_for_an_hour_starts_over(db):
    keys = throttle.keys(None, CLIENT)
    with db.write() as session:
        for _ in range(40):
            throttle.failed(session, keys, NOW)
        throttle.failed(session, keys, NOW + throttle.FORGET_AFTER - dt.timedelta(seconds=1))  # not quiet long enough
    assert counted_addresses(db) == {CLIENT: 41}
    with db.write() as session:
        throttle.failed(session, keys, NOW + 2 * throttle.FORGET_AFTER)
    assert counted_addresses(db) == {CLIENT: 1}


def test_concurrent_waits_keep_the_longest(db):
    """Failures counted out of order (two replicas) never shorten a wait already set."""
    keys = throttle.keys("hal", None)
    with db.write() as session:
        for _ in range(throttle.FREE_FAILURES + 3):
            throttle.failed(session, keys, NOW)  # waits 2, 4, 8 s from NOW
        throttle.failed(session, keys, NOW - dt.timedelta(seconds=20))  # a late one: 16 s from 20 s ago
    with db.read() as session, pytest.raises(TooManyAttempts) as refused:
        throttle.check(session, keys, NOW)
    assert refused.value.retry_after == 8


def test_x_forwarded_for_is_ignored_without_the_setting(local_earmark):
    make_user(local_earmark.db, "ada")
    client = api(PROXY)
    for n in range(3):
        headers = basic("ada", f"guess-{n}") | {"X-Forwarded-For": f"192.0.2.{n + 1}"}
        assert client.get("/api/v1/", headers=headers).status_code == 401
    assert counted_addresses(local_earmark.db) == {PROXY: 3}


def test_x_forwarded_for_from_a_trusted_proxy_names_the_client(local_earmark, monkeypatch):
    trust(monkeypatch, f"{PROXY}, 172.16.0.0/12")
    make_user(local_earmark.db, "ada")
    client = api(PROXY)
    forwarded = [CLIENT, f"6.6.6.6, {CLIENT}", f"{CLIENT}, 172.16.5.4", f"{CLIENT}:51234"]  # spoofed left part, two proxies, a port
    for n, value in enumerate(forwarded):
        headers = basic("ada", f"guess-{n}") | {"X-Forwarded-For": value}
        assert client.get("/api/v1/", headers=headers).status_code == 401
    assert counted_addresses(local_earmark.db) == {CLIENT: 4}
    headers = basic("ada", "guess-again") | {"X-Forwarded-For": OTHER}
    assert client.post("/api/v1/jobs", json={}, headers=headers).status_code == 401  # the body guard counts alike
    assert counted_addresses(local_earmark.db) == {CLIENT: 4, OTHER: 1}


def test_spraying_through_a_trusted_proxy_blocks_the_sprayer_not_the_proxy(local_earmark, monkeypatch):
    trust(monkeypatch, PROXY)
    make_user(local_earmark.db, "ada")
    client = api(PROXY)
    limit = throttle.FREE_FAILURES * throttle.SHARED_ADDRESS_FACTOR
    for n in range(limit + 1):
        headers = basic(f"someone-{n}", "password-1") | {"X-Forwarded-For": OTHER}
        assert client.get("/api/v1/", headers=headers).status_code == 401
    sprayer = client.get("/api/v1/", headers=basic("ada", USER_PASSWORD) | {"X-Forwarded-For": OTHER})
    assert sprayer.status_code == 429 and sprayer.json()["error"].startswith("Too many failed logins")
    assert client.get("/api/v1/", headers=basic("ada", USER_PASSWORD) | {"X-Forwarded-For": CLIENT}).status_code == 200


def test_a_spoofed_x_forwarded_for_from_an_untrusted_peer_is_ignored(local_earmark, monkeypatch):
    trust(monkeypatch, PROXY)
    make_user(local_earmark.db, "ada")
    client = api(OTHER)  # straight to the app, not through the proxy
    for n in range(3):
        headers = basic("ada", f"guess-{n}") | {"X-Forwarded-For": f"{PROXY}, 192.0.2.{n + 1}"}
        assert client.get("/api/v1/", headers=headers).status_code == 401
    assert counted_addresses(local_earmark.db) == {OTHER: 3}


@pytest.mark.parametrize(("peer", "forwarded", "client"), [
    (PROXY, [], PROXY),  # a trusted proxy that names nobody: the proxy itself
    (PROXY, [f"{PROXY}, 10.0.0.3"], PROXY),  # every hop trusted: the left-most, as uvicorn does
    (PROXY, ["unknown"], "unknown"),  # what the proxy says, even when it is no address
    (PROXY, ["[2001:db8::1]:443"], "2001:db8::1"),
    (f"::ffff:{PROXY}", [CLIENT], CLIENT),  # an IPv4 proxy seen over IPv6
    (None, [CLIENT], None),
])
def test_client_address(peer, forwarded, client):
    trusted = (ipaddress.ip_network("10.0.0.0/24"),)
    assert throttle.client_address(peer, forwarded, trusted) == client


def test_the_login_form_finds_the_client_as_the_api_does(local_earmark, monkeypatch):
    from core.ui import shell

    trust(monkeypatch, "127.0.0.1")
    local_earmark.settings = config.settings()

    class Headers(dict):
        def get_all(self, name: str) -> list[str]:
            return [self[name]] if name in self else []

    seen = {"ip_address": None, "headers": Headers({"X-Forwarded-For": f"6.6.6.6, {CLIENT}"})}  # a proxy on this machine
    monkeypatch.setattr(shell.st, "context", types.SimpleNamespace(**seen))
    assert shell._client_address(local_earmark) == CLIENT
    monkeypatch.setattr(shell.st, "context", types.SimpleNamespace(ip_address=OTHER, headers=seen["headers"]))
    assert shell._client_address(local_earmark) == OTHER  # not from a trusted proxy: its header is ignored
    monkeypatch.setattr(shell.st, "context", types.SimpleNamespace(ip_address=None, headers=Headers()))
    assert shell._client_address(local_earmark) is None  # on this machine, no proxy: not counted by address


def test_trusted_proxies_are_parsed_and_a_bad_value_is_refused_by_name():
    assert load_settings({}, env_file=None).trusted_proxies == ()
    given = load_settings({"EARMARK_TRUSTED_PROXIES": " 10.0.0.5, 192.168.0.0/16,::1, "}, env_file=None).trusted_proxies
    assert given == tuple(ipaddress.ip_network(n) for n in ("10.0.0.5/32", "192.168.0.0/16", "::1/128"))
    with pytest.raises(ConfigError) as refused:
        load_settings({"EARMARK_TRUSTED_PROXIES": "10.0.0.5,proxy.internal"}, env_file=None)
    assert refused.value.setting == "EARMARK_TRUSTED_PROXIES"
    assert str(refused.value) == ("EARMARK_TRUSTED_PROXIES must list IP addresses or networks separated by commas "
                                  "(such as 10.0.0.5,192.168.0.0/16), and 'proxy.internal' is neither.")
