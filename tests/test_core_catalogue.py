"""Catalogue search: filters compose, every sort pages through all matches exactly once, counts, facets."""

from __future__ import annotations

import pytest

import core.catalogue.search
from core.accounts.users import UserService
from core.annotations.service import AnnotationService
from core.catalogue.queue import Queue, QueueService
from core.catalogue.search import CatalogueQuery, facets, search
from core.catalogue.sounds import SoundService
from core.errors import ValidationError
from core.ingest.demo import load_demo
from tests.conftest import ON_POSTGRES, make_user


@pytest.fixture
def demo(local_earmark):
    load_demo(local_earmark.db, local_earmark.storage, max_bytes=10**8)
    hal = make_user(local_earmark.db, "hal")
    with local_earmark.db.write() as session:
        sounds = sorted(SoundService(session, local_earmark.storage).list().items, key=lambda s: s.path)
        for sound in sounds[:3]:
            AnnotationService(session).create(hal, sound.id, start_seconds=0, end_seconds=1, tags=["kick"])
        AnnotationService(session).create(hal, sounds[0].id, start_seconds=1, end_seconds=2, tags=["snare"])
    return local_earmark, sounds, hal


def all_pages(session, spec, viewer, size=5):
    seen, cursor = [], None
    while True:
        page = search(session, spec, viewer, page_size=size, cursor=cursor)
        seen += page.items
        if not page.next_cursor:
            return seen
        cursor = page.next_cursor


@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("spec", [
    CatalogueQuery(tags=("demo",)), CatalogueQuery(where=(("set", "test"),)), CatalogueQuery(annotated="mine"),
    CatalogueQuery(tags=("demo",), where=(("speaker_id", "id00001"),)),
])
def test_filtered_pages_by_date_hold_every_match_once(demo, spec, descending):
    """The cursor is carried into each per-sound condition on date pages (core.catalogue.search.narrowed)."""
    earmark, sounds, hal = demo
    spec = CatalogueQuery(**{**spec.__dict__, "descending": descending})
    with earmark.db.read() as session:
        whole = [s.id for s in search(session, spec, hal, page_size=1000).items]
        paged = [s.id for s in all_pages(session, spec, hal, size=2)]
    assert paged == whole and whole and len(set(paged)) == len(paged)


@pytest.mark.parametrize("sort, key", [
    ("date", lambda s: s.id), ("name", lambda s: (s.path, s.id)), ("duration", lambda s: (s.duration_seconds, s.id)),
    ("annotations", lambda s: (s.annotation_count, s.id)),
])
@pytest.mark.parametrize("descending", [False, True])
def test_every_sort_pages_through_all_matches_once_in_order(demo, sort, key, descending):
    earmark, sounds, hal = demo
    with earmark.db.read() as session:
        seen = all_pages(session, CatalogueQuery(sort=sort, descending=descending), hal)
    assert len(seen) == 32 and len({s.id for s in seen}) == 32
    assert [key(s) for s in seen] == sorted((key(s) for s in seen), reverse=descending)


def test_filters_compose(demo):
    earmark, sounds, hal = demo
    with earmark.db.read() as session:
        def ids(**kw):
            return {s.path for s in all_pages(session, CatalogueQuery(**kw), hal)}
        assert ids(text="ID00002/") == {s.path for s in sounds if s.path.startswith("id00002/")}
        assert ids(where=(("gender", "f"), ("set", "dev"))) == {s.path for s in sounds if s.metadata_dict["gender"] == "f" and s.metadata_dict["set"] == "dev"}
        assert ids(min_duration=5, max_duration=6) == {s.path for s in sounds if 5 <= s.duration_seconds <= 6}
        assert ids(annotated="yes") == {s.path for s in sounds[:3]} == ids(annotated="mine")
        assert len(ids(annotated="no")) == 29 and ids(annotated="mine", text="id00004") == set()
        assert ids(dataset="demo", tags=("demo",), text="00001.wav", where=(("set", "test"),)) == {
            s.path for s in sounds if s.path.endswith("00001.wav") and s.metadata_dict["set"] == "test"}
        with pytest.raises(ValidationError) as err:
            search(session, CatalogueQuery(min_duration=5, max_duration=1), hal)
        assert err.value.field == "max_duration"


