"""A labelling team's work (core/team/): assigning with a filter, N people per sound for all or a seeded share,
balance, idempotence, moving and taking back; each annotator's queue, Done and active time; blind visibility in
the catalogue and the annotation reads; review into a gold version, accept and return; progress. On SQLite files and
(EARMARK_TEST_DATABASE_URL) PostgreSQL."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

from core.annotations.service import AnnotationFilter, AnnotationService
from core.catalogue.search import CatalogueQuery, facets, search
from core.catalogue.sounds import SoundService
from core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from core.store.models import Annotation, Assignment, AssignmentBatch, Sound, User
from core.team import progress, queue, review
from core.team.assignments import AssignRequest, assign, move, take_back
from core.team.states import AssignmentState
from core.team.visibility import sees_sound
from tests.conftest import make_user


@dataclass
class Team:
    db: object
    owner: User
    admin: User
    people: dict[str, User]
    sounds: list[str]


def add_sounds(earmark, owner, dataset, count, tagged_every=0, start=0):
    made = []
    with earmark.db.write() as session:
        service = SoundService(session, earmark.storage)
        for i in range(start, start + count):
            tags = ["crow"] if tagged_every and i % tagged_every == 0 else ["wren"]
            made.append(service.create_reference(owner, title=f"s{i}", duration_seconds=10.0, audio_url=f"https://e.x/{dataset}/{i}.wav",
                                                 tags=tags, dataset=dataset).id)
    return made


@pytest.fixture
def team(local_earmark):
    db = local_earmark.db
    owner = make_user(db, "vox", "dataset")
    people = {name: make_user(db, name) for name in ("alice", "bob", "carol")}
    with db.read() as session:
        admin = session.scalar(select(User).where(User.user_name == "admin"))
    return Team(db, owner, admin, people, add_sounds(local_earmark, owner, "birds", 20, tagged_every=4))


def hand_out(team, names=("alice", "bob"), actor=None, **kw):
    with team.db.write() as session:
        return assign(session, actor or team.owner, AssignRequest(CatalogueQuery(dataset="birds", **kw.pop("query", {})), tuple(names), **kw))


def annotate(db, user, sound_id, start, end, tags=("call",), **kw):
    with db.write() as session:
        return AnnotationService(session).create(user, sound_id, start_seconds=start, end_seconds=end, tags=list(tags), **kw)


def assignments(db):
    with db.read() as session:
        return list(session.scalars(select(Assignment)))


def test_double_annotation_of_every_sound_is_balanced_and_idempotent(team):
    summary = hand_out(team, per_sound=2, names=("alice", "bob", "carol"))
    assert (summary.sounds, summary.assignments, summary.multiple) == (20, 40, 20)
    rows = assignments(team.db)
    assert Counter(Counter(r.sound_id for r in rows).values()) == {2: 20}  # two different people on each sound
    per_person = Counter(r.annotator_id for r in rows)
    assert sorted(per_person.values()) == [13, 13, 14]  # 40 over 3, give or take one
    assert all(r.state == AssignmentState.TO_DO for r in rows)
    assert "40 assignments" in summary.line() and "alice" in summary.line()
    again = hand_out(team, per_sound=2, names=("alice", "bob", "carol"))
    assert (again.sounds, again.assignments, again.batch_id) == (0, 0, None)
    assert len(assignments(team.db)) == 40
    with team.db.read() as session:
        assert session.scalar(select(func.count()).select_from(AssignmentBatch)) == 1


def test_a_seeded_share_gets_two_people_and_the_rest_one(team, local_earmark):
    add_sounds(local_earmark, team.owner, "birds", 180, start=20)
    summary = hand_out(team, per_sound=2, share=0.1, seed=7)
    assert (summary.sounds, summary.multiple, summary.assignments) == (200, 20, 220)
    doubled = {s for s, n in Counter(r.sound_id for r in assignments(team.db)).items() if n == 2}
    assert len(doubled) == 20
    assert sorted(Counter(r.annotator_id for r in assignments(team.db)).values()) == [110, 110]
    # the same seed picks the same sounds; another seed others
    with team.db.write() as session:
        session.execute(Assignment.__table__.delete())
        session.execute(AssignmentBatch.__table__.delete())
    hand_out(team, per_sound=2, share=0.1, seed=7)
    assert {s for s, n in Counter(r.sound_id for r in assignments(team.db)).items() if n == 2} == doubled
    with team.db.write() as session:
        session.execute(Assignment.__table__.delete())
        session.execute(AssignmentBatch.__table__.delete())
    hand_out(team, per_sound=2, share=0.1, seed=8)
    other = {s for s, n in Counter(r.sound_id for r in assignments(team.db)).items() if n == 2}
    assert len(other) == 20 and other != doubled


def test_the_database_deals_as_a_plain_round_robin_would(team, local_earmark):
    """core/team/assignments.py deals in one INSERT ... SELECT; here the plain reference: the share's sounds are the
    first round(share x n) in the seed's order (the sample key's affine map, as _place says), then the sounds in id
    order each go to the next ``count`` people round the table. The ids the database made are new ids' form:
    30 hex digits, a time prefix of now, all different."""
    import hashlib
    import time

    from core.store.ids import id_time_micros
    from core.store.models import SAMPLE_KEY_MODULUS, Sound

    add_sounds(local_earmark, team.owner, "birds", 37, start=20)
    names = ("alice", "bob", "carol")
    before = time.time_ns() // 1000
    summary = hand_out(team, names=names, per_sound=2, share=0.3, seed=4)
    with team.db.read() as session:
        keys = dict(session.execute(select(Sound.id, Sound.sample_key).where(Sound.dataset == "birds")).all())
    digest = hashlib.sha256(b"earmark-assign:4").digest()
    a = 1 + int.from_bytes(digest[:8], "big") % (SAMPLE_KEY_MODULUS - 1)
    b = int.from_bytes(digest[8:16], "big") % SAMPLE_KEY_MODULUS
    seeded = sorted(keys, key=lambda sound: ((keys[sound] * a + b) % SAMPLE_KEY_MODULUS, sound))
    doubled = set(seeded[:round(0.3 * len(keys))])
    expected, turn = set(), 0
    for sound in sorted(keys):
        count = 2 if sound in doubled else 1
        expected |= {(sound, names[(turn + k) % 3]) for k in range(count)}
        turn = (turn + count) % 3
    by_id = {u.id: name for name, u in team.people.items()}
    rows = assignments(team.db)
    assert {(r.sound_id, by_id[r.annotator_id]) for r in rows} == expected
    assert (summary.sounds, summary.multiple, summary.assignments) == (57, 17, 74)
    assert summary.per_annotator == dict(Counter(name for _sound, name in expected))
    assert len({r.id for r in rows}) == 74 and all(len(r.id) == 30 and int(r.id, 16) >= 0 for r in rows)
    assert all(before <= id_time_micros(r.id) <= time.time_ns() // 1000 for r in rows)


def test_the_filter_chooses_the_sounds(team):
    summary = hand_out(team, query={"tags": ("crow",)})
    assert summary.sounds == 5  # every fourth sound is tagged crow
    later = hand_out(team)  # the rest of the dataset; the crows keep their annotator
    assert later.sounds == 15 and len(assignments(team.db)) == 20


@pytest.mark.parametrize("kw, field", [({"per_sound": 3}, "per_sound"), ({"per_sound": 0}, "per_sound"),
                                       ({"share": 0}, "share"), ({"share": 1.5}, "share"), ({"names": ()}, "to")])
def test_bad_requests_name_the_field(team, kw, field):
    with pytest.raises(ValidationError) as err:
        hand_out(team, **kw)
    assert err.value.field == field


def test_unknown_people_and_datasets_are_named(team):
    with pytest.raises(NotFound, match="No user named 'zed'"):
        hand_out(team, names=("alice", "zed"))
    with team.db.write() as session, pytest.raises(NotFound, match="No dataset 'owls'"):
        assign(session, team.owner, AssignRequest(CatalogueQuery(dataset="owls"), ("alice",)))


def test_only_the_datasets_uploader_or_an_admin_assigns(team, local_earmark):
    other = make_user(team.db, "mia", "dataset")
    with pytest.raises(PermissionDenied, match="only if it is your own"):
        hand_out(team, actor=other)
    with pytest.raises(PermissionDenied, match="As a human user you may not assign"):
        hand_out(team, actor=team.people["carol"])
    assert hand_out(team, actor=team.admin).sounds == 20


def test_a_dataset_two_people_uploaded_is_neither_ones_own(team, local_earmark):
    """Owners are found two at a time by index seeks (core/team/visibility.py): an uploader whose id sorts before or
    after the other's is refused alike, an administrator is not."""
    from core.team.visibility import owners

    other = make_user(team.db, "mia", "dataset")
    add_sounds(local_earmark, other, "birds", 1, start=100)
    with team.db.read() as session:
        assert sorted(owners(session, "birds")) == sorted([team.owner.id, other.id])
        assert owners(session, "birds", at_most=1) == [min(team.owner.id, other.id)]
        assert owners(session, "owls") == []
    for actor in (team.owner, other):
        with pytest.raises(PermissionDenied, match="only if it is your own"):
            hand_out(team, actor=actor)
    assert hand_out(team, actor=team.admin).sounds == 21


