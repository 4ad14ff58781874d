"""Bringing parsed rows into a dataset: each matched to its sound (core/annotations/imports/matching.py), checked as
a person's annotation is (core/annotations/service.py), and written in batches of sounds, one INSERT per batch.

Whose: the importing person's own annotations, or with ``as_suggestions`` a named featurebot's suggestions
(``bot-<name>``, source ``<name>:import``), which people then accept or reject like an analyzer's; a suggestion
someone already reviewed is not suggested again (as core/jobs/queue.py does for analyzers).

Importing the same file twice does not double: a row is left out ("already there") when its author already has an
annotation on that sound with the same start and end (to the millisecond), channel, tags and text, also when two
rows of one import say the same thing. So that two imports by one author at once cannot both find nothing and both
write, the import holds that author's user row locked (``SELECT ... FOR UPDATE``) for its transaction; SQLite's
writer lock (core/store/db.py: BEGIN IMMEDIATE) serializes them there. The whole import is one transaction: a file
refused whole, an unknown dataset or a failure part-way writes nothing.

A row over its whole sound with no tag and no text, or Earmark's own row for a sound (rows.ParsedRow's
``sound_row``), is not an annotation but a training manifest's entry for a sound nobody annotated
(core/export/formats/nemo.py and kaldi.py write them): counted apart (``whole_without_text``), neither named as a
row left out nor made a region, so importing Earmark's own export gives back its regions and reports nothing wrong.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import cast

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.orm import Session, lazyload

from core.accounts.permissions import Action, require
from core.accounts.users import UserService
from core.annotations.imports.detect import ImportFile, read_files
from core.annotations.imports.matching import Matcher
from core.annotations.imports.rows import Parsed, ParsedRow, RowProblem
from core.annotations.service import _build
from core.errors import NotFound, ValidationError
from core.store.db import Database, batched, one_of
from core.store.ids import new_id
from core.store.models import Annotation, AnnotationTag, ReviewedSuggestion, Sound, User, utcnow
from core.team import visibility

BOT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,59}$")
SOUNDS_PER_BATCH = 500  # sounds whose rows are checked and inserted together
WHOLE_FILE_SLACK = 0.0011  # seconds: a row within 1 ms of a sound's start and end covers it (Kaldi writes 3 decimals)
BOT_ABOUT = "Suggestions imported from annotation files made in other tools (python -m core annotations import)."

Key = tuple[str, int, int, int | None, str | None, tuple[str, ...]]


@dataclass
class ImportReport:
    """What an import did: files read (name, format, rows), annotations written, rows already there, rows left out."""

    files: list[tuple[str, str, int]] = field(default_factory=list)
    imported: int = 0
    already: int = 0
    problems: list[RowProblem] = field(default_factory=list)
    author: str = ""
    whole_without_text: int = 0  # rows over a whole sound with no tag and no text: not annotations, skipped

    def line(self) -> str:
        formats = ", ".join(sorted({fmt for _, fmt, _ in self.files}))
        skipped = (f", {self.whole_without_text:,} whole-sound row{'s' if self.whole_without_text != 1 else ''} skipped "
                   "(a sound's own tags and text, not a region)") if self.whole_without_text else ""
        return (f"{len(self.files)} file{'s' if len(self.files) != 1 else ''} ({formats}): {self.imported:,} annotation"
                f"{'s' if self.imported != 1 else ''} imported as {self.author}'s, {self.already:,} already there, "
                f"{len(self.problems):,} row{'s' if len(self.problems) != 1 else ''} left out{skipped}")


def import_annotations(db: Database, actor: User, dataset: str, files: list[ImportFile], *, fmt: str | None = None,
                       as_suggestions: bool = False, bot: str = "import",
                       progress: Callable[[int], None] | None = None, on_plan: Callable[[int], None] | None = None) -> ImportReport:
    """Read ``files`` (each by its format: ``fmt``, or detected), match their rows to ``dataset``'s sounds and write
    them; ``progress(n)`` after each batch of n rows, ``on_plan(rows)`` once the rows are read. A file that is not
    its format at all, or an unknown dataset, raises with nothing written; a bad row is a problem in the report."""
    require(actor, Action.IMPORT_SUGGESTIONS if as_suggestions else Action.ANNOTATE)
    if not files:
        raise ValidationError("file", "Give at least one annotation file to import.")
    parsed = read_files(files, fmt)
    report = ImportReport(files=[(p.file, p.format, len(p.rows)) for p in parsed],
                          problems=[problem for p in parsed for problem in p.problems])
    if on_plan:
        on_plan(sum(len(p.rows) for p in parsed))
    with db.write() as session:
        author, source = _author(session, actor, as_suggestions, bot)
        report.author = author.user_name
        session.execute(select(User.id).where(User.id == author.id).with_for_update())  # one import per author at a time
        placed = _placed(session, dataset, parsed, report)
        for batch in batched(list(placed), SOUNDS_PER_BATCH):
            _write(session, author, source, {sound_id: placed[sound_id] for sound_id in batch}, report)
            if progress:
                progress(sum(len(placed[sound_id]) for sound_id in batch))
    order = {name: i for i, (name, _, _) in enumerate(report.files)}
    report.problems.sort(key=lambda p: (order.get(p.file, len(order)), p.file, _line(p.where)))
    return report


def _line(where: str) -> tuple[int, str]:
    """Problems in file order: "line 12" by its number, the rest ("tier 'x', ...") by their words."""
    found = re.match(r"^line (\d+)", where)
    return (int(found.group(1)), "") if found else (0, where)


def _author(session: Session, actor: User, as_suggestions: bool, bot: str) -> tuple[User, str | None]:
    if not as_suggestions:
        return session.get_one(User, actor.id), None
    name = (bot or "").strip()
    if not BOT_NAME.match(name):
        raise ValidationError("bot", f"The featurebot's name must be 1 to 60 letters, digits, '.', '_' or '-' (it becomes "
                                     f"the account bot-<name>), not {name[:70]!r}.")
    user = UserService(session).system_user(f"bot-{name}", "featurebot", about_me=BOT_ABOUT)
    if user.user_type != "featurebot":
        raise ValidationError("bot", f"bot-{name} is a {user.user_type} account, not a featurebot: choose another name.")
    return user, f"{name}:import"


def _placed(session: Session, dataset: str, parsed: list[Parsed], report: ImportReport) -> dict[str, list[tuple[Parsed, ParsedRow]]]:
    """Rows by the sound they are on; a row that names no sound (or several) becomes a problem."""
    rows = [(p, row) for p in parsed for row in p.rows]
    matcher = Matcher(session, dataset, (row.reference for _, row in rows), (row.sound_id or "" for _, row in rows))
    if matcher.size == 0:
        raise NotFound(f"There is no dataset {dataset!r} (it has no sounds): import its audio first.")
    placed: dict[str, list[tuple[Parsed, ParsedRow]]] = defaultdict(list)
    for p, row in rows:
        try:
            placed[matcher.sound(row.reference, row.sound_id)].append((p, row))
        except LookupError as exc:
            report.problems.append(RowProblem(p.file, row.where, str(exc)))
    return placed


def _write(session: Session, author: User, source: str | None, rows: dict[str, list[tuple[Parsed, ParsedRow]]],
           report: ImportReport) -> None:
    """Check and insert one batch of sounds' rows (one INSERT for the annotations, one for their tags)."""
    ids = list(rows)
    query = select(Sound).where(one_of(session, Sound.id, ids))
    # A person's own rows go only on sounds they may see (core/team/visibility.py: a blind annotator's own sounds),
    # as AnnotationService.create allows; a featurebot's suggestions (source) are not a person's view.
    shown = visibility.sound_condition(session, author) if source is None else None
    sounds = {s.id: s for s in session.scalars((query if shown is None else query.where(shown))
                                               .options(lazyload(Sound.fields), lazyload(Sound.tags), lazyload(Sound.file)))}
    seen, reviewed = _existing(session, ids, author.id, source), _reviewed(session, ids, source)
    made: list[Annotation] = []
    for sound_id, items in rows.items():
        sound = sounds.get(sound_id)
        if sound is None:  # hidden from the author: a sound that is not there
            report.problems += [RowProblem(parsed.file, row.where, f"no sound of this dataset is {row.reference or row.sound_id!r} "
                                           "(matched by sound id, path or file name).") for parsed, row in items]
            continue
        for parsed, row in items:
            if _whole_without_text(row, sound):
                report.whole_without_text += 1
                continue
            try:
                annotation = _build(author, sound, start_seconds=row.start,
                                    end_seconds=sound.duration_seconds if row.end is None else row.end,
                                    tags=list(row.tags), text=row.text, channel=_channel(sound, row.channel), source=source)
            except ValidationError as exc:
                report.problems.append(RowProblem(parsed.file, row.where, f"{exc} (sound {sound.path})"))
                continue
            key = _key(annotation)
            if key in seen or (sound_id, key[1], round(annotation.duration_seconds * 1000)) in reviewed:
                report.already += 1
                continue
            seen.add(key)
            made.append(annotation)
    _insert(session, made)
    _count(session, Counter(a.sound_id for a in made))
    report.imported += len(made)


