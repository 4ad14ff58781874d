"""Annotations with the seed API's semantics: validation by field, overlap and tag filters, paging, ownership."""

from __future__ import annotations

import pytest

from core.accounts.users import UserService
from core.annotations.service import (
    AnnotationFilter,
    AnnotationService,
    parse_time_range,
    public_annotation,
)
from core.catalogue.sounds import SoundService
from core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from core.store.paging import PageRequest
from tests.conftest import make_user


@pytest.fixture
def sound(local_earmark):
    owner = make_user(local_earmark.db, "vox", "dataset")
    with local_earmark.db.write() as session:
        return SoundService(session, local_earmark.storage).create_reference(
            owner, title="A sound", duration_seconds=12.3, audio_url="https://example.com/a.wav", tags=["test"])


def annotate(db, user, sound_id, start, duration, tags=("kick",), **kw):
    with db.write() as session:
        return AnnotationService(session).create(user, sound_id, start_seconds=start, duration_seconds=duration, tags=list(tags), **kw)


@pytest.mark.parametrize("start, duration, field", [
    (-1, 1, "start_seconds"),
    (1, 0, "duration_seconds"),
    (1, -2, "duration_seconds"),
    (12, 1, "duration_seconds"),  # ends past 12.3 s
    ("abc", 1, "start_seconds"),
    (float("nan"), 1, "start_seconds"),
])
def test_bad_segments_are_refused_naming_the_field(db, sound, start, duration, field):
    human = make_user(db, "hal")
    with pytest.raises(ValidationError) as err:
        annotate(db, human, sound.id, start, duration)
    assert err.value.field == field


def test_empty_tag_and_empty_annotation_are_refused(db, sound):
    human = make_user(db, "hal")
    with pytest.raises(ValidationError, match="must not be empty") as err:
        annotate(db, human, sound.id, 1, 1, tags=["kick", "  "])
    assert err.value.field == "tags"
    with pytest.raises(ValidationError, match="at least one tag"):
        annotate(db, human, sound.id, 1, 1, tags=[])
    with pytest.raises(NotFound, match="No sound"):
        annotate(db, human, "nope", 1, 1)


def test_segment_up_to_the_very_end_is_allowed(db, sound):
    human = make_user(db, "hal")
    a = annotate(db, human, sound.id, 0.0, 12.3, tags=[], data_url="https://s3/fft-data/file.dat")
    assert public_annotation(a)["end_seconds"] == pytest.approx(12.3)
    assert public_annotation(a)["tags"] is None


def test_time_range_returns_overlapping_annotations(db, sound):
    human = make_user(db, "hal")
    a = annotate(db, human, sound.id, 1.0, 1.0)   # 1-2
    b = annotate(db, human, sound.id, 2.0, 1.0)   # 2-3
    c = annotate(db, human, sound.id, 10.0, 2.0)  # 10-12
    with db.read() as session:
        service = AnnotationService(session)
        ids = lambda r: [x.id for x in service.list(filters=AnnotationFilter(sound_id=sound.id, time_range=r)).items]
        assert ids((1.5, 2.5)) == [a.id, b.id]
        assert ids((2.0, 2.0001)) == [b.id]  # touching at 2.0 is not overlapping a
        assert ids((3.0, 10.0)) == []
        assert ids((0, 100)) == [a.id, b.id, c.id]
    assert parse_time_range("1.5,3") == (1.5, 3.0)
    with pytest.raises(ValidationError) as err:
        parse_time_range("3,1")
    assert err.value.field == "time_range"


def test_tags_filter_needs_all_tags(db, sound):
    human = make_user(db, "hal")
    both = annotate(db, human, sound.id, 1, 1, tags=["snare", "hi-hat"])
    annotate(db, human, sound.id, 2, 1, tags=["snare"])
    with db.read() as session:
        page = AnnotationService(session).list(filters=AnnotationFilter(tags=("snare", "HI-HAT ")))
    assert [a.id for a in page.items] == [both.id]
    assert page.items[0].tag_names == ["hi-hat", "snare"]


def test_paging_by_page_number_and_low_id(db, sound):
    human = make_user(db, "hal")
    made = [annotate(db, human, sound.id, i, 0.5).id for i in range(7)]
    with db.read() as session:
        service = AnnotationService(session)
        first = service.list(PageRequest(page_size=3))
        assert [a.id for a in first.items] == made[:3] and first.total_count == 7
        assert first.next_query() == "page_size=3&page_number=2"
        third = service.list(PageRequest(page_size=3, page_number=3))
        assert [a.id for a in third.items] == made[6:] and third.next is None
        keyset = service.list(PageRequest(page_size=3, low_id=made[2]))
        assert [a.id for a in keyset.items] == made[3:6]
        assert keyset.next.low_id == made[5]
        assert "low_id=" + made[5] in keyset.next_query()
    with pytest.raises(ValidationError) as err:
        PageRequest(page_size=0)
    assert err.value.field == "page_size"


