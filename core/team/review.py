"""Review: the submitted sounds a reviewer may review, each annotator's regions on one sound, making the gold
version, and accepting it or returning one annotator's work with a comment.

The gold version of a sound is its annotations with ``is_gold`` true: copies the reviewer takes from the
annotators' regions (one person's whole set, or chosen regions from several), created by the reviewer and edited
afterwards with the normal editor (core/annotations/service.py), which lets the reviewer change their own rows. The
annotators' rows are never changed. Accepting and returning are conditional UPDATEs: of two reviewers accepting
the same sound at once one changes the rows and the other's statement matches none, and is told so (Conflict).
"""

from __future__ import annotations

import builtins
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import case, func, select, update
from sqlalchemy.orm import Session

from core.accounts.permissions import Action
from core.accounts.users import UserService
from core.annotations.service import AnnotationService
from core.errors import Conflict, NotFound, ValidationError
from core.store.db import get_or_not_found, rowcount
from core.store.models import Annotation, AnnotationTag, Assignment, Sound, User, utcnow
from core.team.states import AssignmentState
from core.team.visibility import assigned_datasets, may, require_dataset

MAX_COMMENT = 5_000


@dataclass(frozen=True)
class ReviewItem:
    """A sound with work waiting for review: how many of its annotators have submitted."""

    sound_id: str
    dataset: str
    path: str
    submitted: int
    assigned: int


@dataclass
class Lanes:
    """One sound's regions as the review page shows them: each person's own (by user name, in time order), the gold
    version so far, and each annotator's assignment state."""

    sound: Sound
    people: dict[str, builtins.list[Annotation]] = field(default_factory=dict)
    gold: builtins.list[Annotation] = field(default_factory=list)
    states: dict[str, AssignmentState] = field(default_factory=dict)


def reviewable_datasets(session: Session, reviewer: User) -> builtins.list[str]:
    """The datasets with assignments ``reviewer`` may review."""
    return [name for name in assigned_datasets(session) if may(session, reviewer, Action.REVIEW, name)]


def to_review(session: Session, reviewer: User, *, dataset: str | None = None, limit: int = 1000) -> builtins.list[ReviewItem]:
    """Sounds with submitted work in the datasets ``reviewer`` may review (or in ``dataset``), by sound id."""
    if dataset:
        require_dataset(session, reviewer, Action.REVIEW, dataset)
        names = [dataset]
    else:
        names = reviewable_datasets(session, reviewer)
    if not names:
        return []
    submitted = func.sum(case((Assignment.state == AssignmentState.SUBMITTED.value, 1), else_=0))
    rows = session.execute(
        select(Assignment.sound_id, Sound.dataset, Sound.path, submitted, func.count())
        .join(Sound, Sound.id == Assignment.sound_id).where(Sound.dataset.in_(names))
        .group_by(Assignment.sound_id, Sound.dataset, Sound.path).having(submitted > 0)
        .order_by(Assignment.sound_id).limit(limit))
    return [ReviewItem(sound_id, ds, path, int(done), int(total)) for sound_id, ds, path, done, total in rows]


def _reviewed_sound(session: Session, reviewer: User, sound_id: str) -> Sound:
    sound = get_or_not_found(session, Sound, sound_id, "sound")
    require_dataset(session, reviewer, Action.REVIEW, sound.dataset)
    return sound


def lanes(session: Session, reviewer: User, sound_id: str) -> Lanes:
    """Each person's regions on the sound (machine suggestions left out), the gold ones apart."""
    sound = _reviewed_sound(session, reviewer, sound_id)
    found = Lanes(sound)
    names = dict(session.execute(select(User.id, User.user_name).join(Assignment, Assignment.annotator_id == User.id)
                                 .where(Assignment.sound_id == sound_id)).all())
    for annotator_id, state in session.execute(select(Assignment.annotator_id, Assignment.state).where(Assignment.sound_id == sound_id)):
        found.states[names[annotator_id]] = AssignmentState(state)
        found.people.setdefault(names[annotator_id], [])
    others: dict[str, builtins.list[Annotation]] = defaultdict(list)
    for annotation in AnnotationService(session).of_sound(sound_id):
        if annotation.is_gold:
            found.gold.append(annotation)
        elif annotation.source is None:
            others[annotation.created_by].append(annotation)
    unnamed = set(others) - set(names)
    if unnamed:  # people who annotated the sound without an assignment have a lane too
        names |= dict(session.execute(select(User.id, User.user_name).where(User.id.in_(unnamed))).all())
    for person, items in others.items():
        found.people.setdefault(names[person], []).extend(items)
    return found


def _copy(session: Session, reviewer: User, sound: Sound, originals: builtins.list[Annotation]) -> builtins.list[Annotation]:
    """Gold copies of ``originals`` by the reviewer, skipping any the gold version already holds (same bounds,
    channel, tags and text), so taking twice does not double a region."""
    have = {_shape(a) for a in session.scalars(select(Annotation).where(Annotation.sound_id == sound.id, Annotation.is_gold.is_(True)))}
    made = []
    for original in originals:
        if _shape(original) in have:
            continue
        have.add(_shape(original))
        made.append(Annotation(sound_id=sound.id, created_by=reviewer.id, start_seconds=original.start_seconds,
                               duration_seconds=original.duration_seconds, text=original.text, data_url=original.data_url,
                               channel=original.channel, is_gold=True, tags=[AnnotationTag(tag=t) for t in original.tag_names]))
    session.add_all(made)
    session.flush()
    AnnotationService(session).add_to_count(sound.id, len(made))
    return made