def test_moving_and_taking_back_unsubmitted_work(team):
    hand_out(team)
    alices = [r.sound_id for r in assignments(team.db) if r.annotator_id == team.people["alice"].id]
    with team.db.write() as session:
        queue.submit(session, team.people["alice"], alices[0])
        queue.open_sound(session, team.people["alice"], alices[1])
        queue.add_time(session, team.people["alice"], alices[1], 30)
    with team.db.write() as session:
        assert move(session, team.owner, "birds", "alice", "carol") == 9  # the submitted one stays hers
    rows = {(r.sound_id, r.annotator_id): r for r in assignments(team.db)}
    assert rows[(alices[1], team.people["carol"].id)].state == AssignmentState.TO_DO
    assert rows[(alices[1], team.people["carol"].id)].active_seconds == 0
    assert rows[(alices[0], team.people["alice"].id)].state == AssignmentState.SUBMITTED
    with team.db.write() as session:
        assert take_back(session, team.owner, "birds", "carol", sound_ids=alices[2:4]) == 2
        assert take_back(session, team.owner, "birds", "carol") == 7
    assert Counter(r.annotator_id for r in assignments(team.db)) == {team.people["bob"].id: 10, team.people["alice"].id: 1}
    with team.db.write() as session, pytest.raises(PermissionDenied):
        move(session, team.people["bob"], "birds", "alice", "bob")