def test_only_owner_or_admin_edits_and_deletes(db, sound):
    hal, mario = make_user(db, "hal"), make_user(db, "mario")
    a = annotate(db, hal, sound.id, 1, 1)
    with db.write() as session:
        service = AnnotationService(session)
        with pytest.raises(PermissionDenied):
            service.update(mario, a.id, 1, text="mine now")
        with pytest.raises(PermissionDenied):
            service.delete(mario, a.id)
        edited = service.update(UserService(session).by_name("admin"), a.id, 1, tags=["snare"], text="fixed")
        assert edited.version == 2 and edited.tag_names == ["snare"]
    with db.write() as session:
        AnnotationService(session).delete(hal, a.id)
    with db.read() as session, pytest.raises(NotFound):
        AnnotationService(session).get(a.id)


def test_stale_edit_is_refused_not_lost(db, sound):
    hal = make_user(db, "hal")
    a = annotate(db, hal, sound.id, 1, 1)
    with db.write() as session:
        AnnotationService(session).update(hal, a.id, 1, start_seconds=1.5)
    with db.write() as session, pytest.raises(Conflict, match="changed by hal"):
        AnnotationService(session).update(hal, a.id, 1, start_seconds=3)
    with db.read() as session:
        assert AnnotationService(session).get(a.id).start_seconds == 1.5


def test_deleting_a_sound_deletes_its_annotations(local_earmark, sound):
    db = local_earmark.db
    hal = make_user(db, "hal")
    a = annotate(db, hal, sound.id, 1, 1)
    with db.write() as session:
        SoundService(session, local_earmark.storage).delete(UserService(session).by_name("vox"), sound.id)
    with db.read() as session, pytest.raises(NotFound):
        AnnotationService(session).get(a.id)


def test_end_time_instead_of_duration(db, sound):
    hal = make_user(db, "hal")
    a = annotate(db, hal, sound.id, 1.0, None, end_seconds=2.5)
    assert (a.start_seconds, a.duration_seconds) == (1.0, 1.5)
    with pytest.raises(ValidationError, match=r"The end \(1.000 s\) must come after the start \(2.000 s\).") as err:
        annotate(db, hal, sound.id, 2.0, None, end_seconds=1.0)
    assert err.value.field == "end_seconds"
    with db.write() as session:
        moved = AnnotationService(session).update(hal, a.id, 1, start_seconds=2.0, end_seconds=3.0)
    assert (moved.start_seconds, moved.duration_seconds, moved.version) == (2.0, 1.0, 2)


def test_create_many_checks_each_and_writes_all_or_nothing(db, sound):
    human = make_user(db, "hal")
    good = [{"start_seconds": 1.0, "duration_seconds": 0.5, "tags": ["speech"]},
            {"start_seconds": 3.0, "end_seconds": 4.0, "tags": ["speech"], "text": "hello"}]
    with pytest.raises(ValidationError) as err, db.write() as session:
        AnnotationService(session).create_many(human, sound.id, good + [{"start_seconds": 12.0, "duration_seconds": 1.0,
                                                                          "tags": ["speech"]}], source="bot:1")
    assert err.value.field == "duration_seconds"
    with db.read() as session:
        assert AnnotationService(session).of_sound(sound.id) == []
    with db.write() as session:
        assert AnnotationService(session).create_many(human, sound.id, good, source="bot:1") == 2
    with db.read() as session:
        made = AnnotationService(session).of_sound(sound.id)
        assert [(a.start_seconds, a.end_seconds, a.tag_names, a.text, a.source) for a in made] == [
            (1.0, 1.5, ["speech"], None, "bot:1"), (3.0, 4.0, ["speech"], "hello", "bot:1")]
        assert SoundService(session, None).get(sound.id).annotation_count == 2


@pytest.mark.parametrize("text,expected", [("1.5,3", (1.5, 3.0)), ("1.5-3", (1.5, 3.0)), (" 0 - .5 ", (0.0, 0.5)), ("2,2", (2.0, 2.0))])
def test_time_ranges_read_as_people_write_them(text, expected):
    assert parse_time_range(text) == expected


@pytest.mark.parametrize("text,message", [("a-b", "two numbers"), ("1.5", "two numbers"), ("3-1", "end at or after"), ("1,2,3", "two numbers")])
def test_bad_time_ranges_say_what_is_wrong(text, message):
    with pytest.raises(ValidationError, match=message):
        parse_time_range(text)
