"""Download page: the page's choices become one signed link that streams the subset ZIP, no build step."""

from __future__ import annotations

import csv
import html
import io
import json
import re
import zipfile

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from core.accounts import auth, tokens
from core.accounts.users import UserService
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
    assert not at.exception, at.exception
    return at


def link_of(at) -> str | None:
    """The download link's address, or None when the page shows no link."""
    found = [re.search(r'href="([^"]+)" download>', html.unescape(h.proto.body)) for h in at.get("html")]
    return next((m.group(1) for m in found if m), None)


def test_one_link_streams_the_subset(demo):
    at = build(login(app_test(PAGE), "hal"), balance="gender", where="set=dev")
    assert "Download 6 sounds as a ZIP" in at.get("html")[0].proto.body
    assert any(shown(c.value).startswith("6 sounds of the 24 that match, chosen with seed 11") for c in at.caption)
    client = TestClient(Starlette(routes=routes()))
    response = client.get(link_of(at))  # no credentials: the link is signed
    assert response.status_code == 200 and response.headers["content-type"] == "application/zip"
    assert response.headers["content-disposition"].startswith("attachment;") and "demo6.zip" in response.headers["content-disposition"]
    assert response.headers["x-content-type-options"] == "nosniff" and response.headers["content-security-policy"] == "sandbox"
    zf = zipfile.ZipFile(io.BytesIO(response.content))
    assert zf.testzip() is None and len([n for n in zf.namelist() if n.startswith("audio/")]) == 6
    metadata = zf.read("metadata.csv").decode()
    assert metadata.count(",f,") == 3 and metadata.count(",m,") == 3  # balanced by gender


def test_the_same_seed_streams_the_same_files_and_the_manifest_says_how(demo):
    client = TestClient(Starlette(routes=routes()))
    at = build(login(app_test(PAGE), "hal"))
    first = zipfile.ZipFile(io.BytesIO(client.get(link_of(at)).content))
    again = zipfile.ZipFile(io.BytesIO(client.get(link_of(build(at))).content))
    assert sorted(first.namelist()) == sorted(again.namelist())
    assert len([n for n in first.namelist() if n.startswith("audio/")]) == 6
    request = json.loads(first.read("manifest.json"))["request"]
    assert request["seed"] == 11 and request["count"] == 6 and request["filters"] == {"dataset": "demo"}
    other = zipfile.ZipFile(io.BytesIO(client.get(link_of(build(at, seed=12))).content))
    assert sorted(other.namelist()) != sorted(first.namelist())


@pytest.mark.parametrize("choices, message", [
    ({"count": "many"}, "count must be a positive whole number, not 'many'."),
    ({"where": "gender"}, "'gender' is not COLUMN=VALUE."),
    ({"where": "gender=x"}, "No sounds match these filters."),
])
def test_bad_choices_get_one_clear_sentence(demo, choices, message):
    at = build(login(app_test(PAGE), "hal"), **choices)
    assert shown(at.error[0].value) == message and link_of(at) is None


def test_tampered_expired_and_deactivated_links_are_refused(demo):
    at = build(login(app_test(PAGE), "hal"))
    url = link_of(at)
    client = TestClient(Starlette(routes=routes()))
    tampered = client.get(url[:-3] + "abc")
    assert tampered.status_code == 403 and tampered.json() == {"error": "This link is not valid."}
    key = auth.cookie_key(demo.settings)
    payload = tokens.verify(tokens.Kind.SUBSET, url.rsplit("/", 1)[1], key)
    with demo.db.read() as session:
        hal = UserService(session).by_name("hal")
    expired = tokens.sign(tokens.Kind.SUBSET, hal, {"request": payload["request"]}, key, ttl_seconds=-1)
    assert client.get(f"/api/v1/download/{expired}").json() == {"error": "This link has expired: open the page again."}
    malformed = tokens.sign(tokens.Kind.SUBSET, hal, {"request": {"query": {"colour": "red"}}}, key)
    assert client.get(f"/api/v1/download/{malformed}").json() == {"error": "This link is not valid."}
    with demo.db.write() as session:
        UserService(session).by_name("hal").is_active = False
    assert client.get(url).json() == {"error": "The account this link was made for no longer exists or is deactivated."}


