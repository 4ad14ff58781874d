"""The Python client's team methods against the real app (`streamlit run app.py`) on loopback: a script assigns,
annotators submit, a reviewer takes regions into gold, accepts one sound and returns another, and reads progress.
The client's AssignmentState is core's."""

from __future__ import annotations

import pytest

from core.client import Client, Conflict, Forbidden
from earmark_client import models
from tests.conftest import E2E_ADMIN, E2E_PASSWORD


def test_the_clients_assignment_states_are_the_servers():
    from core.team.states import AssignmentState

    assert [(s.name, s.value) for s in models.AssignmentState] == [(s.name, s.value) for s in AssignmentState]


@pytest.fixture(scope="module")
def people(server):
    with Client(server, user=E2E_ADMIN, password=E2E_PASSWORD) as admin:
        admin.create_user("tvox", "vox-password-1", "dataset")
        for name in ("tana", "tbob"):
            admin.create_user(name, f"{name}-password-1", "human")
    clients = {name: Client(server, user=name, password=f"{name.removeprefix('t') if name == 'tvox' else name}-password-1")
               for name in ("tvox", "tana", "tbob")}
    yield clients
    for client in clients.values():
        client.close()


def test_a_script_assigns_submits_reviews_and_reads_progress(people):
    vox, ana, bob = people["tvox"], people["tana"], people["tbob"]
    sounds = [vox.create_sound(f"call {i}", 5.0, dataset="team-birds", audio_url=f"https://e.x/{i}.wav").id for i in range(4)]
    made = vox.assign("team-birds", ["tana", "tbob"], per_sound=2)
    assert (made.sounds, made.assignments, made.per_annotator) == (4, 8, {"tana": 4, "tbob": 4})
    with pytest.raises(Forbidden, match="may not assign"):
        ana.assign("team-birds", ["tbob"])
    work = ana.my_work()
    assert [w.sound_id for w in work] == sorted(sounds) and work[0].state is models.AssignmentState.TO_DO
    first, second = sorted(sounds)[:2]
    assert ana.open_work(first).state is models.AssignmentState.IN_PROGRESS
    assert ana.add_time(first, 12) == 12.0
    ana.annotate(first, start=0.5, end=1.5, tags=["call"])
    bob.annotate(first, start=0.6, end=1.4, tags=["call"])
    bob.annotate(first, start=3.0, end=4.0, tags=["song"])
    assert [a.start_seconds for a in ana.annotations(first)] == [0.5]  # blind: not bob's
    for client in (ana, bob):
        client.submit(first)
    ana.submit(second)
    with pytest.raises(Conflict, match="already submitted"):
        ana.submit(first)
    assert [(r.sound_id, r.submitted) for r in vox.reviews()] == [(first, 2), (second, 1)]
    lanes = vox.review(first)
    assert {name: len(items) for name, items in lanes.people.items()} == {"tana": 1, "tbob": 2}
    gold = vox.take(first, annotator="tana") + vox.take(first, annotation_ids=[a.id for a in lanes.people["tbob"] if a.tags == ["song"]])
    assert sorted((a.start_seconds, a.is_gold) for a in gold) == [(0.5, True), (3.0, True)]
    vox.update_annotation(gold[0], end_seconds=1.45)
    assert vox.accept_sound(first) == 2
    with pytest.raises(Conflict, match="already accepted by tvox"):
        vox.accept_sound(first)
    back = vox.return_work(second, "tana", "Mark the second call too.")
    assert back.state is models.AssignmentState.RETURNED
    mine = ana.my_work()
    assert (mine[0].sound_id, mine[0].state, mine[0].comment) == (second, models.AssignmentState.RETURNED, "Mark the second call too.")
    assert sorted(a.start_seconds for a in ana.annotations(first)) == [0.5, 0.5, 0.6, 3.0, 3.0]  # accepted: all shown
    rows = vox.progress("team-birds")
    tana = next(r for r in rows if r.annotator == "tana")
    assert (tana.done, tana.accepted, tana.returned_ever, tana.returned_share) == (1, 1, 1, 0.5)
    assert vox.take_back("team-birds", "tbob") == 3 and vox.move_work("team-birds", "tana", "tbob") == 2