def test_taking_everything_back_leaves_the_dataset_open_again(team):
    hand_out(team)
    with team.db.write() as session:
        take_back(session, team.owner, "birds", "alice")
        take_back(session, team.owner, "birds", "bob")
    with team.db.read() as session:
        assert session.scalar(select(func.count()).select_from(AssignmentBatch)) == 0
        assert len(search(session, CatalogueQuery(dataset="birds"), team.people["carol"]).items) == 20


def test_my_work_comes_in_order_and_done_submits_once(team):
    hand_out(team)
    alice = team.people["alice"]
    with team.db.read() as session:
        work = queue.my_work(session, alice)
    assert len(work) == 10 and {w.state for w in work} == {AssignmentState.TO_DO}
    first, second = work[0].sound_id, work[5].sound_id
    with team.db.write() as session:
        assert queue.open_sound(session, alice, second).state == AssignmentState.IN_PROGRESS
        assert queue.add_time(session, alice, second, 12.5) == 12.5
        assert queue.add_time(session, alice, second, 4000) == queue.MAX_REPORT_SECONDS  # one report is capped
        queue.submit(session, alice, first)
    with team.db.write() as session, pytest.raises(Conflict, match="already submitted"):
        queue.submit(session, alice, first)
    with team.db.write() as session:
        review.return_work(session, team.owner, first, "alice", "The second call is missing.")
    with team.db.read() as session:
        work = queue.my_work(session, alice)
        assert [w.state for w in work[:2]] == [AssignmentState.RETURNED, AssignmentState.IN_PROGRESS]
        assert work[0].comment == "The second call is missing." and work[1].active_seconds == 12.5 + 300
        assert queue.work_on(session, alice, first).comment == "The second call is missing."
    with team.db.write() as session:  # working on it again, then Done
        assert queue.open_sound(session, alice, first).state == AssignmentState.IN_PROGRESS
        assert queue.submit(session, alice, first).state == AssignmentState.SUBMITTED
    with team.db.write() as session:
        with pytest.raises(NotFound, match="not assigned to alice"):
            queue.submit(session, alice, [s for s in team.sounds if s not in {w.sound_id for w in work}][0])
        with pytest.raises(ValidationError):
            queue.add_time(session, alice, first, -1)


