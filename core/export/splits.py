"""Named splits (train/dev/test) that never leak a group across them, stay put as the dataset grows, and say so.

A split rule names its splits and their shares (``train=0.8,dev=0.1,test=0.1``), the metadata columns whose
values make a group (speaker, recording session, prompt text: every sound of a group lands in one split), an
optional column to stratify by (each of its values split in the same shares), whether shares count sounds or
hours of audio, and a seed.

How groups are placed, and why:

- A sound's split is **stored** as its metadata field (``split`` by default), so it is filterable in Browse and an
  export, and so a sound placed once stays placed: a later run keeps every stored split (even where a group's stored
  sounds disagree, as after a run with another rule: the leakage report then shows that group across splits) and
  places only the rest. A new sound of a group with stored sounds joins the group's most common split; groups with
  none are placed. Adding speakers never moves one; ``resplit`` (``--resplit``) forgets the stored splits first.
- New groups are taken largest first (ties in a seeded random order: sha256 of the seed and the group's values) and
  each goes to the split furthest below its share *within its stratum*, counting what is placed already (between
  splits equally far below within the stratum: the one furthest below overall). Largest first, the small groups come
  last and fill the small splits, so the shares are met to within the weight of one group (the report says by how
  much). The same seed and data give the same splits.
- A ``group_by`` or ``stratify`` column that no matched sound has a value in is refused before anything is stored (a
  misspelled column would otherwise make every sound a group of its own, silently).
- Groups are hashed from their values only, so the same speaker gets the same place in any dataset split with the
  same seed.

:func:`leakage` is the report every split export carries: groups across splits (none, by construction, unless stored
splits were made with another rule), identical audio (sha256) across splits, identical transcripts across splits
(annotation texts and the metadata's transcript column, as the training formats take a sound's text), near-duplicates
across splits (sounds sharing a ``duplicates.group``, when the duplicates analyzer has run:
core/jobs/analyzers/duplicates.py), each with a few examples naming a file (``dataset/path``) per split, and per
split its sounds, hours, groups and the balance of the stratifying column. :func:`split_lines` says per split what it
got against its share (the command line and the Download page alike).
"""

from __future__ import annotations

import hashlib
import json
import re
import zipfile
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any, BinaryIO, cast

from sqlalchemy import String, and_, delete, func, literal, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from core.annotations.imports.table import COLUMNS as TABLE_COLUMNS
from core.annotations.imports.table import transcript_in
from core.catalogue.search import CatalogueQuery, narrowed, text_index
from core.errors import NotFound, ValidationError
from core.export.outline import Outline, outline
from core.export.subset import ExportPlan, ExportRequest, ZipStream, plan_export, write_members, write_zip, zip_of_folders
from core.store.db import Database, batched, insert_for, one_of
from core.store.models import Annotation, Sound, SoundField
from core.store.storage import Storage

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,31}$")
TOLERANCE = 1e-6  # how far from 1 the shares may sum
_OWN = "\x00sound"  # the group of a sound without a value in a group_by column: itself
STORE_BATCH = 10_000  # splits stored per statement (executemany)
DUPLICATES_GROUP = "duplicates.group"  # core/jobs/analyzers/duplicates.py's field (export knows no jobs)
TEXT_COLUMNS = TABLE_COLUMNS["text"]  # a sound's metadata transcript: the first of these with words (as the training formats take it)


class Weight(StrEnum):
    """What a split's share counts."""

    SOUNDS = "sounds"
    HOURS = "hours"


