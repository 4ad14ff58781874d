"""How far a team has got: per assignment batch and per annotator, sounds done, hours of audio done, active hours,
throughput (sounds and audio hours per active hour) and the share of work returned by a reviewer.

One aggregate query over the assignments joined to their sounds' durations (linear, nothing per row in Python);
a batch's totals are its annotators' rows added up.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session

from core.accounts.permissions import Action
from core.store.models import Assignment, AssignmentBatch, Sound, User
from core.team.states import AssignmentState
from core.team.visibility import require_dataset

DONE = (AssignmentState.SUBMITTED.value, AssignmentState.ACCEPTED.value)


@dataclass(frozen=True)
class Progress:
    """One annotator's figures in one batch (``annotator`` None: the whole batch)."""

    batch_id: str
    dataset: str
    annotator: str | None
    assigned: int
    done: int  # submitted or accepted
    accepted: int
    returned_ever: int  # assignments a reviewer returned at least once
    reached_review: int  # assignments submitted at least once (done now, or returned)
    audio_hours_done: float
    active_hours: float

    @property
    def sounds_per_hour(self) -> float | None:
        return self.done / self.active_hours if self.active_hours else None

    @property
    def audio_hours_per_hour(self) -> float | None:
        return self.audio_hours_done / self.active_hours if self.active_hours else None

    @property
    def returned_share(self) -> float | None:
        """Of the work that reached a reviewer (done now, or returned), the share returned at least once."""
        return self.returned_ever / self.reached_review if self.reached_review else None

    def as_dict(self) -> dict[str, object]:
        return {**self.__dict__, "sounds_per_hour": self.sounds_per_hour,
                "audio_hours_per_hour": self.audio_hours_per_hour, "returned_share": self.returned_share}


def progress(session: Session, viewer: User, dataset: str) -> list[Progress]:
    """Each batch of ``dataset``: its total first, then each annotator's row (by name)."""
    require_dataset(session, viewer, Action.ASSIGN, dataset)
    done = Assignment.state.in_(DONE)
    rows = session.execute(
        select(AssignmentBatch.id, User.user_name, func.count(),
               func.sum(case((done, 1), else_=0)),
               func.sum(case((Assignment.state == AssignmentState.ACCEPTED.value, 1), else_=0)),
               func.sum(case((Assignment.times_returned > 0, 1), else_=0)),
               func.sum(case((or_(done, Assignment.times_returned > 0), 1), else_=0)),
               func.sum(case((done, Sound.duration_seconds), else_=0.0)),
               func.sum(Assignment.active_seconds))
        .join(Assignment, Assignment.batch_id == AssignmentBatch.id).join(Sound, Sound.id == Assignment.sound_id)
        .join(User, User.id == Assignment.annotator_id).where(AssignmentBatch.dataset == dataset)
        .group_by(AssignmentBatch.id, User.user_name).order_by(AssignmentBatch.id, User.user_name)).all()
    found: list[Progress] = []
    for batch_id in dict.fromkeys(row[0] for row in rows):
        people = [Progress(b, dataset, name, int(n), int(d or 0), int(a or 0), int(r or 0), int(seen or 0),
                           float(audio or 0) / 3600, float(active or 0) / 3600)
                  for b, name, n, d, a, r, seen, audio, active in rows if b == batch_id]
        found.append(Progress(batch_id, dataset, None, *(_total(people, name) for name in (
            "assigned", "done", "accepted", "returned_ever", "reached_review", "audio_hours_done", "active_hours"))))  # type: ignore[arg-type]
        found += people
    return found


def _total(rows: list[Progress], name: str) -> float:
    return sum(getattr(row, name) for row in rows)
