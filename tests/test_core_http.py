"""The HTTP API as st.App mounts it (FastAPI at /api/v1): health, the generated OpenAPI document and docs page,
JSON errors for unknown routes, wrong-typed input refused with a 400 naming the field on every route, and the
server's start-up check."""

from __future__ import annotations

import base64
import os
import re
import subprocess
import sys

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from core.accounts import credentials
from core.api import deps
from core.api.app import routes
from tests.conftest import ROOT, make_user, wav_bytes

ADMIN = {"Authorization": "Basic " + base64.b64encode(b"root:root-password-1").decode()}


@pytest.fixture
def client(local_earmark) -> TestClient:
    deps.earmark.cache_clear()
    credentials.BASIC_CACHE.entries.clear()
    make_user(local_earmark.db, "root", admin=True, password="root-password-1")
    return TestClient(Starlette(routes=routes()))


def test_health_answers_ok(client):
    response = client.get("/api/v1/health")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_routes_do_not_collide_with_streamlits_reserved_paths():
    import streamlit as st

    st.App(str(ROOT / "Home.py"), routes=routes())  # raises ValueError on a reserved prefix


def test_app_refuses_to_start_on_a_bad_setting_with_one_sentence():
    env = dict(os.environ) | {"EARMARK_WORKERS": "lots", "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-c", "import app"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr.strip() == "Earmark cannot start: EARMARK_WORKERS must be a whole number, not 'lots'."


def _normal(path: str) -> str:
    """``/users/<id>?x=1`` and ``/users/{user_id}`` both as ``/users/{}``."""
    return re.sub(r"[{<]\w+[}>]", "{}", path.split("?")[0])


def _readme_routes() -> set[tuple[str, str]]:
    """Every (method, path) README's HTTP API table names: `GET`/`POST /users`, `/users/{id}/sounds` (GET)."""
    table = (ROOT / "README.md").read_text().split("## HTTP API", 1)[1].split("Listings take", 1)[0]
    named = set()
    for row in table.splitlines():
        if not row.startswith("| ") or row.startswith(("| area", "|---")):
            continue
        for more, method, path in re.findall(r"((?:`[A-Z]+`/)*)`(?:([A-Z]+) )?(/[^`]*)`", row.split("|")[2]):
            for verb in [*re.findall(r"`([A-Z]+)`/", more), method or "GET"]:
                named.add((verb, _normal(path)))
    return named


def test_openapi_is_generated_and_lists_every_route_readme_names(client):
    document = client.get("/api/v1/openapi.json").json()
    assert document["openapi"].startswith("3.") and document["info"]["title"] == "Earmark API"
    assert document["servers"] == [{"url": "/api/v1"}]
    described = {(method.upper(), _normal(path)) for path, operations in document["paths"].items() for method in operations}
    named = _readme_routes()
    assert len(named) > 30 and named <= described, named - described
    assert all(op["summary"] for ops in document["paths"].values() for op in ops.values())
    parameters = [p["name"] for p in document["paths"]["/sounds/{sound_id}/annotations"]["get"]["parameters"]]
    assert {"time_range", "page_size", "low_id", "tags"} <= set(parameters)
    assert {"HTTPBasic", "HTTPBearer"} <= set(document["components"]["securitySchemes"])
    text = client.get("/api/v1/openapi.json").text
    assert "``" not in text and ".md" not in text  # Markdown for readers, no reST, no internal file names
    page = client.get("/api/v1/docs")
    assert page.status_code == 200 and "/api/v1/openapi.json" in page.text and "swagger" in page.text.lower()


def test_the_docs_page_loads_nothing_from_other_sites(client):
    """Its script, style and icon come from this server: the page works offline and runs no one else's code."""
    page = client.get("/api/v1/docs").text
    sources = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert len(sources) >= 3 and all(s.startswith("/api/v1/docs-assets/") for s in sources), sources
    for source in sources:
        asset = client.get(source)
        assert asset.status_code == 200 and len(asset.content) > 100, source
    assert client.get("/api/v1/docs-assets/swagger-ui-bundle.js").headers["content-type"].startswith(("text/javascript", "application/javascript"))
    assert client.get("/api/v1/docs-assets/nope.js").json()["error"].startswith("There is no GET /api/v1/docs-assets/nope.js")


@pytest.mark.parametrize("method,path", [("GET", "/api/v1/nope"), ("POST", "/api/v1/sounds/x/y/z"), ("GET", "/api/v1/users/")])
def test_unknown_routes_answer_a_json_404(client, method, path):
    response = client.request(method, path, headers=ADMIN)
    assert response.status_code == 404 and response.headers["content-type"] == "application/json"
    assert response.json() == {"error": f"There is no {method} {path} in this API (see /api/v1/docs)."}


def test_a_method_a_route_does_not_take_is_a_json_405(client):
    response = client.put("/api/v1/jobs", headers=ADMIN)
    assert response.status_code == 405 and response.json() == {"error": "PUT is not allowed on /api/v1/jobs (only GET, POST)."}
    assert response.headers["allow"] == "GET, POST"


# Wrong-typed or out-of-range input on every route that takes any: a 400 whose sentence names the field.
WRONG = [
    ("GET", "/api/v1/users?page_size=abc", None, "page_size must be a whole number, not 'abc'."),
    ("GET", "/api/v1/users?page_number=99999999999999999999", None, "page_number must be at most 1000000"),
    ("GET", "/api/v1/users?user_type=robot", None, "user_type must be one of"),
    ("POST", "/api/v1/users", {"user_name": ["x"]}, "user_name must be text"),
    ("PATCH", "/api/v1/users/{me}", {"is_admin": "perhaps"}, "is_admin must be true or false, not 'perhaps'."),
    ("PATCH", "/api/v1/users/{me}", {"colour": "red"}, "colour must not be sent"),
    ("GET", "/api/v1/users/{me}/sounds?page_size=0", None, "page_size must be at least 1, not 0."),
    ("GET", "/api/v1/users/{me}/annotations?page_number=-3", None, "page_number must be at least 1, not -3."),
    ("GET", "/api/v1/sounds?descending=sideways", None, "descending must be true or false"),
    ("GET", "/api/v1/sounds?sort=name&cursor=not-a-cursor", None, "cursor is not one this server handed out"),
    ("GET", "/api/v1/sounds?sort=duration&cursor=%5B%22x%22%2C%221%22%5D", None, "cursor is not one this server handed out"),
    ("GET", "/api/v1/sounds?sort=loudness", None, "sort must be one of"),
    ("POST", "/api/v1/sounds", {"title": "t", "duration_seconds": "long"}, "duration_seconds must be a number, not 'long'."),
    ("POST", "/api/v1/sounds", {"title": "t", "duration_seconds": 1, "tags": "drums"}, "tags must be a list"),
    ("POST", "/api/v1/sounds", [1, 2], "The request body must be a JSON object."),
    ("GET", "/api/v1/sounds/{sound}/audio?end=soon", None, "end must be a number, not 'soon'."),
    ("GET", "/api/v1/sounds/{sound}/peaks?points=1", None, "points must be at least 10, not 1."),
    ("GET", "/api/v1/sounds/{sound}/peaks?points=9000", None, "points must be at most 5000"),
    ("GET", "/api/v1/sounds/{sound}/peaks?start=-1", None, "start must be at least 0"),
    ("GET", "/api/v1/sounds/{sound}/peaks?start=0.5&end=0.2", None, "end (0.2 s) must be after start (0.5 s); the sound lasts 1 s."),
    ("GET", "/api/v1/sounds/{sound}/peaks?channel=left", None, "channel must be a whole number"),
    ("GET", "/api/v1/sounds/{sound}/spectrogram?start=x", None, "start must be a number"),
    ("GET", "/api/v1/sounds/{sound}/spectrogram?start=0.5&end=0.2", None, "end (0.2 s) must be after start (0.5 s)"),
    ("GET", "/api/v1/sounds/{sound}/annotations?time_range=a-b", None, "time_range must be two numbers"),
    ("POST", "/api/v1/sounds/{sound}/annotations", {"start_seconds": "now", "duration_seconds": 1}, "start_seconds must be a number"),
    ("POST", "/api/v1/sounds/{sound}/annotations", {"start_seconds": 0, "duration_seconds": 1, "tags": [1, {"a": 2}]}, "tags[0] must be text, not 1."),
    ("POST", "/api/v1/sounds/{sound}/annotations", {"start_seconds": 0, "duration_seconds": 1, "channel": "left"}, "channel must be a whole number"),
    ("GET", "/api/v1/annotations?page_size=1.5", None, "page_size must be a whole number, not '1.5'."),
    ("PATCH", "/api/v1/annotations/{annotation}", {"version": "1"}, "version must be"),
    ("PATCH", "/api/v1/annotations/{annotation}", {"version": 1, "end_seconds": "later"}, "end_seconds must be a number"),
    ("POST", "/api/v1/annotations/{annotation}/accept", {"start_seconds": "soon"}, "start_seconds must be a number"),
    ("POST", "/api/v1/annotations/{annotation}/accept", {"tags": "x"}, "tags must be a list"),
    ("POST", "/api/v1/annotations/{annotation}/accept", {"version": 1}, "version must not be sent"),
    ("GET", "/api/v1/data/files?limit=lots", None, "limit must be a whole number, not 'lots'."),
    ("GET", "/api/v1/data/files?offset=-1", None, "offset must be at least 0, not -1."),
    ("GET", "/api/v1/data/files/x.txt?metadata=maybe", None, "metadata must be true or false, not 'maybe'."),
    ("GET", "/api/v1/jobs?limit=0", None, "limit must be at least 1, not 0."),
    ("POST", "/api/v1/jobs", {"analyzer": "onsets", "sound_ids": "abc"}, "sound_ids must be a list"),
    ("POST", "/api/v1/jobs", {"analyzer": "onsets", "params": [1]}, "params must be a JSON object"),
    ("GET", "/api/v1/jobs/{job}/results?format=xml", None, "format must be one of 'json' or 'csv', not 'xml'."),
    ("GET", "/api/v1/download?count=ten", None, "count must be a positive whole number, not 'ten'."),
    ("GET", "/api/v1/download?seed=x", None, "seed must be a whole number, not 'x'."),
    ("GET", "/api/v1/download?on_missing=ignore", None, "on_missing must be one of 'skip' or 'fail'"),
    ("GET", "/api/v1/sounds?dataset=a%00b", None, "dataset must not contain a NUL character."),
    ("GET", "/api/v1/users?user_name=" + "x" * 300, None, "user_name must be at most 200 characters long"),
]


@pytest.fixture
def ids(client, local_earmark):
    """A stored sound with an annotation and a job, for the routes that need an id."""
    import io

    from core.accounts.users import UserService
    from core.ingest.pipeline import UploadOptions, ingest_audio
    from core.jobs.queue import JobService

    with local_earmark.db.read() as session:
        root = UserService(session).by_name("root")
    sound = ingest_audio(local_earmark.db, local_earmark.storage, root, "a.wav", io.BytesIO(wav_bytes()),
                         UploadOptions(dataset="lab", max_bytes=10**7)).sound_id
    annotation = client.post(f"/api/v1/sounds/{sound}/annotations", json={"start_seconds": 0, "duration_seconds": 0.5, "tags": ["x"]},
                             headers=ADMIN).json()["id"]
    with local_earmark.db.write() as session:
        job = JobService(session).submit(root, "audio-stats", sound_ids=[sound]).id
    return {"me": root.id, "sound": sound, "annotation": annotation, "job": job}


@pytest.mark.parametrize("method,path,body,message", WRONG, ids=[f"{m} {p[:60]}" for m, p, _, _ in WRONG])
def test_wrong_input_is_a_400_naming_the_field(client, ids, method, path, body, message):
    response = client.request(method, path.format(**ids), json=body, headers=ADMIN)
    assert response.status_code == 400, response.text
    assert response.json()["error"].startswith(message), response.json()


def test_the_json_body_must_be_json(client):
    response = client.post("/api/v1/jobs", content=b"{analyzer:", headers=ADMIN | {"Content-Type": "application/json"})
    assert response.status_code == 400 and response.json()["error"].startswith("The request body is not JSON")


@pytest.mark.parametrize("headers,allowed", [
    ({}, True),  # curl, scripts, the Python client
    ({"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"}, True),  # this server's own pages
    ({"Origin": "https://testserver"}, True),  # behind a proxy that ends TLS
    ({"Origin": "http://evil.example"}, False),
    ({"Origin": "null"}, False),
    ({"Origin": "http://testserver:8080"}, False),
    ({"Sec-Fetch-Site": "cross-site"}, False),
    ({"Sec-Fetch-Site": "same-site"}, False),
])
def test_writes_from_another_site_are_refused_before_anything_is_read(client, headers, allowed):
    body = {"user_name": "made", "password": "a-long-password", "is_admin": True}
    response = client.post("/api/v1/users", json=body, headers=ADMIN | headers)
    assert (response.status_code == 201) == allowed, response.text
    if not allowed:
        assert response.status_code == 403 and "may not change anything here" in response.json()["error"]
    assert client.get("/api/v1/users?user_name=made", headers=ADMIN | headers).json()["total_count"] == int(allowed)


def test_a_json_body_is_read_only_when_sent_as_json(client):
    text_form = client.post("/api/v1/users", content=b'{"user_name": "made", "password": "a-long-password"}',
                            headers=ADMIN | {"Content-Type": "text/plain"})
    assert text_form.status_code == 400 and "Content-Type: application/json" in text_form.json()["error"]


def _call(app, method: str, path: str, headers: dict[str, str], chunks: list[bytes]) -> tuple[int, dict, int]:
    """Run one request through the ASGI app with a body sent in ``chunks``; (status, JSON answer, chunks read)."""
    import asyncio
    import json

    read = 0
    sent: list[dict] = []

    async def receive() -> dict:
        nonlocal read
        read += 1
        if read > len(chunks):
            return {"type": "http.disconnect"}
        return {"type": "http.request", "body": chunks[read - 1], "more_body": read < len(chunks)}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
             "path": path, "raw_path": path.encode(), "root_path": "", "query_string": b"", "server": ("testserver", 80),
             "client": ("127.0.0.1", 1234), "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()]}
    asyncio.run(app(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], json.loads(body), read


def test_credentials_are_checked_before_a_body_is_read(client):
    app = Starlette(routes=routes())
    chunks = [b"x" * 1024 * 1024] * 300  # an anonymous 300 MB upload
    status, answer, read = _call(app, "POST", "/api/v1/data/upload", {"Content-Type": "multipart/form-data; boundary=b"}, chunks)
    assert status == 401 and read == 0 and answer["error"].startswith("Authentication required")
    status, _, read = _call(app, "POST", "/api/v1/data/upload", {"Authorization": "Basic " + base64.b64encode(b"root:wrong").decode()}, chunks)
    assert status == 401 and read == 0


def test_a_body_over_the_limit_is_refused_as_soon_as_it_passes_it(client, monkeypatch):
    from core.store import config

    monkeypatch.setenv("EARMARK_MAX_UPLOAD_MB", "2")
    config.settings.cache_clear()
    deps.earmark.cache_clear()
    app = Starlette(routes=routes())
    part = b'--b\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\nContent-Type: application/octet-stream\r\n\r\n'
    chunks = [part] + [b"x" * 1024 * 1024] * 50  # a 50 MB file part streamed with no Content-Length: counted as it arrives
    status, answer, read = _call(app, "POST", "/api/v1/data/upload", ADMIN | {"Content-Type": "multipart/form-data; boundary=b"}, chunks)
    assert status == 413 and read == 4, (status, answer, read)  # stopped within the chunk that passed 2 MB + 1 MB of form fields
    assert answer == {"error": "The upload is larger than the 2 MB limit (EARMARK_MAX_UPLOAD_MB)."}
    declared = ADMIN | {"Content-Type": "application/json", "Content-Length": str(100 * 2**20)}
    status, answer, read = _call(app, "POST", "/api/v1/jobs", declared, chunks)
    assert status == 413 and read == 0 and answer == {"error": "The request body is larger than the 64 MB this route takes."}


@pytest.mark.parametrize("installed", [False, True])
def test_connections_accepted_on_a_socket_bound_as_streamlit_binds_get_tcp_nodelay(installed, monkeypatch):
    """Streamlit binds ``socket.socket(family)`` (protocol 0), which asyncio leaves with Nagle's algorithm on:
    a kept-alive connection's response body then waits 40 ms for the client's delayed ACK. nodelay fixes that."""
    import asyncio
    import asyncio.base_events
    import socket

    from core.api import nodelay

    monkeypatch.setattr(asyncio.base_events, "_set_nodelay", asyncio.base_events._set_nodelay)  # undone after
    if installed:
        nodelay.install()

    async def accepted_option() -> int:
        listener = socket.socket(family=socket.AF_INET)  # as streamlit.web.server.starlette binds it
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.setblocking(False)
        seen: asyncio.Future = asyncio.get_running_loop().create_future()

        async def on_connection(reader, writer):
            seen.set_result(writer.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()

        server = await asyncio.start_server(on_connection, sock=listener)
        _, writer = await asyncio.open_connection(*listener.getsockname())
        option = await asyncio.wait_for(seen, 5)
        writer.close()
        server.close()
        return option

    assert bool(asyncio.run(accepted_option())) is installed