@dataclass(frozen=True)
class SplitRule:
    shares: tuple[tuple[str, float], ...]
    group_by: tuple[str, ...] = ()  # metadata columns; none: every sound is a group of its own
    stratify: str | None = None
    weight: Weight = Weight.SOUNDS
    seed: int = 0
    field: str = "split"  # the metadata field that stores each sound's split
    resplit: bool = False  # forget the matched sounds' stored splits before placing (start over)

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.shares]

    @property
    def columns(self) -> tuple[str, ...]:
        """The metadata columns the rule reads a value of: its groups' and its strata's."""
        return tuple(dict.fromkeys([*self.group_by, *([self.stratify] if self.stratify else [])]))

    def describe(self) -> dict[str, Any]:
        return {"shares": dict(self.shares), "group_by": list(self.group_by), "stratify": self.stratify,
                "weight": self.weight.value, "seed": self.seed, "field": self.field, **({"resplit": True} if self.resplit else {})}

    @classmethod
    def described(cls, fields: Mapping[str, Any]) -> SplitRule:
        """The rule :meth:`describe` gave (a signed link carries it), its shares checked again."""
        shares = parse_shares(",".join(f"{name}={share}" for name, share in dict(fields["shares"]).items()))
        return cls(shares, tuple(str(c) for c in fields.get("group_by", ())), fields.get("stratify") or None,
                   Weight(fields.get("weight", Weight.SOUNDS.value)), int(fields.get("seed", 0)), str(fields.get("field", "split")),
                   bool(fields.get("resplit", False)))


def parse_shares(text: str) -> tuple[tuple[str, float], ...]:
    """``train=0.8,dev=0.1,test=0.1`` as (name, share) pairs; one sentence naming what is wrong otherwise."""
    shares: list[tuple[str, float]] = []
    for part in (p.strip() for p in (text or "").split(",") if p.strip()):
        name, _, value = part.partition("=")
        name = name.strip()
        if not _NAME.match(name):
            raise ValidationError("split", f"The split name {name!r} must start with a letter and hold at most 32 letters, "
                                           "digits, '_' or '-' (as in train=0.8,dev=0.1,test=0.1).")
        try:
            share = float(value)
        except ValueError:
            raise ValidationError("split", f"The share of split {name!r} must be a number, not {value.strip()!r}.") from None
        if not 0 < share <= 1:
            raise ValidationError("split", f"The share of split {name!r} must be above 0 and at most 1, not {share:g}.")
        shares.append((name, share))
    if len(shares) < 2:
        raise ValidationError("split", "Name at least two splits with their shares, as in train=0.8,dev=0.1,test=0.1.")
    if len({n for n, _ in shares}) != len(shares):
        raise ValidationError("split", "Each split may be named only once.")
    total = sum(s for _, s in shares)
    if abs(total - 1) > TOLERANCE:
        raise ValidationError("split", f"The shares must add up to 1, not {total:g}.")
    return tuple(shares)


@dataclass(slots=True)
class _Member:
    sound_id: str
    seconds: float
    sha256: str | None
    values: dict[str, str | None]  # the rule's columns (group_by, stratify, its own field)


@dataclass
class Placement:
    """Each sound's split, and what was placed now: the groups placed by this run and the sounds newly stored."""

    splits: dict[str, str] = field(default_factory=dict)  # sound id -> split
    groups: dict[tuple[str, ...], str] = field(default_factory=dict)  # group -> split
    new_groups: int = 0
    new_sounds: int = 0
    own_groups: int = 0  # sounds without a value in a group_by column: each placed as a group of its own
    kept_groups: int = 0  # groups with stored splits: each stored sound stayed, new ones joined the group's most common


def _members(session: Session, query: CatalogueQuery, viewer_id: str | None, rule: SplitRule) -> list[_Member]:
    """Every sound the query matches, with its duration, sha256 and the rule's columns, in one query (a scalar
    subquery per column: no IN list of the sounds)."""
    columns = list(dict.fromkeys([*rule.columns, rule.field]))
    values = [select(SoundField.value).where(SoundField.sound_id == Sound.id, SoundField.name == name).scalar_subquery()
              for name in columns]
    statement = _matching(session, query, viewer_id).with_only_columns(Sound.id, Sound.duration_seconds, Sound.sha256, *values)
    return [_Member(row[0], float(row[1] or 0.0), row[2], dict(zip(columns, row[3:], strict=True)))
            for row in session.execute(statement)]


def _matching(session: Session, query: CatalogueQuery, viewer_id: str | None) -> Any:
    """The ids of the sounds ``query`` matches, as a select (Browse's filters, what ``viewer_id`` may see): read
    with the rule's columns, checked for them, or their stored splits deleted, never listed first."""
    return narrowed(select(Sound.id), query.checked(), viewer_id, text_index(session))


