"""An annotator's own work: "my work" in order, opening a sound, Done, and the active time spent on each sound.

Every change of state is one conditional UPDATE (``... WHERE state IN (...)``), so a Done pressed twice, or a Done
racing a reviewer's accept, changes the row once and the loser is told why; active time goes up by an SQL
increment, so two tabs reporting at once both count.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sqlalchemy import case, select, update
from sqlalchemy.orm import Session

from core.errors import Conflict, NotFound, ValidationError
from core.store.db import rowcount
from core.store.models import Assignment, AssignmentBatch, Sound, User, utcnow
from core.team.states import OPEN, AssignmentState

MAX_REPORT_SECONDS = 300.0  # one report of active time: the page reports every few seconds of use, never more
# The order of "my work": returned first (a reviewer is waiting), then what is under way, then the rest.
ORDER = (AssignmentState.RETURNED, AssignmentState.IN_PROGRESS, AssignmentState.TO_DO, AssignmentState.SUBMITTED,
         AssignmentState.ACCEPTED)
_OPEN = tuple(state.value for state in OPEN)
# Work active time is still added to: open work, and submitted work, whose last seconds the page sends as it leaves
# the sound (core/ui/waveform/frontend/src/activity.ts), which may arrive just after Done; not accepted work.
_COUNTING = (*_OPEN, AssignmentState.SUBMITTED.value)


@dataclass(frozen=True)
class WorkItem:
    """One sound of an annotator's queue, with what the page shows beside it."""

    sound_id: str
    dataset: str
    path: str
    duration_seconds: float
    state: AssignmentState
    comment: str | None
    active_seconds: float
    hide_suggestions: bool


def my_work(session: Session, user: User, *, dataset: str | None = None, states: tuple[AssignmentState, ...] = (),
            limit: int = 1000) -> list[WorkItem]:
    """``user``'s assignments in order (see ORDER), then by sound id; at most ``limit``."""
    if not 1 <= limit <= 10_000:
        raise ValidationError("limit", "limit must be from 1 to 10000.")
    rank = case({state.value: place for place, state in enumerate(ORDER)}, value=Assignment.state)
    query = (select(Assignment, Sound.dataset, Sound.path, Sound.duration_seconds, AssignmentBatch.hide_suggestions)
             .join(Sound, Sound.id == Assignment.sound_id).join(AssignmentBatch, AssignmentBatch.id == Assignment.batch_id)
             .where(Assignment.annotator_id == user.id).order_by(rank, Assignment.sound_id).limit(limit))
    if dataset:
        query = query.where(Sound.dataset == dataset)
    if states:
        query = query.where(Assignment.state.in_([s.value for s in states]))
    return [WorkItem(a.sound_id, ds, path, duration, AssignmentState(a.state), a.comment, a.active_seconds, hide)
            for a, ds, path, duration, hide in session.execute(query)]


def work_on(session: Session, user: User, sound_id: str) -> Assignment | None:
    """``user``'s assignment on this sound (its state and the reviewer's comment), or None."""
    return session.scalar(select(Assignment).where(Assignment.sound_id == sound_id, Assignment.annotator_id == user.id))


def _mine(session: Session, user: User, sound_id: str) -> Assignment:
    found = work_on(session, user, sound_id)
    if found is None:
        raise NotFound(f"Sound {sound_id!r} is not assigned to {user.user_name}.")
    return found


def open_sound(session: Session, user: User, sound_id: str) -> Assignment | None:
    """Opening an assigned sound marks it in progress (from to do, or from returned); None if it is not assigned
    to ``user`` (anyone may open other sounds where the dataset allows it)."""
    session.execute(update(Assignment).where(
        Assignment.sound_id == sound_id, Assignment.annotator_id == user.id,
        Assignment.state.in_([AssignmentState.TO_DO.value, AssignmentState.RETURNED.value]))
        .values(state=AssignmentState.IN_PROGRESS.value, opened_at=utcnow()).execution_options(synchronize_session=False))
    found = work_on(session, user, sound_id)
    if found is not None:
        session.refresh(found)
    return found


def submit(session: Session, user: User, sound_id: str) -> Assignment:
    """Done: the sound goes to review. Only from an open state; a second Done, or one after the reviewer
    accepted, is a Conflict that says where the work is."""
    done = session.execute(update(Assignment).where(
        Assignment.sound_id == sound_id, Assignment.annotator_id == user.id, Assignment.state.in_(_OPEN))
        .values(state=AssignmentState.SUBMITTED.value, submitted_at=utcnow()).execution_options(synchronize_session=False))
    found = _mine(session, user, sound_id)
    session.refresh(found)
    if rowcount(done) != 1:
        raise Conflict(f"Your work on this sound is already {found.state}: there is nothing to submit.")
    return found


def add_time(session: Session, user: User, sound_id: str, seconds: float) -> float:
    """Add ``seconds`` of use (the page in view and in use) to ``user``'s open or submitted work on the sound (a
    report sent as the page left the sound can follow Done), capped at MAX_REPORT_SECONDS a report, by an SQL
    increment; returns the seconds counted (0 when the work is accepted)."""
    if not isinstance(seconds, int | float) or not math.isfinite(seconds) or seconds < 0:
        raise ValidationError("seconds", "seconds must be a number of seconds, 0 or more.")
    counted = min(float(seconds), MAX_REPORT_SECONDS)
    added = session.execute(update(Assignment).where(
        Assignment.sound_id == sound_id, Assignment.annotator_id == user.id, Assignment.state.in_(_COUNTING))
        .values(active_seconds=Assignment.active_seconds + counted).execution_options(synchronize_session=False))
    if rowcount(added) != 1:
        _mine(session, user, sound_id)  # NotFound when not assigned at all
        return 0.0
    return counted