def _insert(session: Session, made: list[Annotation]) -> None:
    """The checked annotations as two executemany INSERTs (annotations, then their tags) of plain rows: the
    objects _build made are not added to the session, whose flush would track each one."""
    now = utcnow()
    rows, tags = [], []
    for annotation in made:
        annotation_id = new_id()
        rows.append({"id": annotation_id, "sound_id": annotation.sound_id, "created_by": annotation.created_by,
                     "start_seconds": annotation.start_seconds, "duration_seconds": annotation.duration_seconds,
                     "text": annotation.text, "data_url": annotation.data_url, "channel": annotation.channel,
                     "version": 1, "source": annotation.source, "date_created": now, "date_updated": now})
        tags += [{"annotation_id": annotation_id, "tag": tag} for tag in annotation.tag_names]
    if rows:
        session.execute(insert(Annotation), rows)
    if tags:
        session.execute(insert(AnnotationTag), tags)


def _count(session: Session, added: Counter[str]) -> None:
    """Each sound's annotation count up by what this batch added, in SQL (concurrent writers all count, as in
    core/annotations/service.py), as one executemany on the table: an ORM UPDATE per sound would first look through
    every object of the session for ones to refresh, which for a batch's thousands of new annotations was
    quadratic (241 s for 10,000 rows over 1,000 sounds)."""
    if not added:
        return
    sounds = cast(Table, Sound.__table__)
    session.execute(update(sounds).where(sounds.c.id == bindparam("sound"))
                    .values(annotation_count=sounds.c.annotation_count + bindparam("added")),
                    [{"sound": sound_id, "added": count} for sound_id, count in added.items()])