def _group_of(member: _Member, rule: SplitRule) -> tuple[str, ...]:
    if not rule.group_by:
        return (_OWN, member.sound_id)
    values = tuple(member.values.get(c) for c in rule.group_by)
    if any(v in (None, "") for v in values):
        return (_OWN, member.sound_id)
    return tuple(str(v) for v in values)


def _order(seed: int, group: tuple[str, ...]) -> str:
    return hashlib.sha256("\x1f".join((str(seed), *group)).encode()).hexdigest()


def place(members: list[_Member], rule: SplitRule) -> Placement:
    """Where each sound goes (pure: no database). A stored split never moves: a group with stored sounds keeps each
    of them where it is and its new sounds join its most common split; groups without any are placed largest first
    (ties in the seeded order), each in the split most behind its share (:class:`_Tally`)."""
    groups: dict[tuple[str, ...], list[_Member]] = defaultdict(list)
    for member in members:
        groups[_group_of(member, rule)].append(member)
    result = Placement(own_groups=sum(1 for g in groups if g[0] == _OWN) if rule.group_by else 0)
    rank = {name: i for i, name in enumerate(rule.names)}
    hours = rule.weight is Weight.HOURS
    tally = _Tally(rule)
    pending = []
    for group, items in groups.items():
        stratum = _stratum(items, rule)
        size = sum(m.seconds for m in items) / 3600 if hours else float(len(items))
        tally.expect(stratum, size)
        stored = Counter(v for m in items if (v := m.values.get(rule.field)) is not None and v in rank)
        if not stored:
            pending.append((-size, _order(rule.seed, group), group, stratum, size))
            continue
        result.groups[group] = common = max(stored, key=lambda s: (stored[s], -rank[s]))
        result.kept_groups += 1
        for member in items:
            own = member.values.get(rule.field)
            split = own if own is not None and own in stored else common
            result.splits[member.sound_id] = split
            tally.add(stratum, split, member.seconds / 3600 if hours else 1.0)
    for _, _, group, stratum, size in sorted(pending):
        result.groups[group] = split = tally.most_behind(stratum)
        tally.add(stratum, split, size)
        result.splits.update((member.sound_id, split) for member in groups[group])
        result.new_groups += 1
    result.new_sounds = sum(1 for member in members if member.values.get(rule.field) != result.splits[member.sound_id])
    return result


def _stratum(items: list[_Member], rule: SplitRule) -> str | None:
    """The group's most common value of the stratifying column (ties: the first in sort order, whatever the
    sounds' order)."""
    if not rule.stratify:
        return None
    counts = Counter(m.values.get(rule.stratify) or "" for m in items)
    return min(counts, key=lambda value: (-counts[value], value))


class _Tally:
    """The weight placed in each split, per stratum and overall, beside the weight each stratum holds: which split
    is most behind its share."""

    def __init__(self, rule: SplitRule) -> None:
        self.shares = rule.shares
        self.placed: defaultdict[str | None, defaultdict[str, float]] = defaultdict(lambda: defaultdict(float))
        self.totals: defaultdict[str | None, float] = defaultdict(float)  # stratum -> its weight, placed or not
        self.overall: defaultdict[str, float] = defaultdict(float)  # split -> weight placed in any stratum
        self.total = 0.0

    def expect(self, stratum: str | None, size: float) -> None:
        self.totals[stratum] += size
        self.total += size

    def add(self, stratum: str | None, split: str, size: float) -> None:
        self.placed[stratum][split] += size
        self.overall[split] += size

    def most_behind(self, stratum: str | None) -> str:
        """The split furthest below its share of the stratum; between splits equally far (to rounding), the one
        furthest below its share overall, then the rule's order. Without this a stratified split's ties all went to
        the first named (dev), leaving test empty."""
        placed, total = self.placed[stratum], self.totals[stratum]
        return max(self.shares, key=lambda pair: (round(pair[1] * total - placed[pair[0]], 9),
                                                  pair[1] * self.total - self.overall[pair[0]]))[0]


