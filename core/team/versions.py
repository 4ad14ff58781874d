"""Which version of a sound's annotations an export holds, and each annotation's review state.

An accepted sound's truth is its gold version (annotations with ``is_gold``, core/team/review.py); the annotators'
own rows stay beside it. An export (core/export/subset.py) takes, by default, the gold version of every accepted
sound and the people's annotations of the others (a gold version not yet accepted is a reviewer's draft and is left
out); on request each annotator's own version instead (every row but the gold ones). A dataset without assignments
has no gold rows and nothing accepted, so its exports are what they were.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.store.db import batched, one_of
from core.store.models import Annotation, Assignment
from core.team.states import AssignmentState


class Version(StrEnum):
    """The `annotation_version` an export asks for (gold or annotators)."""

    GOLD = "gold"  # accepted sounds: the reviewer's gold version; the rest: the people's annotations
    ANNOTATORS = "annotators"  # every annotator's own version, on every sound (no gold rows)


GOLD_STATE = "gold"  # a gold annotation's review state (of an accepted sound)
DRAFT_STATE = "gold draft"  # a gold annotation of a sound not accepted yet
SUGGESTION_STATE = "suggestion"  # a machine suggestion's
UNASSIGNED_STATE = "unassigned"  # a person's annotation on a sound not assigned to them


@dataclass
class Reviewed:
    """The review facts of a set of sounds: which are accepted, and each (sound, annotator) assignment's state."""

    accepted: set[str] = field(default_factory=set)
    states: dict[tuple[str, str], str] = field(default_factory=dict)

    def state_of(self, annotation: Annotation) -> str:
        """The annotation's review state as exports name it: gold, gold draft, suggestion, the author's assignment
        state on its sound (to do, in progress, submitted, accepted, returned), or unassigned."""
        if annotation.is_gold:
            return GOLD_STATE if annotation.sound_id in self.accepted else DRAFT_STATE
        if annotation.source is not None:
            return SUGGESTION_STATE
        return self.states.get((annotation.sound_id, annotation.created_by), UNASSIGNED_STATE)


def reviewed(session: Session, sound_ids: list[str]) -> Reviewed:
    """The review facts of these sounds, read a batch of ids at a time."""
    found = Reviewed()
    for ids in batched(sound_ids):
        rows = session.execute(select(Assignment.sound_id, Assignment.annotator_id, Assignment.state)
                               .where(one_of(session, Assignment.sound_id, ids)))
        for sound_id, annotator_id, state in rows:
            found.states[(sound_id, annotator_id)] = state
            if state == AssignmentState.ACCEPTED.value:
                found.accepted.add(sound_id)
    return found


def version_of(annotations: list[Annotation], sound_id: str, facts: Reviewed, version: Version) -> list[Annotation]:
    """The annotations of one sound an export of ``version`` holds (see the module's docstring)."""
    if version is Version.GOLD and sound_id in facts.accepted:
        return [a for a in annotations if a.is_gold]  # what the reviewer accepted (nothing, if accepted as empty)
    return [a for a in annotations if not a.is_gold]
