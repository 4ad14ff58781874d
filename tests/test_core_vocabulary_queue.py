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


def suggest(db, sound_id, tags, start=2.0):
    """A featurebot's unreviewed suggestion on the sound (an analyzer's output, as core.jobs.queue writes it)."""
    bot = make_user(db, f"bot-{start:g}-{sound_id[-4:]}", "featurebot")
    with db.write() as session:
        return AnnotationService(session).create(bot, sound_id, start_seconds=start, duration_seconds=1, tags=tags,
                                                 source="onsets:abc")


def test_next_without_people_annotations_does_not_count_machine_suggestions(local_earmark, sounds):
    queue = Queue(SoundFilter(dataset="drums"))
    hal = make_user(local_earmark.db, "hal")
    for sound_id in sounds:  # an analyzer went over every sound
        suggest(local_earmark.db, sound_id, ["onset"])
    annotate(local_earmark.db, hal, sounds[1], ["kick"])  # a person annotated sounds[1] only
    annotate(local_earmark.db, hal, sounds[4], ["kick"])
    with local_earmark.db.read() as session:
        service = QueueService(session)
        assert service.next_unannotated(queue, sounds[0]) == sounds[2]
        assert service.next_unannotated(queue, sounds[3]) == sounds[0]  # sounds[4] is a person's: wraps around
        assert service.next_unannotated(queue, None) == sounds[0]
    for sound_id in (sounds[0], sounds[2], sounds[3]):
        annotate(local_earmark.db, hal, sound_id, ["snare"])
    with local_earmark.db.read() as session:
        assert QueueService(session).next_unannotated(queue, sounds[0]) is None


def test_next_without_people_annotations_is_one_not_exists_query(local_earmark, sounds):
    """Index-friendly at a million sounds: a NOT EXISTS on the sound's annotations with no source, no rows
    brought into Python."""
    from sqlalchemy import event

    statements = []
    engine = local_earmark.db.engine
    listener = lambda conn, cursor, statement, *rest: statements.append(statement)  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        with local_earmark.db.read() as session:
            QueueService(session).next_unannotated(Queue(SoundFilter(dataset="drums")), sounds[0])
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    query = " ".join(s for s in statements if "annotations" in s).upper()
    assert "NOT (EXISTS" in query and "SOURCE IS NULL" in query and "LIMIT" in query


def test_vocabulary_keeps_the_order_people_made_the_tags(local_earmark, sounds):
    hal = make_user(local_earmark.db, "hal")
    with local_earmark.db.write() as session:
        vocabulary = Vocabulary(session)
        for tag in ("speech", "noise", "music"):  # not alphabetical
            vocabulary.add(hal, "drums", tag)
    annotate(local_earmark.db, hal, sounds[0], ["laugh"])  # in use only, after the vocabulary's tags
    annotate(local_earmark.db, hal, sounds[1], ["cough", "applause"])  # first seen together: by name
    made = ["speech", "noise", "music", "laugh", "applause", "cough"]
    with local_earmark.db.read() as session:
        assert list(Vocabulary(session).colors("drums")) == made
    with local_earmark.db.write() as session:  # colouring or renaming a tag keeps its place
        vocabulary = Vocabulary(session)
        vocabulary.set_color(hal, "drums", "laugh", "#123456")
        vocabulary.set_color(hal, "drums", "speech", "#654321")
        vocabulary.rename(UserService(session).by_name("vox"), "drums", "noise", "din")
    for _ in range(2):  # the same order on every run
        with local_earmark.db.read() as session:
            colors = Vocabulary(session).colors("drums")
        assert list(colors) == ["speech", "din", "music", "laugh", "applause", "cough"]
        assert colors["laugh"] == "#123456" and colors["speech"] == "#654321"


def test_screen_colors_follow_the_vocabulary_order(local_earmark, sounds):
    from core.ui.screen import build_screen

    hal = make_user(local_earmark.db, "hal")
    with local_earmark.db.write() as session:
        Vocabulary(session).add(hal, "drums", "speech")
        Vocabulary(session).add(hal, "drums", "noise")
    annotate(local_earmark.db, hal, sounds[0], ["babble"])
    screen = build_screen(local_earmark.db, local_earmark.storage, sounds[0], Queue(SoundFilter(dataset="drums")),
                          view_start=0.0, view_length=None, figures=False)
    assert list(screen.colors) == ["speech", "noise", "babble"]


def test_a_queue_describes_itself_in_words(local_earmark, sounds):
    from core.catalogue.search import CatalogueQuery

    mario = make_user(local_earmark.db, "mario", "dataset")
    assert Queue(SoundFilter(dataset="drums", tags=("odd", "loud"))).describe() == "dataset drums, tags odd, loud"
    browse = Queue(catalogue=CatalogueQuery(dataset="demo", tags=("espeak",), annotated="no", sort="name"))
    assert browse.describe() == "Browse search: dataset demo, tag espeak, not annotated"
    full = CatalogueQuery(text=" kick ", created_by=mario.id, where=(("speaker", "ann"),), min_duration=2.0, max_duration=90.0)
    with local_earmark.db.read() as session:
        assert QueueService(session).describe(Queue(catalogue=full)) == (
            "Browse search: title or path containing 'kick', uploaded by mario, speaker = ann, from 2.0 s to 1 min 30 s long")
    assert Queue(catalogue=CatalogueQuery()).describe() == "Browse search: every sound"


def test_a_link_to_a_sound_elsewhere_opens_the_queue_of_its_dataset(local_earmark, sounds):
    with local_earmark.db.read() as session:
        service = QueueService(session)
        other = service.first(Queue(SoundFilter(dataset="speech")))
        drums = Queue(SoundFilter(dataset="drums"))
        assert service.around(sounds[2], drums) == drums  # in the queue: kept
        assert service.around(other, drums) == Queue(SoundFilter(dataset="speech"))
        assert service.position(service.around(other, drums), other) == (1, 1)
        odd = Queue(SoundFilter(dataset="drums", tags=("odd",)))
        assert service.around(sounds[2], odd) == drums  # left out by the queue's tags: its whole dataset
        assert service.around("no-such-sound", odd) == odd
