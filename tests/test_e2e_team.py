"""A team server in miniature: two app replicas on one database and one S3 bucket (moto's server, over HTTP),
with the shared EARMARK_COOKIE_KEY. A browser logged in on one is logged in on the other (a load balancer may
send it to either), and what one replica writes the other serves. On PostgreSQL when EARMARK_TEST_DATABASE_URL
is set, else on one SQLite file. Run alone with `pytest -m browser`."""

from __future__ import annotations

import base64
import contextlib
import json
import secrets
import urllib.request

import pytest

from core.client import Client
from tests.conftest import E2E_ADMIN, E2E_PASSWORD, TEST_DATABASE_URL, e2e_log_in, free_port, pg_schema, serve, wav_bytes

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def bucket():
    """An S3 endpoint both replicas reach over HTTP, with an empty bucket: the settings that name it."""
    import boto3
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    keys = {"AWS_ACCESS_KEY_ID": "team", "AWS_SECRET_ACCESS_KEY": "team", "AWS_REGION": "us-east-1"}
    endpoint = f"http://127.0.0.1:{port}"
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="team",
                 aws_secret_access_key="team").create_bucket(Bucket="team")
    try:
        yield keys | {"EARMARK_STORAGE_URL": "s3://team/earmark", "EARMARK_S3_ENDPOINT_URL": endpoint}
    finally:
        server.stop()


@pytest.fixture(scope="module")
def replicas(tmp_path_factory, bucket):
    root = tmp_path_factory.mktemp("team")
    shared = bucket | {"EARMARK_COOKIE_KEY": secrets.token_urlsafe(48), "EARMARK_WORKERS": "0"}
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


def test_what_one_replica_stores_the_other_serves(replicas, tmp_path):
    one, two = replicas
    recording = tmp_path / "meeting.wav"
    recording.write_bytes(wav_bytes(seconds=12.0))  # 192,000 frames: its waveform pyramid is stored too
    with Client(two, user=E2E_ADMIN, password=E2E_PASSWORD) as second, Client(one, user=E2E_ADMIN, password=E2E_PASSWORD) as first:
        sound_id = second.upload(recording, dataset="team")["sound_id"]
        assert first.audio(sound_id) == recording.read_bytes()
        view = first.peaks(sound_id, points=500)
        assert view["source"].startswith("peaks/") and view["points"] <= 500
        assert first.sound(sound_id)["id"] == sound_id
    assert not (one.data_dir / "objects").exists() and not (two.data_dir / "objects").exists()  # all of it in the bucket
