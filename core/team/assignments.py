"""Handing out a dataset's sounds to annotators: a batch of assignments, moving unsubmitted work, taking it back.

The sounds are the ones a catalogue filter chooses (core/catalogue/search.py's CatalogueQuery: dataset, tags,
metadata). Each gets ``per_sound`` annotators, or, with a ``share`` below 1, a seeded share of them does (exactly
round(share x sounds), chosen by a seeded order of their sample keys) and the rest get one. Annotators are dealt
round-robin in the sounds' id order, so each ends with the same number of sounds, give or take one.

Sounds that already have an assignment are left as they are: assigning the same filter again hands out only the
sounds added since, and two assigners at once cannot give a sound twice to one person (the unique (sound,
annotator) pair, written with ON CONFLICT DO NOTHING). The sounds are read in id order a page at a time and written
in batches, so memory stays bounded and time linear at 100,000 sounds; no statement carries the catalogue's ids.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

from sqlalchemy import BigInteger, ColumnElement, Select, cast, delete, func, literal, select, text, update
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

WRITE_BATCH = 1_000  # assignment rows per INSERT statement
READ_PAGE = 5_000  # sounds read per query while dealing
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


def _unassigned(query: CatalogueQuery, after: str | None = None) -> Select:
    """The sounds the filter chooses that no one has been assigned yet; ``after``: only those past this id, said
    in each per-sound condition too (as core/catalogue/search.py's ``beyond``), so PostgreSQL looks up each page's
    sounds' assignments by key rather than hashing every assignment for every page (26.6 s vs 2.0 s for 10x)."""
    taken = select(Assignment.id).where(Assignment.sound_id == Sound.id)
    if after is None:
        return narrowed(select(Sound.id), query.checked(), None).where(~taken.exists())
    taken = taken.where(Assignment.sound_id > after)
    return narrowed(select(Sound.id), query.checked(), None, beyond=(after, False)).where(Sound.id > after, ~taken.exists())


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


def _chosen(session: Session, query: CatalogueQuery, seed: int) -> Iterator[tuple[str, int]]:
    """(sound id, seeded place) of the unassigned sounds, in id order, a page at a time (keyset on id)."""
    place = _place(seed)
    last = ""
    while True:
        rows = session.execute(_unassigned(query, last).add_columns(place).order_by(Sound.id).limit(READ_PAGE)).all()
        yield from ((row[0], int(row[1])) for row in rows)
        if len(rows) < READ_PAGE:
            return
        last = rows[-1][0]


def assign(session: Session, actor: User, request: AssignRequest) -> AssignSummary:
    """Hand the chosen sounds out (see the module's docstring); one batch row records how."""
    people = _annotators(session, request.annotators)
    _check(request, len(people))
    dataset = str(request.query.dataset)
    require_dataset(session, actor, Action.ASSIGN, dataset)
    pool = _unassigned(request.query)
    cut = _cut(session, pool, request.seed, request.share) if request.per_sound > 1 else (-1, "")
    batch = AssignmentBatch(id=new_id(), dataset=dataset, assigned_by=actor.id, per_sound=request.per_sound,
                            share=request.share, seed=request.seed, filter=describe(request.query), blind=request.blind,
                            hide_suggestions=request.hide_suggestions)
    session.add(batch)
    session.flush()
    summary = AssignSummary(batch.id, 0, 0, 0, {u.user_name: 0 for u in people})
    dealt = Counter[str]()
    turn = 0
    pending: list[dict[str, object]] = []
    for sound_id, place in _chosen(session, request.query, request.seed):
        several = cut is None or (place, sound_id) <= cut
        count = request.per_sound if several else 1
        for offset in range(count):
            person = people[(turn + offset) % len(people)]
            pending.append({"id": new_id(), "batch_id": batch.id, "sound_id": sound_id, "annotator_id": person.id,
                            "state": AssignmentState.TO_DO.value})
            dealt[person.user_name] += 1
        turn = (turn + count) % len(people)
        summary.sounds += 1
        summary.multiple += count > 1
        if len(pending) >= WRITE_BATCH:
            summary.assignments += _write(session, pending)
            pending = []
    summary.assignments += _write(session, pending)
    summary.per_annotator.update(dealt)
    if not summary.sounds:
        session.delete(batch)
        summary.batch_id = None
    return summary


COLUMNS = ("id", "batch_id", "sound_id", "annotator_id", "state")
# PostgreSQL: a batch is one statement whose five columns are five array parameters, unnested by the server.
_UNNESTED = text(
    "INSERT INTO assignments (id, batch_id, sound_id, annotator_id, state, active_seconds, times_returned, date_created) "
    "SELECT id, batch_id, sound_id, annotator_id, state, 0, 0, :now FROM unnest(CAST(:id AS varchar[]), "
    "CAST(:batch_id AS varchar[]), CAST(:sound_id AS varchar[]), CAST(:annotator_id AS varchar[]), CAST(:state AS varchar[])) "
    "AS given(id, batch_id, sound_id, annotator_id, state) "
    "ON CONFLICT (sound_id, annotator_id) DO NOTHING RETURNING id")


def _write(session: Session, rows: list[dict[str, object]]) -> int:
    """Insert the assignments, a pair (sound, annotator) already there skipped; returns how many were new."""
    if not rows:
        return 0
    if session.get_bind().dialect.name == "postgresql":
        # psycopg sent SQLAlchemy's batched multi-row INSERTs at 0.5 s per 1,000 rows (bench figures in the commit)
        arrays = {name: [row[name] for row in rows] for name in COLUMNS}
        return len(session.execute(_UNNESTED, arrays | {"now": utcnow()}).all())
    # One statement compiled once and sent with the rows as parameters (SQLAlchemy's "insertmanyvalues" batches
    # them into multi-row INSERTs): a .values(rows) statement is compiled anew for every batch, 1.5 s per 1,000.
    statement = insert_for(session, Assignment).on_conflict_do_nothing(
        index_elements=["sound_id", "annotator_id"]).returning(Assignment.id)
    written = session.connection().execute(statement, rows)  # Core's path: the ORM's bulk insert costs twice as much
    return len(written.all())  # the rows written (rowcount of a many-row insert is not reliable: psycopg's is -1)


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