def assign(session: Session, query: CatalogueQuery, rule: SplitRule, viewer_id: str | None = None) -> Placement:
    """Place the sounds ``query`` matches and store each one's split as its metadata field ``rule.field`` (an
    upsert per sound whose split is new or changed, in batches). ValidationError, and nothing stored, for a
    column of the rule no matched sound has; with ``rule.resplit`` the matched sounds' stored splits are deleted
    first (one statement, in this transaction)."""
    check_columns(session, query, rule, viewer_id)
    if rule.resplit:
        _forget(session, query, rule, viewer_id)
    members = _members(session, query, viewer_id, rule)
    placement = place(members, rule)
    store(session, members, placement, rule)
    return placement


def check_columns(session: Session, query: CatalogueQuery, rule: SplitRule, viewer_id: str | None = None) -> None:
    """ValidationError naming the first ``group_by`` or ``stratify`` column in which no sound ``query`` matches has a
    value, and the columns they have: a misspelled column would make every sound a group of its own (all in one
    stratum), silently. Per column, the column's rows in sound_fields' (name, value) index until one belongs to a
    matching sound (EXISTS: an IN over the matching sounds made SQLite list them all first, 70 ms at 50,000)."""
    sounds = _matching(session, query, viewer_id)
    for column in rule.columns:
        found = select(SoundField.sound_id).where(SoundField.name == column, SoundField.value != "",
                                                  sounds.where(Sound.id == SoundField.sound_id).exists()).limit(1)
        if session.scalar(found) is None:
            if session.scalar(sounds.limit(1)) is None:
                return  # no sound matches at all: the caller's NotFound says so
            option = "group_by" if column in rule.group_by else "stratify"
            role = "group by" if option == "group_by" else "stratify by"
            raise ValidationError(option, f"No sound these filters match has a value in the column {column!r} to {role}; "
                                          f"their columns are: {_columns_of(session, sounds)}.")


def _columns_of(session: Session, sounds: Any) -> str:
    """The metadata columns of ``sounds`` (a select of sound ids), as a sentence's list (for an error only: it reads
    every field of those sounds)."""
    names = list(session.scalars(select(SoundField.name).where(SoundField.sound_id.in_(sounds)).distinct()
                                 .order_by(SoundField.name).limit(50)))
    return ", ".join(names) if names else "none (these sounds have no metadata)"


def _forget(session: Session, query: CatalogueQuery, rule: SplitRule, viewer_id: str | None) -> None:
    """Delete the stored split field of every sound ``query`` matches: one DELETE whose subquery names the sounds (no
    list read first, so a sound placed meanwhile by another export is caught by the same statement)."""
    sounds = _matching(session, query, viewer_id)
    session.execute(delete(SoundField).where(SoundField.name == rule.field, SoundField.sound_id.in_(sounds))
                    .execution_options(synchronize_session=False))


def store(session: Session, members: list[_Member], placement: Placement, rule: SplitRule) -> None:
    """Each sound's split as its field ``rule.field``, written only where it is new or changed: one upsert
    statement run over batches of rows (executemany), on both databases race-free (ON CONFLICT). A value already
    stored that is one of the rule's splits is never overwritten, even one another export stored after this one read
    the sounds: two exports placing the same new sounds at once agree on the first one's split (a stored split never
    moves; only a value outside the rule's names, such as an imported ``valid``, is replaced)."""
    field, splits = rule.field, placement.splits
    changed = ({"sound_id": m.sound_id, "name": field, "value": splits[m.sound_id]}
               for m in members if m.values.get(field) != splits[m.sound_id])
    if session.get_bind().dialect.name == "postgresql":
        _store_arrays(session, changed, rule)
        return
    table = cast(Any, SoundField.__table__)
    statement = insert_for(session, table)  # the table's: the ORM's bulk path cost 15 us a row
    upsert = statement.on_conflict_do_update(index_elements=["sound_id", "name"], set_={"value": statement.excluded.value},
                                             where=and_(*(table.c.value != name for name in rule.names)))
    connection = session.connection()
    for batch in batched(changed, STORE_BATCH):
        # executemany of one statement: a VALUES list of the whole batch took SQLAlchemy 0.8 s a batch to compile
        connection.execute(upsert, batch)