def test_splits_in_one_click_keep_each_speaker_on_one_side_and_say_so(demo):
    """Splits on the page: one link streams a folder per split and a manifest with the rule, seed and leakage
    report; no speaker spans two splits; a second download puts every sound where it was."""
    at = login(app_test(PAGE), "hal")
    at.selectbox(key="dl_dataset").select("demo")
    at.radio(key="dl_mode").set_value("splits").run()
    assert at.multiselect(key="dl_split_group_by").value == ["speaker_id"]  # offered first as a group
    at.text_input(key="dl_split_shares").input("train=0.5,test=0.5")
    at.number_input(key="dl_seed").set_value(5)
    at.run()
    assert not at.exception and not at.error
    assert "Download all 32 sounds as a ZIP" in at.get("html")[0].proto.body
    assert any(shown(c.value).startswith("All 32 sounds in train / test, one folder each, placed with seed 5") for c in at.caption)
    client = TestClient(Starlette(routes=routes()))
    response = client.get(link_of(at))
    assert response.status_code == 200 and 'filename="demo-train-test.zip"' in response.headers["content-disposition"]
    zf = zipfile.ZipFile(io.BytesIO(response.content))
    manifest = json.loads(zf.read("manifest.json"))
    assert manifest["split"] == {"shares": {"train": 0.5, "test": 0.5}, "group_by": ["speaker_id"], "stratify": None,
                                 "weight": "sounds", "seed": 5, "field": "split"}
    assert manifest["leakage"]["groups_across_splits"]["count"] == 0
    speakers: dict[str, set[str]] = {}
    for split in ("train", "test"):
        rows = list(csv.DictReader(io.StringIO(zf.read(f"{split}/metadata.csv").decode())))
        assert rows and all(f"{split}/{r['file_name']}" in zf.namelist() for r in rows)
        for row in rows:
            speakers.setdefault(row["speaker_id"], set()).add(split)
        assert manifest["exports"][split]["count_included"] == len(rows)
    assert sum(manifest["exports"][s]["count_included"] for s in ("train", "test")) == 32
    assert all(len(sides) == 1 for sides in speakers.values()) and len(speakers) > 1
    assert manifest["placed_now"]["sounds"] == 32
    again = json.loads(zipfile.ZipFile(io.BytesIO(client.get(link_of(at)).content)).read("manifest.json"))
    assert again["placed_now"]["sounds"] == 0 and again["exports"] == manifest["exports"]


def test_split_shares_that_are_not_a_split_get_one_sentence_and_no_link(demo):
    at = login(app_test(PAGE), "hal")
    at.selectbox(key="dl_dataset").select("demo")
    at.radio(key="dl_mode").set_value("splits").run()
    at.text_input(key="dl_split_shares").input("train=0.8,test=0.3").run()
    assert shown(at.error[0].value) == "The shares must add up to 1, not 1.1." and link_of(at) is None


def test_training_formats_in_one_click_sit_beside_the_audio_they_name(demo):
    """Training formats from the page: one ZIP with Parquet shards pyarrow reads (the Hugging Face Audio layout
    holding each file's bytes), a NeMo manifest whose every audio_filepath is a member of the same ZIP, and the
    annotation formats as members (no ZIP inside the ZIP)."""
    import pyarrow.parquet as pq

    at = login(app_test(PAGE), "hal")
    at.selectbox(key="dl_dataset").select("demo")
    at.text_input(key="dl_count").input("5")
    at.number_input(key="dl_seed").set_value(3)
    at.multiselect(key="dl_training").set_value(["parquet", "nemo"]).run()
    assert not at.exception and not at.error
    response = TestClient(Starlette(routes=routes())).get(link_of(at))
    assert response.status_code == 200 and 'filename="demo5.zip"' in response.headers["content-disposition"]
    zf = zipfile.ZipFile(io.BytesIO(response.content))
    names = set(zf.namelist())
    assert "annotations.csv" in names and "metadata.csv" in names and not any(n.endswith(".zip") for n in names)
    audio = sorted(n for n in names if n.startswith("audio/"))
    assert len(audio) == 5
    nemo = [json.loads(line) for line in zf.read("nemo_manifest.json").decode().splitlines()]
    assert nemo and {row["audio_filepath"] for row in nemo} <= names
    shards = [n for n in names if n.startswith("parquet/") and n.endswith(".parquet")]
    table = pq.read_table(io.BytesIO(zf.read(shards[0]))) if len(shards) == 1 else None
    assert table is not None and table.num_rows >= 5
    first = table.column("audio")[0].as_py()
    assert first["bytes"] == zf.read(next(a for a in audio if a.endswith(first["path"].rsplit("/", 1)[-1])))
    manifest = json.loads(zf.read("manifest.json"))
    assert manifest["formats"] == ["csv", "parquet", "nemo"] and manifest["exports"][""]["count_included"] == 5
