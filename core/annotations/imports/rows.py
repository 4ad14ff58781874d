"""The one shape every reader gives: rows to import and problems with rows, each naming where in its file."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from core.errors import ValidationError


@dataclass(frozen=True)
class ParsedRow:
    """One annotation as a file states it, not yet matched to a sound.

    ``reference`` names the sound as the file does (a path, a file name, a recording id or a sound id); ``end`` is
    None for a row that covers its whole sound (a Kaldi utterance without segments). ``sound_row``: the row may be
    Earmark's own line for a sound without annotations (core/export/formats/: a NeMo row with ``sound_id`` and no
    offset, a Kaldi utterance ``<speaker>-<sound id>``), whose tags and text are the sound's and its metadata's:
    when ``sound_id`` is indeed the sound it lands on and it covers that sound, it is no region (the import counts
    it apart)."""

    where: str  # "line 12", "tier 'words', interval 3": where a person finds the row in its file
    reference: str
    start: float
    end: float | None
    tags: tuple[str, ...] = ()
    text: str | None = None
    channel: int | None = None
    sound_id: str | None = None
    sound_row: bool = False


@dataclass(frozen=True)
class RowProblem:
    """A row left out, and why, in a sentence that names its file and place."""

    file: str
    where: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}, {self.where}: {self.reason}"


@dataclass
class Parsed:
    """What a reader found in one file (or one Kaldi folder)."""

    file: str
    format: str
    rows: list[ParsedRow] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)

    def problem(self, where: str, reason: str) -> None:
        self.problems.append(RowProblem(self.file, where, reason))

    def refuse_if_unreadable(self, what: str) -> Parsed:
        """A file with problems and not one readable row is not this format at all: refused whole (ValidationError
        naming the file and its first problem), so nothing of the import is written."""
        if self.problems and not self.rows:
            first = self.problems[0]
            raise ValidationError("file", f"{self.file} is not {what}: {first.where}: {first.reason}")
        return self


class RowError(ValueError):
    """A reader's reason to leave one row out (caught where the row is read, becoming a RowProblem)."""


def number(value: object, name: str) -> float:
    """A time in seconds from a file's field, or RowError naming the field."""
    try:
        seconds = float(str(value).strip())
    except (TypeError, ValueError):
        raise RowError(f"{name} must be a number, not {str(value)[:40]!r}.") from None
    if not math.isfinite(seconds) or seconds < 0:
        raise RowError(f"{name} must be a finite number of seconds, at least 0, not {value!r}.")
    return seconds


def decode(name: str, data: bytes) -> str:
    """A text file's content (UTF-8, with or without BOM; UTF-16 with BOM as Praat writes), or the whole file refused."""
    encoding = "utf-16" if data.startswith((b"\xff\xfe", b"\xfe\xff")) else "utf-8-sig"
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise ValidationError("file", f"{name} is not a text file (byte {exc.start} is not {encoding.upper()}).") from None


def numbered_lines(text: str) -> Iterator[tuple[int, str]]:
    """Non-blank lines with their 1-based numbers."""
    for number_, line in enumerate(text.splitlines(), 1):
        if line.strip():
            yield number_, line


def merged(rows: Iterable[ParsedRow], key: Callable[[ParsedRow], object] | None = None) -> list[ParsedRow]:
    """Rows naming the same sound, span and channel as one row with all their tags and texts: a format that says
    one label per line or tier (RTTM, TextGrid, ELAN) gives back an annotation with several tags as one. The
    first row's place is kept. Linear in rows."""
    found: dict[object, ParsedRow] = {}
    for row in rows:
        ident = key(row) if key else (row.reference, row.sound_id, round(row.start, 6),
                                      None if row.end is None else round(row.end, 6), row.channel)
        before = found.get(ident)
        if before is None:
            found[ident] = row
            continue
        tags = before.tags + tuple(t for t in row.tags if t not in before.tags)
        texts = [t for t in (before.text, row.text) if t]
        text = before.text if row.text in (None, before.text) else " ".join(texts)
        found[ident] = ParsedRow(before.where, before.reference, before.start, before.end, tags, text, before.channel,
                                 before.sound_id)
    return list(found.values())
