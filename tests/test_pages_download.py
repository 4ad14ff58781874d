"""Download page: build a subset ZIP with the page's choices, and fetch it through its signed link."""

from __future__ import annotations

import io
import zipfile

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from core.accounts import auth, tokens
from core.api import deps
from core.api.app import routes
from core.ingest.demo import load_demo
from tests.conftest import app_test, login, make_user, shown

PAGE = "pages/4_Download.py"


@pytest.fixture
def demo(local_earmark):
    load_demo(local_earmark.db, local_earmark.storage, max_bytes=10**8)
    make_user(local_earmark.db, "hal")
    deps.earmark.cache_clear()
    return local_earmark


def test_logged_out_renders_the_login_form(demo):
    at = app_test(PAGE).run()
    assert not at.exception and [t.label for t in at.text_input] == ["Username", "Password"]


def build(at, **choices):
    at.selectbox(key="dl_dataset").select(choices.get("dataset", "demo"))
    at.text_input(key="dl_count").input(choices.get("count", "6"))
    at.number_input(key="dl_seed").set_value(choices.get("seed", 11))
    if "balance" in choices:
        at.selectbox(key="dl_balance").select(choices["balance"])
    at.text_input(key="dl_where").input(choices.get("where", ""))
    at.run()
    if not [b for b in at.button if b.key == "dl_build"]:  # refused as soon as typed: nothing to click
        return at
    at.button(key="dl_build").click().run()
    assert not at.exception, at.exception
    return at


def test_build_then_download_through_the_signed_link(demo):
    at = build(login(app_test(PAGE), "hal"), balance="gender", where="set=dev")
    assert shown(at.success[0].value).startswith("demo6.zip: 6 files, 0 annotations,") and "seed 11" in shown(at.success[0].value)
    [link] = at.get("link_button")
    client = TestClient(Starlette(routes=routes()))
    response = client.get(link.proto.url)
    assert response.status_code == 200 and response.headers["content-type"] == "application/zip"
    assert response.headers["content-disposition"].startswith("attachment;") and "demo6.zip" in response.headers["content-disposition"]
    assert response.headers["x-content-type-options"] == "nosniff" and response.headers["content-security-policy"] == "sandbox"
    zf = zipfile.ZipFile(io.BytesIO(response.content))
    assert zf.testzip() is None and len([n for n in zf.namelist() if n.startswith("audio/")]) == 6
    metadata = zf.read("metadata.csv").decode()
    assert metadata.count(",f,") == 3 and metadata.count(",m,") == 3  # balanced by gender


def test_the_same_seed_builds_the_same_files(demo):
    first = build(login(app_test(PAGE), "hal"))
    again = build(first)
    assert first.success[0].value.split(",")[0] == again.success[0].value.split(",")[0]


@pytest.mark.parametrize("choices, message", [
    ({"count": "many"}, "count must be a positive whole number, not 'many'."),
    ({"where": "gender"}, "'gender' is not COLUMN=VALUE."),
    ({"where": "gender=x"}, "No sounds match these filters."),
])
def test_bad_choices_get_one_clear_sentence(demo, choices, message):
    at = build(login(app_test(PAGE), "hal"), **choices)
    assert shown(at.error[0].value) == message and not at.get("link_button")


def test_tampered_and_expired_links_are_refused(demo):
    at = build(login(app_test(PAGE), "hal"))
    url = at.get("link_button")[0].proto.url
    client = TestClient(Starlette(routes=routes()))
    tampered = client.get(url[:-3] + "abc")
    assert tampered.status_code == 403 and tampered.json() == {"error": "This link is not valid."}
    key = auth.cookie_key(demo.settings)
    payload = tokens.verify(url.rsplit("/", 1)[1], key)
    expired = tokens.sign({"key": payload["key"], "user": payload["user"]}, key, ttl_seconds=-1)
    assert client.get(f"/api/v1/files/{expired}").json() == {"error": "This link has expired: build the download again."}
    other = tokens.sign({"key": "exports/none/x.zip", "user": payload["user"]}, key)
    assert client.get(f"/api/v1/files/{other}").status_code == 404