def _whole_without_text(row: ParsedRow, sound: Sound) -> bool:
    """A row over the whole sound (to the millisecond) with no tag and no text, or Earmark's own row for this sound
    (rows.ParsedRow's ``sound_row``, its tags and text the sound's): a training manifest's entry for a sound nobody
    annotated (core/export/formats/nemo.py and kaldi.py write one per such sound), not an annotation, so it is
    counted apart rather than named as a bad row or made a region."""
    if (row.tags or (row.text or "").strip()) and not (row.sound_row and row.sound_id == sound.id):
        return False
    return row.end is None or (row.start <= WHOLE_FILE_SLACK and abs(row.end - sound.duration_seconds) <= WHOLE_FILE_SLACK)


def _channel(sound: Sound, channel: int | None) -> int | None:
    """Channel 0 of a one-channel sound is the sound itself: no channel, as people's annotations have there
    (Label Studio and Earmark's annotations.json write 0 for "no channel"), so an export comes back the same."""
    return None if channel == 0 and sound.channels == 1 else channel


def _key(annotation: Annotation) -> Key:
    return (annotation.sound_id, round(annotation.start_seconds * 1000),
            round((annotation.start_seconds + annotation.duration_seconds) * 1000), annotation.channel,
            annotation.text, tuple(annotation.tag_names))


def _existing(session: Session, sound_ids: list[str], author_id: str, source: str | None) -> set[Key]:
    """What the author already has on these sounds, as the keys an identical row would have."""
    whose = Annotation.source == source if source else Annotation.source.is_(None)
    found: dict[str, tuple[str, float, float, int | None, str | None, list[str]]] = {}
    for row in session.execute(
            select(Annotation.id, Annotation.sound_id, Annotation.start_seconds, Annotation.duration_seconds,
                   Annotation.channel, Annotation.text, AnnotationTag.tag)
            .outerjoin(AnnotationTag, AnnotationTag.annotation_id == Annotation.id)
            .where(one_of(session, Annotation.sound_id, sound_ids), Annotation.created_by == author_id, whose)):
        item = found.setdefault(row.id, (row.sound_id, row.start_seconds, row.duration_seconds, row.channel, row.text, []))
        if row.tag is not None:
            item[5].append(row.tag)
    return {(s, round(start * 1000), round((start + duration) * 1000), channel, text, tuple(sorted(tags)))
            for s, start, duration, channel, text, tags in found.values()}


def _reviewed(session: Session, sound_ids: list[str], source: str | None) -> set[tuple[str, int, int]]:
    """(sound, start ms, duration ms) of this source's suggestions people accepted or rejected: not suggested again."""
    if not source:
        return set()
    return {(row.sound_id, row.start_ms, row.duration_ms) for row in session.execute(
        select(ReviewedSuggestion.sound_id, ReviewedSuggestion.start_ms, ReviewedSuggestion.duration_ms)
        .where(one_of(session, ReviewedSuggestion.sound_id, sound_ids), ReviewedSuggestion.source == source))}