def test_seconds_sent_as_the_page_leaves_count_after_done_but_not_after_accept(team):
    """The waveform sends the active seconds left on a sound when the page leaves it (frontend/src/activity.ts
    ``leave``), which may arrive just after Done: submitted work still counts them, by the same capped SQL increment;
    accepted work does not."""
    hand_out(team)
    alice = team.people["alice"]
    with team.db.read() as session:
        sound = queue.my_work(session, alice)[0].sound_id
    with team.db.write() as session:
        queue.open_sound(session, alice, sound)
        assert queue.add_time(session, alice, sound, 30) == 30
        queue.submit(session, alice, sound)
    with team.db.write() as session:  # the last 12.4 s, sent as the next sound opened
        assert queue.add_time(session, alice, sound, 12.4) == 12.4
        assert queue.add_time(session, alice, sound, 4000) == queue.MAX_REPORT_SECONDS
    with team.db.write() as session:
        review.accept(session, team.owner, sound, allow_empty=True)
    with team.db.write() as session:
        assert queue.add_time(session, alice, sound, 5) == 0
    with team.db.read() as session:
        assert queue.work_on(session, alice, sound).active_seconds == pytest.approx(30 + 12.4 + queue.MAX_REPORT_SECONDS)


def test_blind_annotators_see_only_their_sounds_and_their_own_regions(team, local_earmark):
    alice, bob, carol = team.people["alice"], team.people["bob"], team.people["carol"]
    hand_out(team, per_sound=2)  # alice and bob on every sound
    other = add_sounds(local_earmark, team.owner, "frogs", 3)  # a dataset without assignments
    shared = team.sounds[0]
    bot = make_user(team.db, "vad", "featurebot")
    annotate(team.db, alice, shared, 0, 1)
    annotate(team.db, bob, shared, 2, 3)
    annotate(team.db, bot, shared, 4, 5, source="vad:{}")
    annotate(team.db, bob, other[0], 0, 1)

    def seen(user, sound_id):
        with team.db.read() as session:
            return sorted(a.start_seconds for a in AnnotationService(session).of_sound(sound_id, viewer=user))

    assert seen(alice, shared) == [0, 4]  # her own and the machine's, not bob's
    assert seen(bob, shared) == [2, 4]
    assert seen(team.owner, shared) == [0, 2, 4] and seen(team.admin, shared) == [0, 2, 4]
    assert seen(alice, other[0]) == [0]  # elsewhere everything is as before
    assert seen(None, shared) == [0, 2, 4]
    with team.db.read() as session:
        page = AnnotationService(session).list_public(*_all(AnnotationFilter(viewer=alice)))
        assert sorted(a["start_seconds"] for a in page.items) == [0, 0, 4]
        assert len(search(session, CatalogueQuery(), alice).items) == 23  # 20 assigned + 3 frogs
        assert len(search(session, CatalogueQuery(dataset="birds"), carol).items) == 0  # nothing assigned to carol
        assert dict(facets(session, CatalogueQuery(), carol)["dataset"]) == {"frogs": 3}
        assert len(search(session, CatalogueQuery(dataset="birds"), team.owner).items) == 20
        sound = SoundService(session, local_earmark.storage).get(shared)
        assert sees_sound(session, alice, sound) and not sees_sound(session, carol, sound)
    # once accepted, everyone's regions show
    with team.db.write() as session:
        queue.submit(session, alice, shared)
        review.take_set(session, team.owner, shared, "alice")
        review.accept(session, team.owner, shared)
    assert seen(alice, shared) == [0, 0, 2, 4]  # hers, the gold copy, bob's, the machine's


