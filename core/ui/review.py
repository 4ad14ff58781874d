"""The Review page's parts (issue 27): the submitted sounds a reviewer may review, one sound's lanes on the waveform
in review mode (each annotator's regions, the gold version, disagreement marked: core/ui/waveform), taking regions
into gold, accepting, and returning one person's work with a comment. The rules are core/team/review.py's; this
module reads and shows them, and turns their errors into messages (core/ui/shell.py ``run``).

May import: core.team, core.accounts, core.store, core.ui and streamlit.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import streamlit as st
from sqlalchemy import select

from core.context import Earmark
from core.store.models import Annotation, Sound, User
from core.team import review
from core.team.review import ReviewItem
from core.team.states import AssignmentState
from core.ui import shell
from core.ui.waveform import Asked


@dataclass
class Desk:
    """One sound as the reviewer sees it: the sound, every person's regions and the gold ones (for the waveform),
    the annotators in lane order as (user id, name), and each one's state."""

    sound: Sound
    annotations: list[Annotation]
    people: list[tuple[str, str]]
    states: dict[str, AssignmentState]
    counts: dict[str, int]
    gold: int


def queue_of(app: Earmark, user: User, dataset: str | None) -> list[ReviewItem]:
    with app.db.read() as session:
        return review.to_review(session, user, dataset=dataset)


def datasets(app: Earmark, user: User) -> list[str]:
    with app.db.read() as session:
        return review.reviewable_datasets(session, user)


def desk(app: Earmark, user: User, sound_id: str) -> Desk:
    """The sound's lanes (core/team/review.py ``lanes``), with the people's ids the waveform lays lanes out by."""
    with app.db.read() as session:
        lanes = review.lanes(session, user, sound_id)
        names = sorted(lanes.people)  # lanes and choices in name order, the same on every database
        ids = dict(session.execute(select(User.user_name, User.id).where(User.user_name.in_(names))).all()) if names else {}
        annotations = sorted([a for items in lanes.people.values() for a in items] + lanes.gold,
                             key=lambda a: (a.start_seconds, a.id))
        return Desk(lanes.sound, annotations, [(ids[name], name) for name in names], dict(lanes.states),
                    {name: len(items) for name, items in lanes.people.items()}, len(lanes.gold))


def people_table(found: Desk) -> None:
    """Each annotator of the sound: their state and how many regions they made; the gold version's count."""
    rows = [{"annotator": name, "state": found.states[name].value if name in found.states else "(not assigned)",
             "regions": found.counts[name]} for _, name in found.people]
    rows.append({"annotator": "Gold (what you accept)", "state": "", "regions": found.gold})
    st.dataframe(pd.DataFrame(rows), hide_index=True, key="review_people")


def take_asked(app: Earmark, user: User, sound_id: str, asked: Asked) -> int | None:
    """Copy into gold what the waveform's "take" asked for (one person's set, or chosen regions); how many."""
    ids = (asked.take or {}).get("ids")
    if not isinstance(ids, list):
        return None
    return take(app, user, sound_id, [str(i) for i in ids])


def take(app: Earmark, user: User, sound_id: str, annotation_ids: list[str]) -> int | None:
    def copy() -> int:
        with app.db.write() as session:
            return len(review.take_regions(session, user, sound_id, annotation_ids))

    return shell.run(copy)


def take_set(app: Earmark, user: User, sound_id: str, name: str) -> int | None:
    def copy() -> int:
        with app.db.write() as session:
            return len(review.take_set(session, user, sound_id, name))

    return shell.run(copy)


def accept(app: Earmark, user: User, sound_id: str, allow_empty: bool) -> int | None:
    def done() -> int:
        with app.db.write() as session:
            return review.accept(session, user, sound_id, allow_empty=allow_empty)

    return shell.run(done)


def give_back(app: Earmark, user: User, sound_id: str, name: str, comment: str) -> bool:
    def send() -> bool:
        with app.db.write() as session:
            review.return_work(session, user, sound_id, name, comment)
            return True

    return shell.run(send) is not None


def queue_table(items: list[ReviewItem], current: str | None) -> None:
    """The sounds waiting for review, each a link that opens it here."""
    rows = [{"": "▶" if item.sound_id == current else "", "open": f"/Review?sound={item.sound_id}",
             "file": f"{item.dataset}/{item.path}", "submitted": f"{item.submitted} of {item.assigned}"} for item in items]
    st.dataframe(pd.DataFrame(rows), hide_index=True, key="review_queue", height=min(38 + 35 * len(rows), 320),
                 column_config={"open": st.column_config.LinkColumn("open", display_text="open"),
                                "file": st.column_config.TextColumn("file", width="large")})
