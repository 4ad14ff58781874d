"""The pages of a labelling team's work (issue 27), in AppTest: an annotator's work on the Annotate page (in order,
states, Done, a returned sound's comment, blind to the other annotator's regions), the Review page (lanes, merge
into gold, accept, return with a comment) and the Team page (progress, agreement). On SQLite files and
(EARMARK_TEST_DATABASE_URL) PostgreSQL; the page tests check what the page shows against what core/team returns."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import select

from core.annotations.service import AnnotationService
from core.catalogue.search import CatalogueQuery
from core.catalogue.sounds import SoundService
from core.ingest.demo import load_demo
from core.store.models import User
from core.team import queue, review
from core.team.assignments import AssignRequest, assign
from core.team.states import AssignmentState
from core.ui import team as team_ui
from core.ui.waveform import Asked
from tests.conftest import ADMIN_PASSWORD, app_test, login, make_user, shown

ANNOTATE = "pages/3_Annotate.py"


@dataclass
class Team:
    earmark: object
    sounds: list  # the demo's sounds in id order
    people: dict[str, User]


@pytest.fixture
def team(local_earmark):
    load_demo(local_earmark.db, local_earmark.storage, max_bytes=10**8)
    people = {name: make_user(local_earmark.db, name) for name in ("hal", "mario")}
    with local_earmark.db.write() as session:
        admin = session.scalar(select(User).where(User.user_name == "admin"))
        assign(session, admin, AssignRequest(CatalogueQuery(dataset="demo"), ("hal", "mario"), per_sound=2))
    with local_earmark.db.read() as session:
        sounds = SoundService(session, local_earmark.storage).list().items
    return Team(local_earmark, sounds, people)


def page_for(user: str, path: str = ANNOTATE, sound_id: str | None = None, password: str | None = None):
    at = app_test(path)
    if sound_id:
        at.query_params["sound"] = sound_id
    login(at, user, *([password] if password else []))
    at.run()
    assert not at.exception, at.exception
    return at


def state_of(team, user, sound_id):
    with team.earmark.db.read() as session:
        return AssignmentState(queue.work_on(session, team.people[user], sound_id).state)


def annotate(team, user, sound_id, start, end, tags=("kick",)):
    with team.earmark.db.write() as session:
        return AnnotationService(session).create(team.people[user], sound_id, start_seconds=start, end_seconds=end, tags=list(tags)).id


def my_table(at):
    """The "my work" table (a dataframe without selection has no key in AppTest: found by its columns)."""
    return next(d.value for d in at.dataframe if "state" in d.value.columns)


def expander_labels(at):
    return [shown(e.label) for e in at.expander]


def test_my_work_in_order_with_states_and_the_first_sound_in_progress(team):
    at = page_for("hal")
    first = team.sounds[0]
    assert f"{len(team.sounds)} sound(s) assigned to you: {len(team.sounds) - 1} to do · 1 in progress" in expander_labels(at)
    table = my_table(at)
    assert list(table["file"]) == [f"demo/{s.path}" for s in team.sounds]
    assert list(table["state"])[:2] == ["◐ in progress", "○ to do"]
    assert shown(at.subheader[0].value) == f"demo / {first.path}"
    assert at.caption[0].value.startswith(f"1 of {len(team.sounds)} in my work")
    assert "**Your work on this sound: ◐ in progress**" in [shown(m.value) for m in at.markdown]
    assert state_of(team, "hal", first.id) is AssignmentState.IN_PROGRESS
    assert state_of(team, "mario", first.id) is AssignmentState.TO_DO  # hal opening it is not mario's work


def test_done_submits_and_opens_the_next_sound(team):
    at = page_for("hal")
    at.button(key="team_done").click().run()
    assert not at.exception
    assert f"Submitted {team.sounds[0].path} for review." in [shown(s.value) for s in at.success]
    assert shown(at.subheader[0].value) == f"demo / {team.sounds[1].path}"
    assert state_of(team, "hal", team.sounds[0].id) is AssignmentState.SUBMITTED
    assert state_of(team, "hal", team.sounds[1].id) is AssignmentState.IN_PROGRESS
    table = my_table(at)
    assert list(table["state"])[:2] == ["◐ in progress", "○ to do"]  # in progress first, the submitted one at the end
    assert list(table["state"])[-1] == "● submitted"
    at.button(key="nav_next").click().run()  # "Next in my work"
    assert shown(at.subheader[0].value) == f"demo / {team.sounds[2].path}"
    at.query_params["sound"] = team.sounds[0].id
    at.run()
    assert "**Your work on this sound: ● submitted**" in [shown(m.value) for m in at.markdown]
    assert not [b for b in at.button if b.key == "team_done"]  # nothing left to submit


def test_an_annotator_sees_only_their_own_regions_until_review(team):
    sound = team.sounds[0].id
    annotate(team, "hal", sound, 0.1, 0.4, ("kick",))
    annotate(team, "mario", sound, 0.2, 0.5, ("snare",))
    at = page_for("hal", sound_id=sound)
    assert list(at.dataframe(key="annotations_table").value["by"]) == ["hal"]
    at = page_for("mario", sound_id=sound)
    assert list(at.dataframe(key="annotations_table").value["tags"]) == ["snare"]


def test_a_returned_sound_shows_the_reviewers_comment_and_comes_first(team):
    sound = team.sounds[3]
    annotate(team, "hal", sound.id, 0.1, 0.4)
    with team.earmark.db.write() as session:
        queue.submit(session, team.people["hal"], sound.id)
    with team.earmark.db.write() as session:
        admin = session.scalar(select(User).where(User.user_name == "admin"))
        review.return_work(session, admin, sound.id, "hal", "The second kick at 0.6 s is missing.")
    at = page_for("hal")
    assert shown(at.subheader[0].value) == f"demo / {sound.path}"  # returned work opens first
    assert [shown(w.value) for w in at.warning] == ["Returned by the reviewer: The second kick at 0.6 s is missing."]
    assert list(my_table(at)["reviewer's comment"])[0] == "The second kick at 0.6 s is missing."
    assert state_of(team, "hal", sound.id) is AssignmentState.IN_PROGRESS  # opened again


def test_a_deep_link_to_a_sound_not_assigned_is_refused_in_one_sentence(team, local_earmark):
    make_user(local_earmark.db, "ines")
    with local_earmark.db.write() as session:
        admin = session.scalar(select(User).where(User.user_name == "admin"))
        assign(session, admin, AssignRequest(CatalogueQuery(dataset="demo"), ("ines",), per_sound=1))  # nothing left
    at = page_for("ines", sound_id=team.sounds[0].id)
    assert [shown(e.value) for e in at.error] == [
        f"Sound {team.sounds[0].id} is not in your work: in the demo dataset you see the sounds assigned to you."]


def test_active_seconds_the_waveform_reports_are_added_to_that_sound_only(team):
    sound, other = team.sounds[0].id, team.sounds[1].id
    hal = team.people["hal"]
    team_ui.open_work(team.earmark, hal, sound)
    team_ui.add_time(team.earmark, hal, sound, Asked(active={"seconds": 30, "sound_id": sound}))
    team_ui.add_time(team.earmark, hal, sound, Asked(active={"seconds": 12, "sound_id": other}))  # the page moved on
    team_ui.add_time(team.earmark, hal, sound, Asked())
    with team.earmark.db.read() as session:
        assert queue.work_on(session, hal, sound).active_seconds == 30
        assert queue.work_on(session, hal, other).active_seconds == 0
    assert team_ui.done_asked(Asked(done={"seconds": 7, "sound_id": sound}), sound) == 7.0
    assert team_ui.done_asked(Asked(done={"seconds": 7, "sound_id": other}), sound) is None


def test_any_sound_leaves_my_work_for_the_dataset_queue(team):
    at = page_for("hal")
    at.segmented_control(key="annotate_source").set_value("Any sound").run()
    assert not at.exception
    assert at.caption[0].value.startswith("1 of ") and "in the queue" in at.caption[0].value
    assert not [e for e in at.expander if "assigned to you" in e.label]


def test_any_sound_offers_a_blind_annotator_only_the_sounds_they_may_see(team):
    """'Any sound' steps through the dataset's queue (core/catalogue/queue.py) with the blind rule of
    core/team/visibility.py: a sound taken back from hal is neither counted nor stepped onto."""
    from core.team.assignments import take_back

    hidden = team.sounds[1]
    with team.earmark.db.write() as session:
        admin = session.scalar(select(User).where(User.user_name == "admin"))
        assert take_back(session, admin, "demo", "hal", sound_ids=[hidden.id]) == 1
    at = page_for("hal")
    at.segmented_control(key="annotate_source").set_value("Any sound").run()
    assert shown(at.subheader[0].value) == f"demo / {team.sounds[0].path}"
    assert at.caption[0].value.startswith(f"1 of {len(team.sounds) - 1} in the queue")
    at.button(key="nav_next").click().run()
    assert not at.exception
    assert shown(at.subheader[0].value) == f"demo / {team.sounds[2].path}"  # over the hidden one
    assert at.caption[0].value.startswith(f"2 of {len(team.sounds) - 1} in the queue")
    at.button(key="nav_prev").click().run()
    assert shown(at.subheader[0].value) == f"demo / {team.sounds[0].path}"
    at.button(key="nav_unannotated").click().run()  # nobody annotated anything: the next one hal may see
    assert shown(at.subheader[0].value) == f"demo / {team.sounds[2].path}"
    assert not at.error


# -- the Review page -----------------------------------------------------------------------------------------

REVIEW, TEAM = "pages/7_Review.py", "pages/8_Team.py"


def submit(team, user, sound_id):
    with team.earmark.db.write() as session:
        queue.submit(session, team.people[user], sound_id)


def as_admin(path, sound_id=None):
    return page_for("admin", path, sound_id, password=ADMIN_PASSWORD)


def people_rows(at):
    table = next(d.value for d in at.dataframe if "annotator" in d.value.columns and "regions" in d.value.columns)
    return {row["annotator"]: (row["state"], row["regions"]) for row in table.to_dict("records")}


def test_review_takes_one_persons_set_into_gold_and_accepts(team):
    sound = team.sounds[0]
    annotate(team, "hal", sound.id, 0.1, 0.4, ("kick",))
    annotate(team, "mario", sound.id, 0.12, 0.42, ("kick",))
    annotate(team, "mario", sound.id, 0.6, 0.7, ("snare",))
    submit(team, "hal", sound.id)
    submit(team, "mario", sound.id)
    at = as_admin(REVIEW)
    assert "1 sound(s) waiting for review in demo" in expander_labels(at)
    assert shown(at.subheader[0].value) == f"demo / {sound.path}"
    assert people_rows(at) == {"hal": ("submitted", 1), "mario": ("submitted", 2), "Gold (what you accept)": ("", 0)}
    at.selectbox(key="review_take_who").set_value("mario")
    at.button(key="review_take").click().run()
    assert "2 region(s) of mario taken into the gold version." in [shown(s.value) for s in at.success]
    assert people_rows(at)["Gold (what you accept)"] == ("", 2)
    at.button(key="review_accept").click().run()
    assert not at.exception
    assert f"Accepted {sound.path}: its gold version (2 region(s)) is now the dataset's truth." in [shown(s.value) for s in at.success]
    assert (state_of(team, "hal", sound.id), state_of(team, "mario", sound.id)) == (AssignmentState.ACCEPTED,) * 2
    assert "0 sound(s) waiting for review in demo" in expander_labels(at)
    at = page_for("hal", sound_id=sound.id)  # accepted: everyone's regions are shown to its annotators
    assert sorted(at.dataframe(key="annotations_table").value["by"]) == ["admin", "admin", "hal", "mario", "mario"]


def test_review_returns_one_persons_work_with_a_comment_and_refuses_without_one(team):
    sound = team.sounds[1]
    annotate(team, "hal", sound.id, 0.1, 0.4)
    annotate(team, "mario", sound.id, 0.1, 0.4)
    submit(team, "hal", sound.id)
    submit(team, "mario", sound.id)
    at = as_admin(REVIEW, sound.id)
    at.button(key="review_accept").click().run()
    assert [shown(e.value) for e in at.error] == ["The sound has no gold version yet: take one person's regions or chosen "
                                                  "ones first (or accept it as empty)."]
    at.selectbox(key="review_return_who").set_value("hal")
    at.button(key="review_return").click().run()
    assert [shown(e.value) for e in at.error] == ["Say in a comment what the annotator should change."]
    at.text_area(key="review_comment").input("The kick starts at 0.05 s, not 0.1 s.")
    at.button(key="review_return").click().run()
    assert f"Returned {sound.path} to hal with your comment." in [shown(s.value) for s in at.success]
    assert people_rows(at)["hal"] == ("returned", 1) and people_rows(at)["mario"] == ("submitted", 1)
    assert at.text_area(key="review_comment").value == ""  # not offered again for the next person
    at = page_for("hal")
    assert shown(at.subheader[0].value) == f"demo / {sound.path}"
    assert [shown(w.value) for w in at.warning] == ["Returned by the reviewer: The kick starts at 0.05 s, not 0.1 s."]


def test_people_without_the_reviewer_permission_are_not_offered_review_or_team(team):
    from core.ui.shell import offered

    assert {e.label for e in offered(team.people["hal"])} >= {"Annotate"}
    assert not {e.label for e in offered(team.people["hal"])} & {"Review", "Team"}
    at = page_for("hal", REVIEW)
    assert [b.key for b in at.button] == ["logout_button"] and not at.dataframe
    assert [w.value for w in at.warning] == ["Your account may not review and accept this dataset's annotations."]


# -- the Team page: assign, progress, agreement ----------------------------------------------------------------

@pytest.fixture
def unassigned(local_earmark):
    load_demo(local_earmark.db, local_earmark.storage, max_bytes=10**8)
    for name in ("ana", "ben"):
        make_user(local_earmark.db, name)
    with local_earmark.db.read() as session:
        return SoundService(session, local_earmark.storage).list().items


def test_team_page_assigns_then_shows_progress_and_agreement(local_earmark, unassigned):
    from core.team import agreement

    at = as_admin(TEAM)
    assert at.selectbox(key="team_dataset").value == "demo"
    at.multiselect(key="team_to").set_value(["ana", "ben"])
    at.number_input(key="team_per_sound").set_value(2)
    at.button(key="team_assign").click().run()
    count = len(unassigned)
    assert f"Assigned {count} sounds ({count} to several people): {2 * count} assignments (ana {count}, ben {count})." in [
        shown(s.value) for s in at.success]
    progress_rows = at.dataframe(key="team_progress").value if any(d.key == "team_progress" for d in at.dataframe) else \
        next(d.value for d in at.dataframe if "annotator" in d.value.columns and "done" in d.value.columns)
    assert list(progress_rows["annotator"]) == ["(whole batch)", "ana", "ben"]
    assert list(progress_rows["assigned"]) == [2 * count, count, count] and list(progress_rows["done"]) == [0, 0, 0]

    with local_earmark.db.write() as session:
        users = {u.user_name: u for u in session.scalars(select(User))}
        service = AnnotationService(session)
        sound = unassigned[0].id
        service.create(users["ana"], sound, start_seconds=0.0, end_seconds=0.4, tags=["kick"])
        service.create(users["ben"], sound, start_seconds=0.1, end_seconds=0.5, tags=["kick"])  # IoU 0.6: matched
        service.create(users["ana"], sound, start_seconds=0.6, end_seconds=0.8, tags=["snare"])  # ben missed it
    at.run()
    assert not [d for d in at.dataframe if "segment F1" in d.value.columns]  # computed only when asked
    at.button(key="agreement_compute").click().run()
    with local_earmark.db.read() as session:
        expected = agreement.agreement(session, "demo")
    assert expected.overall.segment_f1 == pytest.approx(2 * 1 / 3)
    people_table = next(d.value for d in at.dataframe if "segment F1" in d.value.columns and "first" in d.value.columns)
    assert people_table.iloc[0]["segment F1"] == pytest.approx(expected.overall.segment_f1)
    assert list(people_table["first"]) == ["all pairs", "ana"] and list(people_table["second"]) == ["", "ben"]
    worst = next(d.value for d in at.dataframe if "review" in d.value.columns)
    assert list(worst["review"]) == [f"/Review?sound={sound}"]
    metric = {m.label: m.value for m in at.metric}
    assert metric["Segment F1 (all pairs)"] == "0.67" and metric["Mean start / end Δ"] == "100 / 100 ms"
    csv_lines = agreement_csv(expected).splitlines()
    assert csv_lines[0].startswith("scope,first,second,tag") and csv_lines[1].startswith("dataset,,,,1,2,1,1,0.66")


def test_team_page_computes_agreement_only_when_asked(local_earmark, unassigned, monkeypatch):
    """Agreement reads every region of the dataset: the page computes it when the button is pressed, and a later
    run (an unrelated widget changed) shows the same figures without computing them again."""
    from core.team import agreement

    calls = []
    real = agreement.agreement

    def counted(session, dataset, *args, **kwargs):
        calls.append(dataset)
        return real(session, dataset, *args, **kwargs)

    monkeypatch.setattr(agreement, "agreement", counted)
    with local_earmark.db.write() as session:
        users = {u.user_name: u for u in session.scalars(select(User))}
        assign(session, users["admin"], AssignRequest(CatalogueQuery(dataset="demo"), ("ana", "ben"), per_sound=2))
        for name, start in (("ana", 0.0), ("ben", 0.1)):
            AnnotationService(session).create(users[name], unassigned[0].id, start_seconds=start, end_seconds=start + 0.4, tags=["kick"])
    at = as_admin(TEAM)
    assert calls == [] and at.button(key="agreement_compute").label == "Compute agreement"
    at.button(key="agreement_compute").click().run()
    assert calls == ["demo"]
    assert {m.label: m.value for m in at.metric}["Segment F1 (all pairs)"] == "1.00"
    shown = next(d for d in at.dataframe if "WER" in d.value.columns).value  # the cells the grid draws
    assert list(shown["WER"]) == ["–", "–"] and list(shown["segment F1"]) == [1.0, 1.0]  # no transcripts: a dash
    at.number_input(key="team_seed").set_value(5).run()  # another tab's widget: a rerun
    at.multiselect(key="team_to").set_value(["ana"]).run()
    assert calls == ["demo"]  # not computed again
    assert {m.label: m.value for m in at.metric}["Segment F1 (all pairs)"] == "1.00"  # the figures still shown
    assert [c.value for c in at.caption if c.value.startswith("Figures as of ")]  # says when they were made
    at.button(key="agreement_compute").click().run()  # again: figures for the work done since
    assert calls == ["demo", "demo"]


def agreement_csv(result):
    from core.ui.agreement import csv_text

    return csv_text(result)


def test_team_page_refuses_people_who_may_not_assign(team):
    at = page_for("hal", TEAM)
    assert not [b for b in at.button if b.key == "team_assign"]