def _store_arrays(session: Session, changed: Iterable[dict[str, str]], rule: SplitRule) -> None:
    """PostgreSQL: each batch as two array parameters unnested into one upsert (executemany through psycopg wrote
    200,000 splits in 6.7 s: bench/splits.py); a stored split of the rule's is kept, as :func:`store` says."""
    field, connection = rule.field, session.connection()
    for batch in batched(changed, STORE_BATCH):
        rows = func.unnest(literal([r["sound_id"] for r in batch], ARRAY(String)),
                           literal([r["value"] for r in batch], ARRAY(String))).table_valued("sound_id", "value").render_derived()
        statement = postgresql.insert(SoundField).from_select(
            ["sound_id", "name", "value"], select(rows.c.sound_id, literal(field, String), rows.c.value))
        connection.execute(statement.on_conflict_do_update(index_elements=["sound_id", "name"],
                                                           set_={"value": statement.excluded.value},
                                                           where=and_(*(SoundField.value != name for name in rule.names))))


def leakage(session: Session, query: CatalogueQuery, rule: SplitRule, viewer_id: str | None = None) -> dict[str, Any]:
    """What the stored splits of the sounds ``query`` matches share across splits, and what each split holds."""
    members = [m for m in _members(session, query, viewer_id, rule) if m.values.get(rule.field) in rule.names]
    split_of = {m.sound_id: str(m.values[rule.field]) for m in members}
    report = {
        "rule": rule.describe(),
        "groups_across_splits": _across((_group_of(m, rule), split_of[m.sound_id], m.sound_id) for m in members),
        "identical_audio_across_splits": _across((m.sha256, split_of[m.sound_id], m.sound_id) for m in members if m.sha256),
        "identical_transcripts_across_splits": _across(_transcripts(session, split_of)),
        "splits": {name: _summary([m for m in members if split_of[m.sound_id] == name], rule) for name in rule.names},
    }
    if near := list(_near_duplicates(session, split_of)):
        report["near_duplicates_across_splits"] = _across(near)
    _name_files(session, report)
    return report


def _across(triples: Iterable[tuple[Any, str, str]], examples: int = 5) -> dict[str, Any]:
    """How many keys occur in more than one split, and a few of them with their splits and, per split, one sound
    holding the key (the smallest id: the same example each time; :func:`_name_files` turns it into a file name)."""
    where: dict[Any, dict[str, str]] = defaultdict(dict)
    for key, split, sound_id in triples:
        sounds = where[key]
        if split not in sounds or sound_id < sounds[split]:
            sounds[split] = sound_id
    shared = sorted(((key, sounds) for key, sounds in where.items() if len(sounds) > 1), key=lambda item: str(item[0]))
    return {"count": len(shared), "examples": [{"key": " / ".join(k) if isinstance(k, tuple) else k, "splits": sorted(sounds),
                                                "files": dict(sorted(sounds.items()))} for k, sounds in shared[:examples]]}


def _name_files(session: Session, report: dict[str, Any]) -> None:
    """Each example's sounds as ``dataset/path`` (what a person can open), looked up together: a few per example."""
    examples = [e for part in report.values() if isinstance(part, dict) for e in part.get("examples", ())]
    ids = sorted({sound_id for e in examples for sound_id in e["files"].values()})
    names = {sound_id: f"{dataset}/{path}" for sound_id, dataset, path in
             session.execute(select(Sound.id, Sound.dataset, Sound.path).where(one_of(session, Sound.id, ids)))} if ids else {}
    for example in examples:
        example["files"] = {split: names.get(sound_id, sound_id) for split, sound_id in example["files"].items()}