def test_a_blind_annotator_imports_rows_only_onto_her_own_sounds(team):
    """Annotation imports (core/annotations/imports/service.py) write as AnnotationService.create does: alice's rows
    on a sound not assigned to her are named as on a sound that is not there, the rest go in."""
    from core.annotations.imports.detect import ImportFile
    from core.annotations.imports.service import import_annotations

    alice = team.people["alice"]
    hand_out(team, names=("alice", "bob"))
    with team.db.read() as session:
        mine = queue.my_work(session, alice)[0].sound_id
    theirs = next(r.sound_id for r in assignments(team.db) if r.annotator_id == team.people["bob"].id)
    table = f"file,start,end,label,text\n{mine},0,1,call,\n{theirs},0,1,call,\n{mine},2,3,song,\n".encode()
    report = import_annotations(team.db, alice, "birds", [ImportFile("mine.csv", table)])
    assert report.imported == 2
    assert [str(p) for p in report.problems] == [
        f"mine.csv, line 3: no sound of this dataset is {theirs!r} (matched by sound id, path or file name)."]
    with team.db.read() as session:
        assert AnnotationService(session).of_sound(theirs) == []
        assert len(AnnotationService(session).of_sound(mine)) == 2


def _all(filters):
    from core.store.paging import PageRequest

    return PageRequest(page_size=100), filters


def test_a_batch_may_hide_suggestions_or_not_be_blind(team):
    alice, bob = team.people["alice"], team.people["bob"]
    hand_out(team, per_sound=2, hide_suggestions=True, query={"tags": ("crow",)})
    hand_out(team, per_sound=2, blind=False)
    crow, wren = team.sounds[0], team.sounds[1]
    bot = make_user(team.db, "vad", "featurebot")
    for sound in (crow, wren):
        annotate(team.db, bob, sound, 2, 3)
        annotate(team.db, bot, sound, 4, 5, source="vad:{}")
    with team.db.read() as session:
        service = AnnotationService(session)
        assert [a.start_seconds for a in service.of_sound(crow, viewer=alice)] == []
        assert [a.start_seconds for a in service.of_sound(wren, viewer=alice)] == [2, 4]


def test_review_lists_lanes_makes_gold_and_accepts(team):
    alice, bob = team.people["alice"], team.people["bob"]
    hand_out(team, per_sound=2)
    sound = team.sounds[0]
    a1 = annotate(team.db, alice, sound, 0, 1, tags=("call",))
    annotate(team.db, alice, sound, 2, 3, tags=("song",))
    b1 = annotate(team.db, bob, sound, 5, 6, tags=("call",))
    with team.db.read() as session:
        assert review.to_review(session, team.owner) == []
    with team.db.write() as session:
        queue.submit(session, alice, sound)
    with team.db.read() as session:
        waiting = review.to_review(session, team.owner)
        assert [(w.sound_id, w.submitted, w.assigned) for w in waiting] == [(sound, 1, 2)]
        assert review.to_review(session, team.admin) == waiting
        lanes = review.lanes(session, team.owner, sound)
        assert {name: [a.start_seconds for a in items] for name, items in lanes.people.items()} == {"alice": [0, 2], "bob": [5]}
        assert lanes.states == {"alice": AssignmentState.SUBMITTED, "bob": AssignmentState.TO_DO}
    with team.db.write() as session:
        taken = review.take_regions(session, team.owner, sound, [a1.id, b1.id])
        assert [(a.start_seconds, a.is_gold, a.created_by) for a in taken] == [(0, True, team.owner.id), (5, True, team.owner.id)]
        assert review.take_regions(session, team.owner, sound, [a1.id]) == []  # taken already
    with team.db.read() as session:  # the gold copies count on the sound (AnnotationService.add_to_count)
        assert session.get(Sound, sound).annotation_count == 3 + 2
    with team.db.write() as session:  # the reviewer edits the gold copy with the normal editor
        AnnotationService(session).update(team.owner, taken[1].id, 1, end_seconds=6.5)
    with team.db.write() as session:
        assert review.accept(session, team.owner, sound) == 2
    with team.db.read() as session:
        states = {r.annotator_id: r.state for r in session.scalars(select(Assignment).where(Assignment.sound_id == sound))}
        assert set(states.values()) == {AssignmentState.ACCEPTED}
        gold = session.scalars(select(Annotation).where(Annotation.sound_id == sound, Annotation.is_gold.is_(True))).all()
        assert sorted((a.start_seconds, a.end_seconds) for a in gold) == [(0, 1), (5, 6.5)]
        own = session.scalars(select(Annotation).where(Annotation.sound_id == sound, Annotation.is_gold.is_(False))).all()
        assert sorted(a.start_seconds for a in own) == [0, 2, 5]  # the annotators' rows are untouched
        assert review.to_review(session, team.owner) == []
    with team.db.write() as session, pytest.raises(Conflict, match="already accepted by vox"):
        review.accept(session, team.admin, sound)


