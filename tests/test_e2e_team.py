"""A team server in miniature: two app replicas on one database and one storage, with the shared
EARMARK_COOKIE_KEY. A browser logged in on one is logged in on the other (a load balancer may send it to
either), and what one replica writes the other serves. On PostgreSQL when EARMARK_TEST_DATABASE_URL is set,
else on one SQLite file. Run alone with `pytest -m browser`."""

from __future__ import annotations

import base64
import contextlib
import json
import secrets
import urllib.request

import pytest

from tests.conftest import E2E_ADMIN, E2E_PASSWORD, TEST_DATABASE_URL, e2e_log_in, pg_schema, serve

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def replicas(tmp_path_factory):
    root = tmp_path_factory.mktemp("team")
    shared = {"EARMARK_COOKIE_KEY": secrets.token_urlsafe(48), "EARMARK_STORAGE_URL": f"file://{root / 'objects'}",
              "EARMARK_WORKERS": "0"}
    database = pg_schema(TEST_DATABASE_URL) if TEST_DATABASE_URL else contextlib.nullcontext(f"sqlite:///{root / 'team.db'}")
    with database as url, serve(root / "a" / "earmark-data", url, shared) as one, serve(root / "b" / "earmark-data", url, shared) as two:
        yield one, two


@pytest.fixture(scope="module")
def server(replicas):
    """The `page` fixture's server: the first replica."""
    return replicas[0]


def _api(base: str, path: str, body: dict | None = None):
    auth = base64.b64encode(f"{E2E_ADMIN}:{E2E_PASSWORD}".encode()).decode()
    request = urllib.request.Request(f"{base}/api/v1{path}", data=json.dumps(body).encode() if body else None,
                                     method="POST" if body else "GET",
                                     headers={"Authorization": f"Basic {auth}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def test_a_login_on_one_replica_holds_on_the_other_and_both_see_one_catalogue(page, replicas):
    one, two = replicas
    e2e_log_in(page, one)
    page.goto(two)  # cookies are per host, not per port: the load balancer's case
    page.get_by_text("Logged in as").first.wait_for()
    assert page.get_by_text("Login", exact=True).count() == 0

    made = _api(two, "/users", {"user_name": "bea", "password": "bea-password-1", "user_type": "human"})
    assert made["user_name"] == "bea" and "bea" in {u["user_name"] for u in _api(one, "/users?page_size=100")["items"]}
