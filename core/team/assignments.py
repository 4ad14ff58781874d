"""Handing out a dataset's sounds to annotators: a batch of assignments, moving unsubmitted work, taking it back.

The sounds are the ones a catalogue filter chooses (core/catalogue/search.py's CatalogueQuery: dataset, tags,
metadata). Each gets ``per_sound`` annotators, or, with a ``share`` below 1, a seeded share of them does (exactly
round(share x sounds), chosen by a seeded order of their sample keys) and the rest get one. Annotators are dealt
round-robin in the sounds' id order, so each ends with the same number of sounds, give or take one.

Sounds that already have an assignment are left as they are: assigning the same filter again hands out only the
sounds added since, and two assigners at once cannot give a sound twice to one person (the unique (sound,
annotator) pair, written with ON CONFLICT DO NOTHING). The whole hand-out is one INSERT ... SELECT dealt by the
database (:func:`_dealt`), so no sound id passes through Python, memory stays flat and time linear at 100,000
sounds; no statement carries the catalogue's ids.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    DateTime,
    Float,
    Insert,
    Integer,
    Select,
    String,
    Subquery,
    and_,
    case,
    cast,
    delete,
    func,
    literal,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.orm import Session

from core.accounts.permissions import Action
from core.accounts.users import UserService
from core.catalogue.search import CatalogueQuery, describe, narrowed
from core.errors import ValidationError
from core.store.db import batched, insert_for, one_of, rowcount
from core.store.ids import new_id
from core.store.models import SAMPLE_KEY_MODULUS, Assignment, AssignmentBatch, Sound, User, utcnow
from core.team.states import AssignmentState
from core.team.visibility import require_dataset

MOVABLE = (AssignmentState.TO_DO.value, AssignmentState.IN_PROGRESS.value)  # not yet submitted nor returned


@dataclass(frozen=True)
class AssignRequest:
    """What to hand out and how: ``query`` must name a dataset; ``annotators`` are user names."""

    query: CatalogueQuery
    annotators: tuple[str, ...]
    per_sound: int = 1
    share: float = 1.0
    seed: int = 0
    blind: bool = True
    hide_suggestions: bool = False


@dataclass
class AssignSummary:
    batch_id: str | None  # None when every chosen sound was assigned already
    sounds: int  # newly assigned
    assignments: int
    multiple: int  # sounds given to more than one annotator
    per_annotator: dict[str, int] = field(default_factory=dict)

    def line(self) -> str:
        people = ", ".join(f"{name} {count}" for name, count in self.per_annotator.items()) or "nobody"
        return (f"Assigned {self.sounds:,} sounds ({self.multiple:,} to several people): {self.assignments:,} "
                f"assignments ({people}).")


def _annotators(session: Session, names: tuple[str, ...]) -> list[User]:
    users = UserService(session)
    cleaned = list(dict.fromkeys(name.strip() for name in names if name.strip()))
    if not cleaned:
        raise ValidationError("to", "Name at least one annotator (user names separated by commas).")
    found = [users.by_name(name) for name in cleaned]
    inactive = [u.user_name for u in found if not u.is_active]
    if inactive:
        raise ValidationError("to", f"The account {inactive[0]!r} is deactivated: it cannot be given work.")
    return found


def _check(request: AssignRequest, people: int) -> None:
    if not request.query.dataset:
        raise ValidationError("dataset", "Name the dataset whose sounds are assigned.")
    if not 1 <= request.per_sound <= people:
        raise ValidationError("per_sound", f"per_sound must be from 1 to the number of annotators ({people}), not {request.per_sound}.")
    if not 0 < request.share <= 1:
        raise ValidationError("share", f"share must be more than 0 and at most 1 (0.1 is 10 %), not {request.share}.")


def _place(seed: int) -> ColumnElement[int]:
    """A seeded order of the sounds, in SQL: an affine map of each sound's fixed random sample key, modulo a
    prime (as core/export/sampling.py orders subsets; seeded apart from it, so a subset's seed does not pick the
    same sounds for double annotation)."""
    digest = hashlib.sha256(f"earmark-assign:{seed}".encode()).digest()
    a = 1 + int.from_bytes(digest[:8], "big") % (SAMPLE_KEY_MODULUS - 1)
    b = int.from_bytes(digest[8:16], "big") % SAMPLE_KEY_MODULUS
    return (cast(Sound.sample_key, BigInteger) * literal(a, BigInteger) + literal(b, BigInteger)) % literal(SAMPLE_KEY_MODULUS, BigInteger)


def _unassigned(query: CatalogueQuery) -> Select:
    """The sounds the filter chooses that no one has been assigned yet."""
    taken = select(Assignment.id).where(Assignment.sound_id == Sound.id)
    return narrowed(select(Sound.id), query.checked(), None).where(~taken.exists())


def _cut(session: Session, pool: Select, seed: int, share: float) -> tuple[int, str] | None:
    """The (place, id) of the last sound of the share in the seed's order: the sounds at or before it get several
    annotators. None when the share is every sound; (-1, "") when it rounds to none."""
    total = session.scalar(select(func.count()).select_from(pool.subquery())) or 0
    wanted = round(share * total)
    if wanted <= 0 or wanted >= total:
        return None if wanted >= total else (-1, "")
    place = _place(seed)
    row = session.execute(pool.add_columns(place).order_by(place, Sound.id).offset(wanted - 1).limit(1)).one()
    return int(row[1]), row[0]


def _people(people: list[User]) -> Subquery:
    """The annotators as rows (slot, annotator_id): the slot is their place in the round (a few literal rows,
    one per person named, never the catalogue's)."""
    rows = [select(literal(slot, Integer).label("slot"), literal(person.id, String).label("annotator_id"))
            for slot, person in enumerate(people)]
    return union_all(*rows).subquery("people") if len(rows) > 1 else rows[0].subquery("people")


def _ids(session: Session, number: ColumnElement[int]) -> ColumnElement[str]:
    """Ids in core/store/ids.py's form, made by the database for the rows of one statement: one new id's time
    prefix, then 16 hex digits counting up from a random start (62 bits, so the sum stays within a signed 64-bit
    integer) by ``number``, the row's number in the statement. They sort by creation time as every id does (the
    statement's rows share its moment) and cannot collide with one another; with another process's ids only if
    it made one in the same microsecond whose random part falls in this statement's range."""
    prefix = new_id()[:14]
    counted = literal(secrets.randbits(62), BigInteger) + number
    if session.get_bind().dialect.name == "postgresql":
        return literal(prefix, String) + func.lpad(func.to_hex(counted), 16, "0")
    return literal(prefix, String) + func.printf("%016x", counted)


def _dealt(session: Session, request: AssignRequest, people: list[User], batch_id: str,
           cut: tuple[int, str] | None) -> Insert:
    """One INSERT ... SELECT of the whole hand-out, dealt in SQL: the unassigned sounds in id order, each with its
    count of annotators (``per_sound`` for the sounds of the share, at or before ``cut`` in the seed's order; one
    for the rest) and its turn, the counts of the sounds before it (a running sum, as dealing cards); a sound goes
    to the ``count`` people from slot ``turn mod n`` on, round the table. Linear on both databases: one pass over
    the filter's sounds, no rows through Python, no statement per batch (on PostgreSQL 1,000-row batches cost
    0.11 s each, bench/assign.py). A pair (sound, annotator) already there is skipped (ON CONFLICT DO NOTHING)."""
    seats = len(people)
    if cut is None:
        count: ColumnElement[int] = literal(request.per_sound, Integer)
    else:
        place, last = _place(request.seed), cut
        ahead = or_(place < last[0], and_(place == last[0], Sound.id <= last[1]))
        count = case((ahead, request.per_sound), else_=1)
    chosen = _unassigned(request.query).add_columns(count.label("n")).subquery("chosen")
    turn = func.sum(chosen.c.n).over(order_by=chosen.c.id, rows=(None, 0)) - chosen.c.n
    dealt = select(chosen.c.id, chosen.c.n, (turn % seats).label("turn")).subquery("dealt")
    seat = _people(people)
    number = func.row_number().over(order_by=(dealt.c.id, seat.c.slot))
    rows = (select(_ids(session, number), literal(batch_id, String), dealt.c.id, seat.c.annotator_id,
                   literal(AssignmentState.TO_DO.value, String), literal(0.0, Float), literal(0, Integer), literal(utcnow(), DateTime(timezone=True)))
            .select_from(dealt).join(seat, (seat.c.slot - dealt.c.turn + seats) % seats < dealt.c.n))
    columns = ["id", "batch_id", "sound_id", "annotator_id", "state", "active_seconds", "times_returned", "date_created"]
    return insert_for(session, Assignment).from_select(columns, rows).on_conflict_do_nothing(index_elements=["sound_id", "annotator_id"])


def _summary(session: Session, batch_id: str, people: list[User]) -> AssignSummary:
    """What the batch holds, counted from its rows (the batch's index): sounds, assignments, sounds given to
    several people, and each annotator's share."""
    per_sound = (select(Assignment.sound_id, func.count().label("n")).where(Assignment.batch_id == batch_id)
                 .group_by(Assignment.sound_id).subquery())
    sounds, assignments, multiple = session.execute(
        select(func.count(), func.coalesce(func.sum(per_sound.c.n), 0), func.coalesce(func.sum(case((per_sound.c.n > 1, 1), else_=0)), 0))).one()
    dealt = {annotator: n for annotator, n in session.execute(
        select(Assignment.annotator_id, func.count()).where(Assignment.batch_id == batch_id).group_by(Assignment.annotator_id))}
    return AssignSummary(batch_id, int(sounds), int(assignments), int(multiple),
                         {person.user_name: int(dealt.get(person.id, 0)) for person in people})


def assign(session: Session, actor: User, request: AssignRequest) -> AssignSummary:
    """Hand the chosen sounds out (see the module's docstring); one batch row records how."""
    people = _annotators(session, request.annotators)
    _check(request, len(people))
    dataset = str(request.query.dataset)
    require_dataset(session, actor, Action.ASSIGN, dataset)
    cut = _cut(session, _unassigned(request.query), request.seed, request.share) if request.per_sound > 1 else (-1, "")
    batch = AssignmentBatch(id=new_id(), dataset=dataset, assigned_by=actor.id, per_sound=request.per_sound,
                            share=request.share, seed=request.seed, filter=describe(request.query), blind=request.blind,
                            hide_suggestions=request.hide_suggestions)
    session.add(batch)
    session.flush()
    session.execute(_dealt(session, request, people, batch.id, cut))
    summary = _summary(session, batch.id, people)
    if not summary.sounds:
        session.delete(batch)
        summary.batch_id = None
    return summary


def _dataset_sounds(dataset: str) -> Select:
    return select(Sound.id).where(Sound.dataset == dataset)


def _scoped(dataset: str, sound_ids: list[str] | None, session: Session) -> Iterator[ColumnElement[bool]]:
    """The conditions picking assignments of ``dataset`` (or of these sounds of it), a batch of ids at a time."""
    if sound_ids is None:
        yield Assignment.sound_id.in_(_dataset_sounds(dataset))
        return
    for ids in batched(sound_ids):
        yield Assignment.sound_id.in_(_dataset_sounds(dataset).where(one_of(session, Sound.id, ids)))


def move(session: Session, actor: User, dataset: str, from_name: str, to_name: str, sound_ids: list[str] | None = None) -> int:
    """Give ``from_name``'s unsubmitted work in ``dataset`` (all of it, or on these sounds) to ``to_name``; returns
    how many assignments moved. Work the new annotator already has on a sound stays theirs and the old one keeps
    that sound (a person annotates a sound once). Moved work starts over as to do."""
    require_dataset(session, actor, Action.ASSIGN, dataset)
    users = UserService(session)
    old, new = users.by_name(from_name), users.by_name(to_name)
    if not new.is_active:
        raise ValidationError("to", f"The account {new.user_name!r} is deactivated: it cannot be given work.")
    other = Assignment.__table__.alias("other")
    has_it = select(other.c.id).where(other.c.sound_id == Assignment.sound_id, other.c.annotator_id == new.id).exists()
    moved = 0
    for scope in _scoped(dataset, sound_ids, session):
        moved += rowcount(session.execute(
            update(Assignment).where(Assignment.annotator_id == old.id, Assignment.state.in_(MOVABLE), scope, ~has_it)
            .values(annotator_id=new.id, state=AssignmentState.TO_DO.value, opened_at=None, active_seconds=0.0)
            .execution_options(synchronize_session=False)))
    return moved


def take_back(session: Session, actor: User, dataset: str, annotator_name: str, sound_ids: list[str] | None = None) -> int:
    """Withdraw ``annotator_name``'s unsubmitted work in ``dataset`` (all, or on these sounds); their regions stay.
    Returns how many assignments were withdrawn; a batch left without assignments goes too."""
    require_dataset(session, actor, Action.ASSIGN, dataset)
    person = UserService(session).by_name(annotator_name)
    gone = 0
    for scope in _scoped(dataset, sound_ids, session):
        gone += rowcount(session.execute(delete(Assignment).where(
            Assignment.annotator_id == person.id, Assignment.state.in_(MOVABLE), scope).execution_options(synchronize_session=False)))
    empty = ~select(Assignment.id).where(Assignment.batch_id == AssignmentBatch.id).exists()
    session.execute(delete(AssignmentBatch).where(AssignmentBatch.dataset == dataset, empty).execution_options(synchronize_session=False))
    return gone