def _transcripts(session: Session, split_of: dict[str, str]) -> Iterable[tuple[str, str, str]]:
    """(normalised text, split, sound id) of every annotation with text on these sounds, and of each sound's
    metadata transcript: the first of the columns the training formats take a sound's text from (the annotation
    tables' text columns, core/annotations/imports/table.py, as core/export/formats/units.py's metadata_text
    chooses) with words in it. Lower case, spaces collapsed."""
    for batch in batched(list(split_of)):
        annotated = select(Annotation.sound_id, Annotation.text).where(one_of(session, Annotation.sound_id, batch),
                                                                       Annotation.text.is_not(None))
        for sound_id, text in session.execute(annotated):
            if normal := _normal(text):
                yield normal, split_of[sound_id], sound_id
        for sound_id, text in _metadata_transcripts(session, batch):
            if normal := _normal(text):
                yield normal, split_of[sound_id], sound_id


def _metadata_transcripts(session: Session, batch: list[str]) -> Iterable[tuple[str, str]]:
    """(sound id, transcript) of the sounds in ``batch`` with a metadata transcript column: the first in
    TEXT_COLUMNS' order that holds words."""
    found: dict[str, dict[str, str]] = defaultdict(dict)
    for sound_id, name, value in session.execute(select(SoundField.sound_id, SoundField.name, SoundField.value).where(
            one_of(session, SoundField.sound_id, batch), SoundField.name.in_(TEXT_COLUMNS))):
        found[sound_id][name] = value
    for sound_id, values in found.items():
        if text := transcript_in(values):
            yield sound_id, text


def _normal(text: str | None) -> str:
    return " ".join(str(text or "").lower().split())


def _near_duplicates(session: Session, split_of: dict[str, str]) -> Iterable[tuple[str, str, str]]:
    """(duplicates.group, split, sound id) of every sound here the duplicates analyzer put in a group (the group is
    named after its earliest sound, so copies in two splits share a key)."""
    for batch in batched(list(split_of)):
        for sound_id, group in session.execute(select(SoundField.sound_id, SoundField.value)
                                               .where(one_of(session, SoundField.sound_id, batch), SoundField.name == DUPLICATES_GROUP)):
            yield group, split_of[sound_id], sound_id


def _summary(members: list[_Member], rule: SplitRule) -> dict[str, Any]:
    summary: dict[str, Any] = {"sounds": len(members), "hours": round(sum(m.seconds for m in members) / 3600, 4),
                               "groups": len({_group_of(m, rule) for m in members})}
    if rule.stratify:
        summary[rule.stratify] = dict(sorted(Counter(m.values.get(rule.stratify) or "" for m in members).items()))
    return summary


def shares_met(report: dict[str, Any], rule: SplitRule) -> dict[str, float]:
    """Each split's share as placed (by the rule's weight), to set beside the shares asked for."""
    key = "hours" if rule.weight is Weight.HOURS else "sounds"
    total = sum(s[key] for s in report["splits"].values()) or 1
    return {name: round(s[key] / total, 4) for name, s in report["splits"].items()}


def preview(session: Session, query: CatalogueQuery, rule: SplitRule, viewer_id: str | None = None) -> dict[str, Any]:
    """What a split export of ``query`` would place, storing nothing: the manifest's rule, shares met, placed_now,
    placed_earlier and per-split sizes (no leakage lookups), so the Download page says what each split gets before
    the click and, from the splits then stored, what each got after it; ``stored_now`` counts per split the sounds
    whose split is already stored (the rest are placed when the download starts)."""
    members = _members(session, query, viewer_id, rule)
    if rule.resplit:  # the export forgets the stored splits first
        members = [replace(m, values={**m.values, rule.field: None}) for m in members]
    placement = place(members, rule)
    by_split: dict[str, list[_Member]] = defaultdict(list)
    for member in members:
        by_split[placement.splits[member.sound_id]].append(member)
    report = {"splits": {name: _summary(by_split[name], rule) for name in rule.names}}
    kept = Counter(split for m in members if m.values.get(rule.field) == (split := placement.splits[m.sound_id]))
    return {"split": rule.describe(), "shares_met": shares_met(report, rule), **_placed(placement), "leakage": report,
            "stored_now": {name: kept[name] for name in rule.names}}


