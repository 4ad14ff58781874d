"""Exports of a reviewed dataset (core/team/versions.py through core/export/subset.py): an accepted sound exports
exactly its gold version by default, each annotator's own rows on request; a sound not accepted keeps its people's
annotations without the reviewer's draft; the manifest says which version; annotations.csv and annotations.json name
each annotation's author and review state, DESIGN.md's columns first. Real audio (the demo dataset) on SQLite and
PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
import zipfile

import pytest
from sqlalchemy import select

from core.annotations.service import AnnotationService
from core.catalogue.search import CatalogueQuery
from core.errors import ValidationError
from core.export.subset import ExportRequest, export_to_file, plan_export
from core.ingest.demo import DATASET, load_demo
from core.store.models import Sound, User
from core.team import queue, review
from core.team.assignments import AssignRequest, assign
from tests.conftest import make_user


@pytest.fixture
def reviewed(local_earmark):
    earmark = local_earmark
    load_demo(earmark.db, earmark.storage, max_bytes=10**8)
    ana, bob = make_user(earmark.db, "ana"), make_user(earmark.db, "bob")
    with earmark.db.read() as session:
        admin = session.scalar(select(User).where(User.user_name == "admin"))
        first, second = session.scalars(select(Sound.id).where(Sound.dataset == DATASET).order_by(Sound.path).limit(2)).all()
    with earmark.db.write() as session:
        assign(session, admin, AssignRequest(CatalogueQuery(dataset=DATASET), ("ana", "bob"), per_sound=2))
        service = AnnotationService(session)
        for sound in (first, second):
            service.create(ana, sound, start_seconds=0.1, end_seconds=0.5, tags=["kick"])
            service.create(bob, sound, start_seconds=0.2, end_seconds=0.6, tags=["kick"])
            service.create(bob, sound, start_seconds=1.0, end_seconds=1.2, tags=["snare"])
            queue.submit(session, ana, sound)
            queue.submit(session, bob, sound)
    with earmark.db.write() as session:
        gold = review.take_set(session, admin, first, "bob")
        AnnotationService(session).update(admin, gold[0].id, 1, start_seconds=0.15)  # moved: its duration kept
        review.accept(session, admin, first)
        review.take_set(session, admin, second, "ana")  # a draft: the second sound is not accepted
    return earmark, first, second


def _export(earmark, tmp_path, **kw):
    out = tmp_path / "subset.zip"
    plan, _ = export_to_file(earmark.db, earmark.storage, ExportRequest(
        query=CatalogueQuery(dataset=DATASET), count=1000, formats=("csv", "json"), **kw), out)
    with zipfile.ZipFile(out) as zf:
        rows = list(csv.DictReader(io.StringIO(zf.read("annotations.csv").decode())))
        header = zf.read("annotations.csv").decode().splitlines()[0].split(",")
        items = json.loads(zf.read("annotations.json"))
        stored = json.loads(zf.read("manifest.json"))
    return plan, rows, header, items, stored


def _regions(rows, member):
    return sorted((float(r["start_seconds"]), float(r["end_seconds"]), r["tags"], r["created_by"], r["review_state"])
                  for r in rows if r["file_name"] == member)


def test_the_gold_export_holds_exactly_the_accepted_regions(reviewed, tmp_path):
    earmark, first, second = reviewed
    plan, rows, header, items, manifest = _export(earmark, tmp_path)
    assert header == ["file_name", "start_seconds", "end_seconds", "tags", "text", "created_by", "annotation_id", "review_state"]
    names = {f["sound_id"]: f["file_name"] for f in manifest["files"]}
    assert _regions(rows, names[first]) == [(0.15, 0.55, "kick", "admin", "gold"), (1.0, 1.2, "snare", "admin", "gold")]
    assert _regions(rows, names[second]) == [(0.1, 0.5, "kick", "ana", "submitted"), (0.2, 0.6, "kick", "bob", "submitted"),
                                             (1.0, 1.2, "snare", "bob", "submitted")]  # no draft of the reviewer's
    assert len(rows) == 5 and (manifest["annotation_version"], manifest["gold_sounds"], manifest["annotations"]) == ("gold", 1, 5)
    assert manifest["request"]["annotation_version"] == "gold"
    by_id = {item["id"]: item for item in items}
    assert {(by_id[r["annotation_id"]]["created_by"], by_id[r["annotation_id"]]["review_state"]) for r in rows} == {
        ("admin", "gold"), ("ana", "submitted"), ("bob", "submitted")}


def test_each_annotators_own_version_on_request(reviewed, tmp_path):
    earmark, first, second = reviewed
    plan, rows, _header, _items, manifest = _export(earmark, tmp_path, annotation_version="annotators")
    names = {f["sound_id"]: f["file_name"] for f in manifest["files"]}
    assert _regions(rows, names[first]) == [(0.1, 0.5, "kick", "ana", "accepted"), (0.2, 0.6, "kick", "bob", "accepted"),
                                            (1.0, 1.2, "snare", "bob", "accepted")]
    assert len(rows) == 6 and (manifest["annotation_version"], manifest["gold_sounds"]) == ("annotators", 0)


def test_an_unknown_version_is_named(reviewed):
    earmark, _, _ = reviewed
    with pytest.raises(ValidationError) as err:
        plan_export(earmark.db, earmark.storage, ExportRequest(annotation_version="best"))
    assert err.value.field == "annotation_version" and str(err.value) == "annotation_version must be gold or annotators."


def test_the_version_through_the_command_line_and_the_api(reviewed, tmp_path, capsys):
    from starlette.applications import Starlette
    from starlette.testclient import TestClient

    from core.api import deps
    from core.api.app import routes
    from core.cli import main
    from tests.conftest import ADMIN_PASSWORD
    from tests.test_core_api import basic

    earmark, first, _ = reviewed
    out = tmp_path / "annotators.zip"
    assert main(["export", "--out", str(out), "--dataset", DATASET, "--count", "100", "--annotation-version", "annotators", "--quiet"]) == 0
    with zipfile.ZipFile(out) as zf:
        assert json.loads(zf.read("manifest.json"))["annotation_version"] == "annotators"
        assert "gold" not in zf.read("annotations.csv").decode()
    deps.earmark.cache_clear()
    api = TestClient(Starlette(routes=routes()))
    for version, states in (("gold", {"gold", "submitted"}), ("annotators", {"accepted", "submitted"})):
        answer = api.get("/api/v1/download", params={"dataset": DATASET, "count": 100, "annotation_version": version},
                         headers=basic("admin", ADMIN_PASSWORD))
        assert answer.status_code == 200, answer.text
        with zipfile.ZipFile(io.BytesIO(answer.content)) as zf:
            assert {r["review_state"] for r in csv.DictReader(io.StringIO(zf.read("annotations.csv").decode()))} == states
    refused = api.get("/api/v1/download", params={"dataset": DATASET, "annotation_version": "best"}, headers=basic("admin", ADMIN_PASSWORD))
    assert refused.status_code == 400 and refused.json()["error"] == "annotation_version: Input should be 'gold' or 'annotators', not 'best'."