def test_counts_are_exact_up_to_the_cap(demo, monkeypatch):
    earmark, _, hal = demo
    with earmark.db.read() as session:
        page = search(session, CatalogueQuery(), hal, page_size=10)
        assert (page.total, page.total_capped, page.total_text()) == (32, False, "32")
        monkeypatch.setattr(core.catalogue.search, "COUNT_CAP", 20)
        capped = search(session, CatalogueQuery(), hal, page_size=10)
        assert (capped.total_capped, capped.total_text()) == (True, "20+")


def test_facets_and_annotation_counts(demo):
    earmark, sounds, hal = demo
    with earmark.db.read() as session:
        counts = facets(session, CatalogueQuery(annotated="yes"), hal)
        assert counts == {"dataset": [("demo", 3)], "tag": [("demo", 3)]}
        first = SoundService(session, earmark.storage).get(sounds[0].id)
        assert first.annotation_count == 2
    with earmark.db.write() as session:
        service = AnnotationService(session)
        note = service.list().items[0]
        service.delete(UserService(session).by_name("hal"), note.id)
    with earmark.db.read() as session:
        assert SoundService(session, earmark.storage).get(note.sound_id).annotation_count == 1


def test_a_browse_search_becomes_an_annotation_queue(demo):
    earmark, sounds, hal = demo
    queue = Queue(catalogue=CatalogueQuery(annotated="no", where=(("speaker_id", "id00001"),)), viewer_id=hal.id)
    with earmark.db.read() as session:
        service = QueueService(session)
        first = service.first(queue)
        assert service.position(queue, first) == (1, 5)  # 8 clips of id00001, 3 annotated
    assert queue.describe().startswith("Browse search: ")


def test_text_search_uses_the_trigram_index_and_follows_changes(demo):
    earmark, sounds, hal = demo
    from core.catalogue.search import text_index

    with earmark.db.read() as session:
        assert text_index(session) == ("pg_trgm" if ON_POSTGRES else "fts5")
        found = {s.path for s in all_pages(session, CatalogueQuery(text="VID00"), hal)}
        assert found == {s.path for s in sounds if "vid00" in s.path.lower()} and found
        assert {s.path for s in all_pages(session, CatalogueQuery(text="1/"), hal)} == {s.path for s in sounds if "1/" in s.path}
    with earmark.db.write() as session:
        SoundService(session, earmark.storage).delete(UserService(session).by_name("demo"), sounds[0].id)
    with earmark.db.read() as session:
        assert sounds[0].path not in {s.path for s in all_pages(session, CatalogueQuery(text=sounds[0].path), hal)}


NAMES = ["id_0/take.wav", "id00/take.wav", "100%/loud.wav", "ab_c/Über Café.wav", "x\\y/back.wav", "CamelCase/MiXeD.wav", "plain/ab.wav"]


@pytest.mark.parametrize("needle", ["id_0", "id_", "%", "_", "100%", "0%/", "\\", "camelcase/mixed", "MIXED", "ab", "b.", "take", "zz"])
def test_text_search_takes_wildcards_literally_and_matches_the_same_on_both_databases(local_earmark, needle):
    from core.store.models import Sound

    earmark = local_earmark
    admin = make_user(earmark.db, "ada", "dataset", admin=True)
    with earmark.db.write() as session:
        session.add_all([Sound(created_by=admin.id, dataset="d", path=name, title=name.rsplit("/", 1)[-1][:-4], duration_seconds=1.0)
                         for name in NAMES])
    expected = {n for n in NAMES if needle.lower() in n.lower()}  # what a person means: contains, any case
    with earmark.db.read() as session:
        found = {s.path for s in all_pages(session, CatalogueQuery(text=needle), admin)}
    assert found == expected