def _shape(annotation: Annotation) -> tuple[object, ...]:
    return (round(annotation.start_seconds, 6), round(annotation.duration_seconds, 6), annotation.channel,
            tuple(annotation.tag_names), annotation.text, annotation.data_url)


def take_set(session: Session, reviewer: User, sound_id: str, annotator_name: str) -> builtins.list[Annotation]:
    """Copy one person's whole set of regions on the sound into the gold version; returns the new copies."""
    sound = _reviewed_sound(session, reviewer, sound_id)
    person = UserService(session).by_name(annotator_name)
    originals = [a for a in AnnotationService(session).of_sound(sound_id)
                 if a.created_by == person.id and not a.is_gold and a.source is None]
    return _copy(session, reviewer, sound, originals)


def take_regions(session: Session, reviewer: User, sound_id: str, annotation_ids: builtins.list[str]) -> builtins.list[Annotation]:
    """Copy chosen regions (from any people) of the sound into the gold version; returns the new copies."""
    sound = _reviewed_sound(session, reviewer, sound_id)
    if not annotation_ids:
        raise ValidationError("annotation_ids", "Choose at least one region to take.")
    service = AnnotationService(session)
    originals = []
    for annotation_id in dict.fromkeys(annotation_ids):
        annotation = service.get(annotation_id)
        if annotation.sound_id != sound.id:
            raise ValidationError("annotation_ids", f"Annotation {annotation_id!r} is not on sound {sound_id!r}.")
        originals.append(annotation)
    return _copy(session, reviewer, sound, originals)


def accept(session: Session, reviewer: User, sound_id: str, *, allow_empty: bool = False) -> int:
    """Accept the sound's gold version: every assignment of the sound not yet accepted becomes accepted, in one
    conditional UPDATE; returns how many. Refused (Conflict) when someone accepted it first, nothing was
    submitted, or there is no gold version and not ``allow_empty`` (a sound with nothing in it)."""
    sound = _reviewed_sound(session, reviewer, sound_id)
    has_gold = session.scalar(select(Annotation.id).where(Annotation.sound_id == sound.id, Annotation.is_gold.is_(True)).limit(1))
    if has_gold is None and not allow_empty:
        raise Conflict("The sound has no gold version yet: take one person's regions or chosen ones first "
                       "(or accept it as empty).")
    submitted = session.scalar(select(func.count()).where(Assignment.sound_id == sound.id,
                                                          Assignment.state == AssignmentState.SUBMITTED.value))
    if not submitted:
        raise _not_reviewable(session, sound.id)
    accepted = session.execute(update(Assignment).where(
        Assignment.sound_id == sound.id, Assignment.state != AssignmentState.ACCEPTED.value)
        .values(state=AssignmentState.ACCEPTED.value, reviewed_at=utcnow(), reviewed_by=reviewer.id, comment=None)
        .execution_options(synchronize_session=False))
    if rowcount(accepted) == 0:
        raise _not_reviewable(session, sound.id)
    return rowcount(accepted)


def _not_reviewable(session: Session, sound_id: str) -> Conflict:
    """Why a sound cannot be accepted now: accepted already (by whom), or nothing submitted."""
    row = session.execute(select(User.user_name).join(Assignment, Assignment.reviewed_by == User.id).where(
        Assignment.sound_id == sound_id, Assignment.state == AssignmentState.ACCEPTED.value).limit(1)).first()
    if row is not None:
        return Conflict(f"This sound was already accepted by {row[0]}.")
    return Conflict("No work on this sound has been submitted yet: there is nothing to accept.")


def return_work(session: Session, reviewer: User, sound_id: str, annotator_name: str, comment: str) -> Assignment:
    """Send one annotator's submitted work back with a comment they will see; only from submitted."""
    sound = _reviewed_sound(session, reviewer, sound_id)
    text = (comment or "").strip()
    if not text:
        raise ValidationError("comment", "Say in a comment what the annotator should change.")
    if len(text) > MAX_COMMENT:
        raise ValidationError("comment", f"comment must be at most {MAX_COMMENT} characters long.")
    person = UserService(session).by_name(annotator_name)
    returned = session.execute(update(Assignment).where(
        Assignment.sound_id == sound.id, Assignment.annotator_id == person.id,
        Assignment.state == AssignmentState.SUBMITTED.value)
        .values(state=AssignmentState.RETURNED.value, comment=text, reviewed_at=utcnow(), reviewed_by=reviewer.id,
                times_returned=Assignment.times_returned + 1).execution_options(synchronize_session=False))
    found = session.scalar(select(Assignment).where(Assignment.sound_id == sound.id, Assignment.annotator_id == person.id))
    if found is None:
        raise NotFound(f"Sound {sound_id!r} is not assigned to {person.user_name}.")
    session.refresh(found)
    if rowcount(returned) != 1:
        raise Conflict(f"{person.user_name}'s work on this sound is {found.state}, not submitted: it cannot be returned.")
    return found