def split_lines(summary: Mapping[str, Any], written: Mapping[str, str], empty: str = "nothing written") -> list[str]:
    """A line per split, in the rule's order, for a person: what was written of it (``written[split]``, as "12
    files in out/train.zip") with the share it met beside the share asked, or that it is empty (``empty`` says what
    is therefore missing) and why. The command line's split ZIPs and training formats, and the Download page, all
    say it with these lines."""
    met, sizes = summary["shares_met"], summary["leakage"]["splits"]
    lines = []
    for name, asked in summary["split"]["shares"].items():
        if sizes[name]["sounds"]:
            lines.append(f"{name}: {written[name]} (share {met[name]:.3f} of {asked:g} asked)")
        else:
            lines.append(f"{name}: empty, {empty} (share 0 of {asked:g} asked: {_why_empty(summary)})")
    return lines


def counted(number: int, noun: str) -> str:
    """``1 sound``, ``2 sounds``: a line a person reads names one thing in the singular."""
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


def leakage_line(leakage: Mapping[str, Any]) -> str:
    """The leakage report in one sentence, as the command line prints it after a split export."""
    return (f"Leakage: {counted(leakage['groups_across_splits']['count'], 'group')}, "
            f"{counted(leakage['identical_audio_across_splits']['count'], 'identical recording')} and "
            f"{counted(leakage['identical_transcripts_across_splits']['count'], 'identical transcript')} across splits")


def _why_empty(summary: Mapping[str, Any]) -> str:
    """Why a split got nothing: the groups placed now all went to splits further behind their shares, and (when so)
    sounds kept the splits stored by earlier exports, whatever rule placed them."""
    new, earlier = summary["placed_now"]["groups"], summary["placed_earlier"]["sounds"]
    why = [f"the {counted(new, 'group')} placed now went to splits further behind their shares" if new
           else "no group was placed now"]
    if earlier:
        why.append(f"{counted(earlier, 'sound')} {'keeps the split' if earlier == 1 else 'keep the splits'} earlier exports stored")
    return "; ".join(why)


def export_splits(db: Database, storage: Storage, request: ExportRequest, rule: SplitRule, folder: Path,
                  progress: Callable[[str], None] | None = None, overwrite: bool = False) -> dict[str, Any]:
    """Place the sounds the request's filters match (stored, as :func:`assign`), then write every sound of each
    split as ``folder/<split>.zip`` (the subset ZIP's layout) and ``folder/manifest.json``: the rule, the shares met,
    the leakage report and each ZIP's own manifest summary. NotFound, and nothing written (not even the folder),
    when no sound matches. A folder that holds files is refused first, unless ``overwrite`` replaces an earlier
    export there (core/export/formats/existing.py: a stale ``dev.zip`` must not outlive an empty dev)."""
    from core.export.formats.existing import claim, clear  # imported here: core/export/formats imports this module
    from core.export.formats.target import LocalTarget

    stale = claim(LocalTarget(folder), overwrite)
    splits = plan_split_zip(db, storage, request, rule)
    clear(LocalTarget(folder), stale)
    folder.mkdir(parents=True, exist_ok=True)
    return splits.write_files(folder, progress)


def _split_summary(rule: SplitRule, placement: Placement, report: dict[str, Any], request: ExportRequest,
                   formats: Sequence[str] | None = None) -> dict[str, Any]:
    """What a split export's manifest says about its splits: the rule (with its seed), the shares met, what this
    export placed and how many sounds kept splits stored earlier (by whatever rule placed them), the leakage report,
    and the request as exported: every matching sound (not a count to sample), the formats written, the rule."""
    exported = {"count": len(placement.splits), "balance": None, "cap": None,
                "formats": list(request.formats if formats is None else formats), "split": rule.describe()}
    return {"split": rule.describe(), "shares_met": shares_met(report, rule), **_placed(placement),
            "leakage": {k: v for k, v in report.items() if k != "rule"}, "request": request.describe() | exported}


