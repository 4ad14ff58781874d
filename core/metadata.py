"""Metadata tables dropped with the audio, and how their rows join to the files.

A table is a CSV (any of ``,`` ``;`` tab ``|``, with or without a BOM, headers with stray spaces) or JSON
lines. It joins either by a path column (``path``, ``file_name`` as in Hugging Face's AudioFolder, or one the
user names) or, for speaker-level tables like VoxCeleb's, by the first folder of each file's path (the speaker
id): the column whose values match those folder names is found by looking.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath

from core.errors import EarmarkError, ValidationError
from core.storage import normalise_key

PATH_COLUMNS = ("path", "file_name", "filename", "file", "audio_path", "filepath")
METADATA_SUFFIXES = (".csv", ".tsv", ".jsonl", ".ndjson")
MAX_FIELD_LENGTH = 10_000


def is_metadata_name(name: str) -> bool:
    return name.lower().endswith(METADATA_SUFFIXES)


def read_table(data: bytes, name: str = "metadata") -> list[dict[str, str]]:
    """Rows of a CSV or JSON-lines table, all values as trimmed strings."""
    text = data.decode("utf-8-sig", errors="replace")
    if not text.strip():
        raise ValidationError("metadata", f"{name} is empty.")
    if name.lower().endswith((".jsonl", ".ndjson")) or text.lstrip().startswith("{"):
        return _read_json_lines(text, name)
    return _read_csv(text, name)


def _read_json_lines(text: str, name: str) -> list[dict[str, str]]:
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValidationError("metadata", f"{name} line {number} is not JSON ({exc.msg}).") from None
        if not isinstance(value, dict):
            raise ValidationError("metadata", f"{name} line {number} is not a JSON object.")
        rows.append({str(k).strip(): _text(v) for k, v in value.items()})
    return rows


def _text(value: object) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text.strip()[:MAX_FIELD_LENGTH]


def _read_csv(text: str, name: str) -> list[dict[str, str]]:
    try:
        dialect = csv.Sniffer().sniff(text[:64 * 1024], delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(io.StringIO(text), dialect=dialect)
    if not reader.fieldnames or not any(h.strip() for h in reader.fieldnames):
        raise ValidationError("metadata", f"{name} has no header row.")
    reader.fieldnames = [h.strip() for h in reader.fieldnames]
    try:
        return [{k: (v or "").strip()[:MAX_FIELD_LENGTH] for k, v in row.items() if k} for row in reader]
    except csv.Error as exc:
        raise ValidationError("metadata", f"{name} is not a readable CSV ({exc}).") from None


def _columns(rows: list[dict[str, str]]) -> list[str]:
    seen: dict[str, None] = {}
    for row in rows[:1000]:
        seen.update(dict.fromkeys(row))
    return list(seen)


def _clean_path(raw: str) -> str | None:
    try:
        return normalise_key(raw.replace("\\", "/").strip())
    except EarmarkError:
        return None


@dataclass
class MetadataJoin:
    """Rows of one table, keyed for joining, and how: ``by`` is "path" or "speaker"."""

    name: str
    by: str
    column: str
    rows: dict[str, dict[str, str]]

    def row_for(self, relative_path: str) -> dict[str, str]:
        if self.by == "speaker":
            return next((self.rows[f] for f in _folders(relative_path) if f in self.rows), {})
        for candidate in _path_variants(relative_path):
            if candidate in self.rows:
                return self.rows[candidate]
        return {}

    def describe(self) -> str:
        how = f"column {self.column!r} = path" if self.by == "path" else f"column {self.column!r} = speaker folder"
        return f"{self.name}: {len(self.rows):,} rows joined by {how}"


def _path_variants(relative_path: str) -> Iterable[str]:
    """A file's path as a table may spell it: as is, under ``audio/``, without the top folder of the upload."""
    yield relative_path
    yield f"audio/{relative_path}"
    parts = relative_path.split("/")
    for i in range(1, len(parts)):
        yield "/".join(parts[i:])


def plan_join(rows: list[dict[str, str]], file_paths: list[str], name: str, path_column: str | None = None) -> MetadataJoin:
    """How ``rows`` join to ``file_paths``: the named or a known path column, else the speaker-folder column."""
    columns = _columns(rows)
    if path_column:
        if path_column not in columns:
            raise ValidationError("path_column", f"{name} has no column {path_column!r} (it has {', '.join(columns)}).")
        return _by_path(rows, name, path_column)
    for candidate in PATH_COLUMNS:
        match = next((c for c in columns if c.lower() == candidate), None)
        if match:
            return _by_path(rows, name, match)
    speakers = {folder for p in file_paths for folder in _folders(p)}
    best, best_hits = None, 0
    for column in columns:
        hits = sum(1 for row in rows if row.get(column) in speakers)
        if hits > best_hits:
            best, best_hits = column, hits
    if best is None:
        raise ValidationError(
            "path_column",
            f"{name} has no path column ({', '.join(PATH_COLUMNS)}) and no column matching the speaker folders; "
            "name the path column.",
        )
    return MetadataJoin(name, "speaker", best, {row[best]: row for row in rows if row.get(best)})


def _folders(relative_path: str) -> tuple[str, ...]:
    """The folder names of a path, outermost first (VoxCeleb: ``idNNNNN/VIDEO/NNNNN.wav`` gives the speaker first)."""
    return PurePosixPath(relative_path).parts[:-1]


def _by_path(rows: list[dict[str, str]], name: str, column: str) -> MetadataJoin:
    keyed = {}
    for row in rows:
        path = _clean_path(row.get(column, ""))
        if path:
            keyed[path] = row
    return MetadataJoin(name, "path", column, keyed)


def merged_fields(joins: list[MetadataJoin], relative_path: str) -> dict[str, str]:
    """All columns of every table for one file; path-level tables win over speaker-level ones."""
    fields: dict[str, str] = {}
    for join in sorted(joins, key=lambda j: j.by == "path"):
        fields.update({k: v for k, v in join.row_for(relative_path).items() if k})
    return fields
