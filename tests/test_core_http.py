"""HTTP routes, served by Starlette exactly as st.App mounts them; and the server's start-up check."""

from __future__ import annotations

import os
import subprocess
import sys

from starlette.applications import Starlette
from starlette.testclient import TestClient

import core.http
from tests.conftest import ROOT


def test_health_answers_ok():
    client = TestClient(Starlette(routes=core.http.routes()))
    response = client.get("/api/v1/health")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_routes_do_not_collide_with_streamlits_reserved_paths():
    import streamlit as st

    st.App(str(ROOT / "Home.py"), routes=core.http.routes())  # raises ValueError on a reserved prefix


def test_app_refuses_to_start_on_a_bad_setting_with_one_sentence():
    env = dict(os.environ) | {"EARMARK_WORKERS": "lots", "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-c", "import app"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr.strip() == "Earmark cannot start: EARMARK_WORKERS must be a whole number, not 'lots'."


def test_openapi_describes_every_route_and_the_docs_page_lists_them():
    client = TestClient(Starlette(routes=core.http.routes()))
    document = client.get("/api/v1/openapi.json").json()
    assert document["openapi"].startswith("3.") and document["info"]["title"] == "Earmark API"
    routed = {(r.path.replace("{path:path}", "{path}"), m.lower()) for r in core.http.routes() for m in r.methods if m != "HEAD"}
    described = {(p, m) for p, ops in document["paths"].items() for m in ops}
    assert routed == described
    assert all(op["summary"] for ops in document["paths"].values() for op in ops.values())
    assert "time_range" in [p["name"] for p in document["paths"]["/api/v1/sounds/{sound_id}/annotations"]["get"]["parameters"]]
    page = client.get("/api/v1/docs")
    assert page.status_code == 200 and "<code>/api/v1/download</code>" in page.text and "openapi.json" in page.text
