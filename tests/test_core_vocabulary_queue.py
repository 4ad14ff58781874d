"""The tag vocabulary (colours, rename) and the annotation queue (order, position, next without annotations)."""

from __future__ import annotations

import pytest

from core.accounts.users import UserService
from core.annotations.service import AnnotationService
from core.catalogue.queue import Queue, QueueService
from core.catalogue.sounds import SoundFilter, SoundService
from core.catalogue.vocabulary import Vocabulary, default_color
from core.errors import Conflict, PermissionDenied, ValidationError
from tests.conftest import make_user


@pytest.fixture
def sounds(local_earmark):
    vox = make_user(local_earmark.db, "vox", "dataset")
    with local_earmark.db.write() as session:
        service = SoundService(session, local_earmark.storage)
        made = [service.create_reference(vox, title=f"s{i}", duration_seconds=10, audio_url=f"https://e/{i}.wav",
                                         dataset="drums", tags=["odd"] if i % 2 else []).id for i in range(5)]
        service.create_reference(vox, title="other", duration_seconds=10, dataset="speech")
    return made


def annotate(db, user, sound_id, tags):
    with db.write() as session:
        return AnnotationService(session).create(user, sound_id, start_seconds=1, duration_seconds=1, tags=tags)


def test_vocabulary_offers_defined_and_used_tags_with_stable_colours(local_earmark, sounds):
    hal = make_user(local_earmark.db, "hal")
    annotate(local_earmark.db, hal, sounds[0], ["kick"])
    with local_earmark.db.write() as session:
        Vocabulary(session).add(hal, "drums", "Snare", "#112233")
        with pytest.raises(Conflict):
            Vocabulary(session).add(hal, "drums", "snare")
        with pytest.raises(ValidationError) as err:
            Vocabulary(session).add(hal, "drums", "hat", "red")
        assert err.value.field == "color"
    with local_earmark.db.read() as session:
        assert Vocabulary(session).colors("drums") == {"kick": default_color("kick"), "snare": "#112233"}
        assert Vocabulary(session).colors("speech") == {}


def test_rename_rewrites_annotations_and_bumps_their_versions(local_earmark, sounds):
    hal = make_user(local_earmark.db, "hal")
    a = annotate(local_earmark.db, hal, sounds[0], ["bd", "loud"])
    b = annotate(local_earmark.db, hal, sounds[1], ["bd", "kick"])
    with local_earmark.db.write() as session, pytest.raises(PermissionDenied):
        Vocabulary(session).rename(hal, "drums", "bd", "kick")
    with local_earmark.db.write() as session:
        assert Vocabulary(session).rename(UserService(session).by_name("vox"), "drums", "bd", "kick") == 2
    with local_earmark.db.read() as session:
        service = AnnotationService(session)
        assert service.get(a.id).tag_names == ["kick", "loud"] and service.get(a.id).version == 2
        assert service.get(b.id).tag_names == ["kick"]
        assert "bd" not in Vocabulary(session).colors("drums")


def test_queue_positions_and_moves(local_earmark, sounds):
    queue = Queue(SoundFilter(dataset="drums"))
    hal = make_user(local_earmark.db, "hal")
    annotate(local_earmark.db, hal, sounds[1], ["x"])
    with local_earmark.db.read() as session:
        service = QueueService(session)
        assert service.first(queue) == sounds[0]
        assert service.position(queue, sounds[2]) == (3, 5)
        assert service.next(queue, sounds[2]) == sounds[3] and service.previous(queue, sounds[2]) == sounds[1]
        assert service.next(queue, sounds[4]) is None and service.previous(queue, sounds[0]) is None
        assert service.next_unannotated(queue, sounds[0]) == sounds[2]  # sounds[1] has an annotation
        assert service.next_unannotated(queue, sounds[4]) == sounds[0]  # wraps around
        odd = Queue(SoundFilter(dataset="drums", tags=("odd",)))
        assert service.position(odd, sounds[3]) == (2, 2) and service.position(odd, sounds[2]) == (0, 2)
        chosen = Queue(ids=(sounds[4], sounds[0]))
        assert service.first(chosen) == sounds[0] and service.position(chosen, sounds[4]) == (2, 2)
        assert chosen.describe() == "2 chosen sounds" and queue.describe() == "dataset drums"