def test_review_refusals(team):
    alice = team.people["alice"]
    hand_out(team)
    sound = next(r.sound_id for r in assignments(team.db) if r.annotator_id == alice.id)
    annotate(team.db, alice, sound, 0, 1)
    with team.db.write() as session:
        with pytest.raises(PermissionDenied, match="As a human user you may not review"):
            review.lanes(session, alice, sound)
        with pytest.raises(Conflict, match="nothing to accept"):
            review.take_set(session, team.owner, sound, "alice")
            review.accept(session, team.owner, sound)
    with team.db.write() as session, pytest.raises(Conflict, match="not submitted: it cannot be returned"):
        review.return_work(session, team.owner, sound, "alice", "why")
    with team.db.write() as session:
        queue.submit(session, alice, sound)
    with team.db.write() as session:
        with pytest.raises(ValidationError) as err:
            review.return_work(session, team.owner, sound, "alice", "  ")
        assert err.value.field == "comment"
    other = team.sounds[-1] if team.sounds[-1] != sound else team.sounds[-2]
    with team.db.write() as session, pytest.raises(Conflict, match="no gold version"):
        review.accept(session, team.owner, other)


def test_progress_per_batch_and_annotator(team):
    alice, bob = team.people["alice"], team.people["bob"]
    hand_out(team)
    mine = {name: [r.sound_id for r in assignments(team.db) if r.annotator_id == team.people[name].id] for name in ("alice", "bob")}
    with team.db.write() as session:
        for sound in mine["alice"][:4]:
            queue.open_sound(session, alice, sound)
            queue.add_time(session, alice, sound, 90)
            queue.submit(session, alice, sound)
        queue.add_time(session, bob, mine["bob"][0], 60)
    with team.db.write() as session:
        review.return_work(session, team.owner, mine["alice"][0], "alice", "redo")
    with team.db.read() as session:
        rows = progress.progress(session, team.owner, "birds")
    total, a, b = rows
    assert (total.annotator, a.annotator, b.annotator) == (None, "alice", "bob")
    assert (a.assigned, a.done, a.returned_ever) == (10, 3, 1)
    assert a.audio_hours_done == pytest.approx(30 / 3600) and a.active_hours == pytest.approx(360 / 3600)
    assert a.sounds_per_hour == pytest.approx(3 / 0.1) and a.audio_hours_per_hour == pytest.approx((30 / 3600) / 0.1)
    assert a.returned_share == pytest.approx(1 / 4)  # of the four she submitted, one came back
    assert (b.done, b.sounds_per_hour, b.returned_share) == (0, 0, None)
    assert (total.assigned, total.done, total.active_hours) == (20, 3, pytest.approx(420 / 3600))
    with team.db.read() as session, pytest.raises(PermissionDenied):
        progress.progress(session, alice, "birds")