def _placed(placement: Placement) -> dict[str, Any]:
    """The groups and sounds this run placed, and the sounds whose stored split it kept (placed by an earlier run)."""
    return {"placed_now": {"groups": placement.new_groups, "sounds": placement.new_sounds,
                           "sounds_without_a_group_value": placement.own_groups},
            "placed_earlier": {"sounds": len(placement.splits) - placement.new_sounds}}


def _split_request(request: ExportRequest, rule: SplitRule, name: str, sounds: int) -> ExportRequest:
    """Every sound of one split: the request's filters and the split's stored field, no sampling."""
    query = replace(request.query, where=(*request.query.where, (rule.field, name)))
    return replace(request, query=query, count=sounds, balance=None, cap=None)


@dataclass
class SplitZip:
    """A split export as one ZIP (the Download page's one click): a folder per split, each the subset ZIP's layout,
    and manifest.json on top. The sounds are placed (and their splits stored) when it is planned; each split's
    subset is planned as the ZIP reaches it and written a window of sounds at a time (core/export/subset.py)."""

    db: Database
    storage: Storage
    request: ExportRequest
    rule: SplitRule
    summary: dict[str, Any]
    sizes: dict[str, int]  # split -> sounds in it

    @property
    def name(self) -> str:
        return f"{self.request.query.dataset or 'earmark'}-{'-'.join(self.sizes)}.zip"

    def plan(self, split: str) -> ExportPlan:
        """Every sound of one split, planned as the subset export plans (outlined: read a window at a time)."""
        return plan_export(self.db, self.storage, _split_request(self.request, self.rule, split, self.sizes[split]))

    def outline(self, split: str) -> Outline:
        """Every sound of one split, outlined to be read a window at a time (core/export/formats writes it so)."""
        return outline(self.db, self.storage, _split_request(self.request, self.rule, split, self.sizes[split]))

    def write(self, out: BinaryIO) -> dict[str, Any]:
        """One ZIP, a folder per split (the subset ZIP's layout each) and the summary on top."""
        return zip_of_folders(out, ((split, self._writer(split)) for split in self.sizes), self.summary)

    def _writer(self, split: str) -> Callable[[zipfile.ZipFile, str], dict[str, Any]]:
        def write(zf: zipfile.ZipFile, folder: str) -> dict[str, Any]:
            return {"folder": folder, **_counts(write_members(zf, self.plan(split), self.storage, folder=folder))}
        return write

    def write_files(self, folder: Path, progress: Callable[[str], None] | None = None) -> dict[str, Any]:
        """A ZIP per split, ``folder/<split>.zip``, and ``folder/manifest.json`` (the command line's ``--to DIR``)."""
        exports: dict[str, Any] = {}
        for split in self.sizes:
            with open(folder / f"{split}.zip", "wb") as out:
                exports[split] = {"file": f"{split}.zip", **_counts(write_zip(self.plan(split), self.storage, out, progress))}
        summary = self.summary | {"exports": exports}
        (folder / "manifest.json").write_text(json.dumps(summary, indent=2))
        return summary

    def stream(self) -> ZipStream:
        return ZipStream(self.write)


def _counts(manifest: dict[str, Any]) -> dict[str, Any]:
    """What a split's entry in the summary repeats of its subset ZIP's manifest."""
    return {k: manifest[k] for k in ("count_included", "annotations", "missing")}


def plan_split_zip(db: Database, storage: Storage, request: ExportRequest, rule: SplitRule,
                   formats: Sequence[str] | None = None) -> SplitZip:
    """Place the sounds the request's filters match (stored, as :func:`assign`) and report leakage; NotFound when
    no sound matches. Nothing is streamed yet. ``formats``: every format the export writes, for the manifest's
    request (the request's own are the ZIP's annotation formats)."""
    with db.write() as session:
        placement = assign(session, request.query, rule, request.viewer_id)
    if not placement.splits:
        raise NotFound("No sounds match these filters.")
    with db.read() as session:
        report = leakage(session, request.query, rule, request.viewer_id)
    sizes = {name: report["splits"][name]["sounds"] for name in rule.names if report["splits"][name]["sounds"]}
    return SplitZip(db, storage, request, rule, _split_summary(rule, placement, report, request, formats), sizes)
