"""The pages' part of a labelling team's work (issue 27): on Annotate, an annotator's work in order ("my work"), the
state of the sound open, the reviewer's comment on a returned one, Done (a button, and D on the waveform) that
submits the sound and opens the next, and the active seconds the waveform reports (core/ui/waveform ``Asked``)
added through core/team/queue.py; on Team, handing out a dataset's sounds. The rules (who sees what, which change of state is allowed) are core/team's;
this module only shows them and turns their errors into messages (core/ui/shell.py ``run``).

May import: core.team, core.store, core.ui and streamlit.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
import streamlit as st
from sqlalchemy import select

from core.accounts.permissions import Action
from core.catalogue.sounds import SoundService
from core.catalogue.stats import human_duration
from core.context import Earmark
from core.store.models import User
from core.team import queue, visibility
from core.team.assignments import AssignRequest, assign
from core.team.queue import WorkItem
from core.team.states import OPEN, AssignmentState
from core.ui import shell
from core.ui.waveform import Asked

DONE_KEY = "D"  # the Done button's shortcut; on the interactive waveform the component takes D itself (keys.ts)
STATE_ICONS = {AssignmentState.TO_DO: "○", AssignmentState.IN_PROGRESS: "◐", AssignmentState.SUBMITTED: "●",
               AssignmentState.ACCEPTED: "✓", AssignmentState.RETURNED: "↩"}


@dataclass(frozen=True)
class Work:
    """The annotator's state on the sound open (read after opening it marked it in progress)."""

    state: AssignmentState
    comment: str | None
    active_seconds: float

    @property
    def open(self) -> bool:
        return self.state in OPEN


def my_work(app: Earmark, user: User) -> list[WorkItem]:
    """``user``'s assignments in core/team/queue.py's order (returned first, then in progress, to do, ...)."""
    with app.db.read() as session:
        return queue.my_work(session, user)


def next_open(work: Sequence[WorkItem], after: str | None = None) -> str | None:
    """The next sound of ``work`` still in the annotator's hands after ``after`` (from the top if none after it)."""
    ids = [item.sound_id for item in work]
    start = ids.index(after) + 1 if after in ids else 0
    for item in [*work[start:], *work[:start]]:
        if item.state in OPEN and item.sound_id != after:
            return item.sound_id
    return None


def open_work(app: Earmark, user: User, sound_id: str) -> Work | None:
    """Opening an assigned sound marks it in progress (core/team/queue.py ``open_sound``); None if not assigned."""
    with app.db.write() as session:
        found = queue.open_sound(session, user, sound_id)
        return None if found is None else Work(AssignmentState(found.state), found.comment, found.active_seconds)


def summary(work: Sequence[WorkItem]) -> str:
    """"12 sounds: 3 to do · 1 in progress · ..." in the states' order."""
    counts = Counter(item.state for item in work)
    parts = [f"{counts[state]} {state.value}" for state in AssignmentState if counts[state]]
    return f"{len(work)} sound(s) assigned to you: " + " · ".join(parts)


def work_table(work: Sequence[WorkItem], current: str | None) -> None:
    """My work as a table, each sound a link that opens it; the open one marked."""
    rows = [{"": "▶" if item.sound_id == current else "", "sound": f"/Annotate?sound={item.sound_id}",
             "file": f"{item.dataset}/{item.path}", "state": f"{STATE_ICONS[item.state]} {item.state.value}",
             "active": human_duration(item.active_seconds) if item.active_seconds else "",
             "reviewer's comment": item.comment or "" if item.state is not AssignmentState.ACCEPTED else ""}
            for item in work]
    st.dataframe(pd.DataFrame(rows), hide_index=True, key="my_work_table", height=min(38 + 35 * len(rows), 320),
                 column_config={"sound": st.column_config.LinkColumn("open", display_text="open"),
                                "file": st.column_config.TextColumn("file", width="large")})


def show_state(work: Work) -> None:
    """The state of the sound open, and a returned sound's comment from the reviewer (shown as text)."""
    line = f"Your work on this sound: {STATE_ICONS[work.state]} {work.state.value}"
    if work.active_seconds:
        line += f" · {human_duration(work.active_seconds)} active"
    st.markdown(f"**{shell.plain(line)}**")
    if work.comment and work.state is not AssignmentState.ACCEPTED:
        st.warning(f"Returned by the reviewer: {shell.plain(work.comment)}", icon=":material/undo:")


