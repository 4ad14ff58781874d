"""A CSV (or TSV) of segments: a header row, then one annotation a row. Columns are found by their usual names
(case and spaces ignored): the file (``file``, ``file_name``, ``path``, ``audio``, ``audio_filepath``) and/or
``sound_id``; ``start`` / ``start_seconds`` / ``onset``; ``end`` / ``end_seconds`` or ``duration`` /
``duration_seconds``; ``label`` / ``labels`` / ``tags`` / ``tag`` (several separated by ``;``); ``text`` /
``transcript`` / ``sentence``; ``channel``. Earmark's own annotations.csv (core/export/subset.py) is one such table;
its ``created_by`` and ``annotation_id`` columns are not imported (the importer is the author)."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping

from core.annotations.imports.rows import Parsed, ParsedRow, RowError, decode, number
from core.errors import ValidationError

FORMAT = "csv"
COLUMNS = {
    "file": ("file", "file_name", "filename", "path", "audio", "audio_filepath", "audio_path", "sound", "recording"),
    "sound_id": ("sound_id",),
    "start": ("start", "start_seconds", "start_time", "onset", "begin", "offset"),
    "end": ("end", "end_seconds", "end_time", "stop", "offset_end"),
    "duration": ("duration", "duration_seconds", "length"),
    "tags": ("label", "labels", "tags", "tag", "class", "speaker"),
    "text": ("text", "transcript", "transcription", "sentence"),
    "channel": ("channel",),
}


def transcript_in(values: Mapping[str, object]) -> str:
    """A sound's transcript in its metadata: the first of the text columns above with words in it, whitespace
    collapsed; "" if none. The training formats (core/export/formats/units.py) and the split leakage report
    (core/export/splits.py) take a sound's text by this one rule."""
    return next((text for c in COLUMNS["text"] if (text := " ".join(str(values.get(c) or "").split()))), "")


def _key(name: str) -> str:
    return "_".join(name.strip().lower().replace("-", " ").split())


def read(name: str, data: bytes) -> Parsed:
    parsed = Parsed(name, FORMAT)
    text = decode(name, data)
    first = text.split("\n", 1)[0]
    dialect = "excel-tab" if first.count("\t") > first.count(",") else "excel"
    reader = csv.reader(io.StringIO(text, newline=""), dialect=dialect)
    header = next(reader, None)
    if not header:
        return parsed
    columns = _columns(name, header)
    for row_number, values in enumerate(reader, 2):
        if not any(v.strip() for v in values):
            continue
        try:
            parsed.rows.append(_row(row_number, reader.line_num, dict(zip(header, values, strict=False)), columns))
        except RowError as exc:
            parsed.problem(f"line {reader.line_num}", str(exc))
    return parsed.refuse_if_unreadable("a CSV of annotations")


def _columns(name: str, header: list[str]) -> dict[str, str]:
    """Which header names the file's columns are; the whole file refused when it has no file and no start."""
    by_key = {_key(h): h for h in reversed(header)}
    found = {role: next((by_key[n] for n in names if n in by_key), "") for role, names in COLUMNS.items()}
    if not (found["file"] or found["sound_id"]) or not found["start"] or not (found["end"] or found["duration"]):
        raise ValidationError("file", f"{name} is not a CSV of annotations: its first line must name a file (or sound_id), "
                                      f"start and end (or duration) columns; it has {', '.join(header)[:200]}.")
    return found


def _row(_row_number: int, line: int, values: dict[str, str], columns: dict[str, str]) -> ParsedRow:
    def value(role: str) -> str:
        return (values.get(columns[role]) or "").strip() if columns[role] else ""

    reference, sound_id = value("file"), value("sound_id") or None
    if not (reference or sound_id):
        raise RowError(f"the {columns['file'] or columns['sound_id']} column is empty: which sound is this?")
    start = number(value("start"), columns["start"])
    end = number(value("end"), columns["end"]) if value("end") else start + number(value("duration"), columns["duration"] or "duration")
    channel = value("channel")
    if channel and not channel.isdigit():
        raise RowError(f"the channel must be a whole number from 0, not {channel[:20]!r}.")
    return ParsedRow(f"line {line}", reference or sound_id or "", start, end,
                     tuple(t.strip() for t in value("tags").split(";") if t.strip()), value("text") or None,
                     int(channel) if channel else None, sound_id)
