"""Who sees which sounds and regions in a dataset with assignments: the one place the blind rule lives.

In a dataset where work has been assigned (core/team/assignments.py), a person who may not review it (the role
table, core/accounts/permissions.py) sees only the sounds assigned to them, and on those only their own regions,
machine suggestions (unless the batch hides them) and, once the sound is accepted or when the batch is not blind,
everyone's. Reviewers and administrators see everything; datasets without assignments behave as if this module
did not exist. The annotation reads (core/annotations/service.py) and the catalogue search
(core/catalogue/search.py) add the conditions below to their queries, so the hiding happens in SQL, page by page.

Imports only core.store and core.accounts: the catalogue and the annotations import it.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from core.accounts.permissions import Action, can, can_any, require
from core.errors import NotFound
from core.store.models import Annotation, Assignment, AssignmentBatch, Sound, User
from core.team.states import AssignmentState


def owners(session: Session, dataset: str, at_most: int = 2) -> list[str]:
    """Users who uploaded the dataset's sounds, at most ``at_most`` of them: the "own datasets" of the role table
    are those whose every sound one uploaded (as deleting a whole dataset, core/catalogue/sounds.py), so two tell
    whether one person owns it. Each is one seek of ix_sounds_dataset_created_by (the next uploader after the last
    found): this runs on every listing a blind annotator opens, and a DISTINCT would read every sound of the
    dataset (a million, for a large one)."""
    found: list[str] = []
    while len(found) < at_most:
        query = select(func.min(Sound.created_by)).where(Sound.dataset == dataset)
        owner = session.scalar(query.where(Sound.created_by > found[-1]) if found else query)
        if owner is None:
            break
        found.append(owner)
    return found


def require_dataset(session: Session, actor: User | None, action: Action, dataset: str) -> None:
    """PermissionDenied unless ``actor`` may ``action`` (assign or review) on ``dataset``; NotFound for a dataset
    without sounds. Per uploader of its sounds, as the role table has it (core/accounts/permissions.py)."""
    found = owners(session, dataset)
    if not found:
        raise NotFound(f"No dataset {dataset!r}.")
    for owner in found:
        require(actor, action, owner_id=owner)


def may(session: Session, user: User | None, action: Action, dataset: str) -> bool:
    """Whether ``user`` may assign or review (``action``) the dataset's sounds."""
    if user is not None and user.is_active and user.is_admin:
        return True  # without reading the owners
    if not can_any(user, action):
        return False  # not even on their own (an annotator): without reading the owners either
    found = owners(session, dataset)
    return bool(found) and all(can(user, action, owner_id=owner) for owner in found)


def assigned_datasets(session: Session) -> list[str]:
    """The datasets where work has been assigned (a few names, one per dataset handed out)."""
    return list(session.scalars(select(AssignmentBatch.dataset).distinct()))


def blind_datasets(session: Session, viewer: User | None) -> list[str]:
    """The datasets with assignments that ``viewer`` may not review: there they see only their own work.
    ``None`` (the command line, the server's operator) sees everything."""
    if viewer is None or viewer.is_admin:
        return []
    return [name for name in assigned_datasets(session) if not may(session, viewer, Action.REVIEW, name)]


def _mine(viewer: User) -> ColumnElement[bool]:
    """The sound (of the enclosing query) is assigned to ``viewer``."""
    return select(Assignment.id).where(Assignment.sound_id == Sound.id, Assignment.annotator_id == viewer.id).exists()


def sound_condition(session: Session, viewer: User | None) -> ColumnElement[bool] | None:
    """The sounds ``viewer`` may see, as a condition on :class:`Sound` (None: all of them)."""
    hidden = blind_datasets(session, viewer)
    if not hidden or viewer is None:
        return None
    return or_(Sound.dataset.not_in(hidden), _mine(viewer))


def annotation_condition(session: Session, viewer: User | None) -> ColumnElement[bool] | None:
    """The annotations ``viewer`` may see, as a condition on :class:`Annotation` (None: all of them)."""
    hidden = blind_datasets(session, viewer)
    if not hidden or viewer is None:
        return None
    elsewhere = select(Sound.id).where(Sound.id == Annotation.sound_id, Sound.dataset.not_in(hidden)).exists()
    shown = (select(Assignment.id).join(AssignmentBatch, AssignmentBatch.id == Assignment.batch_id).where(
        Assignment.sound_id == Annotation.sound_id, Assignment.annotator_id == viewer.id,
        or_(Annotation.created_by == viewer.id, Assignment.state == AssignmentState.ACCEPTED.value,
            AssignmentBatch.blind.is_(False),
            and_(Annotation.source.is_not(None), Annotation.is_gold.is_(False), AssignmentBatch.hide_suggestions.is_(False)))))
    return or_(elsewhere, shown.exists())


def sees_sound(session: Session, viewer: User | None, sound: Sound) -> bool:
    """Whether ``viewer`` may open this sound (a deep link to a sound not assigned to them is refused)."""
    if sound.dataset not in blind_datasets(session, viewer) or viewer is None:
        return True
    return session.scalar(select(_mine(viewer)).where(Sound.id == sound.id)) or False