def add_time(app: Earmark, user: User, sound_id: str, asked: Asked) -> None:
    """Add the active seconds the waveform reported for this sound (a report for another sound is dropped: the
    page moved on meanwhile)."""
    report = asked.active
    if not report or report.get("sound_id") != sound_id:
        return

    def add() -> float:
        with app.db.write() as session:
            return queue.add_time(session, user, sound_id, report.get("seconds", 0))

    shell.run(add)


def submit(app: Earmark, user: User, sound_id: str, seconds: float = 0) -> bool:
    """Done: the last active seconds counted, then the sound submitted; False (and the core's message shown) when it
    cannot be (already submitted, accepted, ...)."""
    def done() -> bool:
        with app.db.write() as session:
            if seconds:
                queue.add_time(session, user, sound_id, seconds)
            queue.submit(session, user, sound_id)
            return True

    return shell.run(done) is not None


def done_asked(asked: Asked, sound_id: str) -> float | None:
    """The active seconds the waveform's D reported with it, or None when D was not pressed on this sound."""
    if not asked.done or asked.done.get("sound_id") != sound_id:
        return None
    seconds = asked.done.get("seconds", 0)
    return float(seconds) if isinstance(seconds, int | float) else 0.0


def current(app: Earmark, user: User, work: Sequence[WorkItem], sound_id: str) -> Work | None:
    """The annotator's work on the sound open: opening a to-do or returned sound marks it in progress (one
    conditional UPDATE, only then); None if the sound is not theirs."""
    item = next((w for w in work if w.sound_id == sound_id), None)
    if item is None:
        return None
    if item.state in (AssignmentState.TO_DO, AssignmentState.RETURNED):
        return open_work(app, user, sound_id)
    return Work(item.state, item.comment, item.active_seconds)


def neighbours(work: Sequence[WorkItem], sound_id: str) -> tuple[str | None, str | None]:
    """The sounds before and after ``sound_id`` in my work (None at either end, or when it is not in it)."""
    ids = [item.sound_id for item in work]
    if sound_id not in ids:
        return None, (ids[0] if ids else None)
    at = ids.index(sound_id)
    return (ids[at - 1] if at else None), (ids[at + 1] if at + 1 < len(ids) else None)


def pick(app: Earmark, user: User, work: list[WorkItem], shown: str | None, linked: str | None
         ) -> tuple[str, Work | None, list[WorkItem]]:
    """Which sound of my work to show: a link's (a click in the table is one), else the one shown before if it is
    still in my work, else the next open one. Opens it (in progress) and shows my work above it; returns the sound,
    my work on it and my work as it is now."""
    ids = {item.sound_id for item in work}
    sound_id = linked or (shown if shown in ids else None) or next_open(work) or work[0].sound_id
    mine = current(app, user, work, sound_id)
    if mine is not None and mine.state is not next(w.state for w in work if w.sound_id == sound_id):
        work = my_work(app, user)  # opening it put it in progress
    with st.expander(summary(work), expanded=True):
        work_table(work, sound_id)
    return sound_id, mine, work


def dataset_of(work: Sequence[WorkItem], sound_id: str) -> str | None:
    return next((item.dataset for item in work if item.sound_id == sound_id), None)


def position(work: Sequence[WorkItem], sound_id: str) -> tuple[int, int]:
    """Where ``sound_id`` is in my work: (1-based place, count); (0, count) when it is not in it."""
    ids = [item.sound_id for item in work]
    return (ids.index(sound_id) + 1 if sound_id in ids else 0), len(ids)


def datasets_to_assign(app: Earmark, user: User) -> list[str]:
    """The datasets ``user`` may hand out (the role table: their own; administrators any)."""
    with app.db.read() as session:
        names = [name for name, _ in SoundService(session, app.storage).datasets()]
        return [name for name in names if visibility.may(session, user, Action.ASSIGN, name)]


def annotator_names(app: Earmark) -> list[str]:
    """Active people (human accounts) who may be given work, by name."""
    with app.db.read() as session:
        return list(session.scalars(select(User.user_name).where(User.user_type == "human", User.is_active.is_(True))
                                    .order_by(User.user_name)))


def assign_sounds(app: Earmark, user: User, request: AssignRequest) -> str | None:
    """Hand out the sounds; the summary line (core/team/assignments.py), or None (the error shown)."""
    def hand_out() -> str:
        with app.db.write() as session:
            return assign(session, user, request).line()

    return shell.run(hand_out)
