from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import update

from core.catalogue.sounds import SoundFilter, SoundService, public_sound
from core.catalogue.stats import catalogue_stats
from core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from core.store.models import Sound
from core.store.paging import PageRequest
from tests.conftest import make_user


def create(earmark, user, title, **kw):
    with earmark.db.write() as session:
        return SoundService(session, earmark.storage).create_reference(
            user, title=title, duration_seconds=kw.pop("duration_seconds", 12.3), **kw)


def test_create_by_reference_in_the_seed_shape(local_earmark):
    vox = make_user(local_earmark.db, "vox", "dataset")
    sound = create(local_earmark, vox, "Abdication Address", audio_url="https://archive.org/a.ogg",
                   license_type="https://creativecommons.org/licenses/by/4.0", tags=["speech"])
    shaped = public_sound(sound)
    assert shaped["created_by"] == f"/users/{vox.id}" and shaped["tags"] == ["speech"]
    assert shaped["audio_url"] == "https://archive.org/a.ogg" and shaped["duration_seconds"] == 12.3


@pytest.mark.parametrize("kwargs, field", [({"title": " "}, "title"), ({"duration_seconds": 0}, "duration_seconds"),
                                           ({"duration_seconds": "x"}, "duration_seconds")])
def test_create_validation_names_the_field(local_earmark, kwargs, field):
    vox = make_user(local_earmark.db, "vox", "dataset")
    with pytest.raises(ValidationError) as err:
        create(local_earmark, vox, **({"title": "t"} | kwargs))
    assert err.value.field == field


def test_humans_cannot_create_sounds_and_paths_are_unique(local_earmark):
    hal = make_user(local_earmark.db, "hal")
    with pytest.raises(PermissionDenied):
        create(local_earmark, hal, "x")
    vox = make_user(local_earmark.db, "vox", "dataset")
    create(local_earmark, vox, "x", audio_url="https://e.com/1.wav")
    with pytest.raises(Conflict):
        create(local_earmark, vox, "x", audio_url="https://e.com/1.wav")


def test_list_filters_by_creator_dataset_and_all_tags(local_earmark):
    a, b = make_user(local_earmark.db, "a", "dataset"), make_user(local_earmark.db, "b", "dataset")
    s1 = create(local_earmark, a, "one", tags=["test", "speech"])
    create(local_earmark, a, "two", tags=["test"])
    s3 = create(local_earmark, b, "three", tags=["test", "speech"], dataset="other")
    with local_earmark.db.read() as session:
        service = SoundService(session, local_earmark.storage)
        assert [s.id for s in service.list(filters=SoundFilter(tags=("speech", "test"))).items] == [s1.id, s3.id]
        assert service.list(filters=SoundFilter(created_by=a.id)).total_count == 2
        assert [s.id for s in service.list(filters=SoundFilter(dataset="other")).items] == [s3.id]
        page = service.list(PageRequest(page_size=1), SoundFilter(tags=("test",)))
        assert page.total_count == 3 and page.next_query() == "tags=test&page_size=1&page_number=2"
        assert service.datasets() == [("a", 2), ("other", 1)]
        with pytest.raises(NotFound):
            service.get("nope")


def test_total_count_leaves_out_expired_sounds_under_every_filter(local_earmark):
    """The count is all matches less the expired ones (two index reads): it must agree with the listed rows."""
    a, b = make_user(local_earmark.db, "a", "dataset"), make_user(local_earmark.db, "b", "dataset")
    made = [create(local_earmark, a if n % 2 else b, f"s{n}", tags=["x"] if n % 3 else ["x", "y"], dataset=f"d{n % 2}")
            for n in range(12)]
    now = dt.datetime.now(dt.UTC)
    expiries = {made[0].id: now - dt.timedelta(days=1), made[1].id: now - dt.timedelta(seconds=1),
                made[2].id: now + dt.timedelta(days=1), made[3].id: now - dt.timedelta(hours=2)}
    with local_earmark.db.write() as session:
        for sound_id, when in expiries.items():
            session.execute(update(Sound).where(Sound.id == sound_id).values(expires_at=when))
    gone = {made[0].id, made[1].id, made[3].id}
    with local_earmark.db.read() as session:
        service = SoundService(session, local_earmark.storage)
        for filters in (SoundFilter(), SoundFilter(dataset="d0"), SoundFilter(dataset="d1"), SoundFilter(created_by=a.id),
                        SoundFilter(tags=("y",)), SoundFilter(dataset="d1", tags=("x",)), SoundFilter(dataset="none")):
            public = service.list_public(PageRequest(page_size=2), filters)
            every = service.list(PageRequest(page_size=100), filters)
            assert not gone & {s.id for s in every.items}
            assert public.total_count == every.total_count == len(every.items), filters
        assert service.list(PageRequest(page_size=100)).total_count == 9


def test_stats_count_what_is_there(local_earmark):
    vox = make_user(local_earmark.db, "vox", "dataset")
    create(local_earmark, vox, "one", duration_seconds=2.5)
    create(local_earmark, vox, "two", duration_seconds=1.5)
    with local_earmark.db.read() as session:
        stats = catalogue_stats(session)
    assert (stats.sounds, stats.total_duration_seconds, stats.datasets, stats.users, stats.admins) == (2, 4.0, 1, 2, 1)
    assert stats.users_by_type == {"human": 1, "dataset": 1, "featurebot": 0}
