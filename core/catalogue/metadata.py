"""Metadata tables dropped with the audio, and how their rows join to the files.

A table is a CSV or TSV (any of ``,`` ``;`` tab ``|``, with or without a BOM, headers with stray spaces, quoted
newlines), JSON lines or Parquet, read with pandas into text columns backed by Arrow, so a million-row table
takes about twice its size in memory rather than a Python dict per row. It joins either by a path column
(``path``, ``file_name`` as in Hugging Face's AudioFolder, or one the user names) or, for speaker-level tables
like VoxCeleb's, by the first folder of each file's path (the speaker id): the column whose values match those
folder names is found by looking. Only the rows that match a file being imported are kept as Python dicts.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import pandas as pd

from core.errors import EarmarkError, ValidationError
from core.store.storage import normalise_key

PATH_COLUMNS = ("path", "file_name", "filename", "file", "audio_path", "filepath")
METADATA_SUFFIXES = (".csv", ".tsv", ".jsonl", ".ndjson", ".parquet")
MAX_FIELD_LENGTH = 10_000
SNIFF_BYTES = 64 * 1024
SEPARATORS = (",", ";", "\t", "|")
Source = bytes | Path


def is_metadata_name(name: str) -> bool:
    return name.lower().endswith(METADATA_SUFFIXES)


def read_table(source: Source, name: str = "metadata") -> pd.DataFrame:
    """A table's rows, every value as trimmed text ("" for none); ``source`` is its bytes or its path (a path
    is read without holding the file's bytes as well)."""
    head = _head(source)
    if not head.strip():
        raise ValidationError("metadata", f"{name} is empty.")
    lower = name.lower()
    if lower.endswith(".parquet") or head.startswith(b"PAR1"):
        table = _read_parquet(source, name)
    elif lower.endswith((".jsonl", ".ndjson")) or head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{"):
        table = _read_json_lines(source, name)
    else:
        table = _read_csv(source, name, head)
    return _as_text(table, name)


def _head(source: Source) -> bytes:
    if isinstance(source, bytes):
        return source[:SNIFF_BYTES]
    with open(source, "rb") as stream:
        return stream.read(SNIFF_BYTES)


def _readable(source: Source) -> io.BytesIO | Path:
    return io.BytesIO(source) if isinstance(source, bytes) else source


def _read_csv(source: Source, name: str, head: bytes) -> pd.DataFrame:
    header = head.decode("utf-8-sig", errors="replace").lstrip("\r\n").splitlines()[0]
    separator = max(SEPARATORS, key=header.count)  # the header names the columns: what splits it splits the rows
    try:  # pyarrow's reader: fast, and its text columns cost little more than the file
        return pd.read_csv(_readable(source), sep=separator, dtype=str, keep_default_na=False, engine="pyarrow")
    except pd.errors.EmptyDataError:
        raise ValidationError("metadata", f"{name} has no header row.") from None
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValidationError("metadata", f"{name} is not a readable table ({first}).") from None


def _read_json_lines(source: Source, name: str) -> pd.DataFrame:
    try:
        table = pd.read_json(_readable(source), lines=True, dtype=False)
    except ValueError:
        raise ValidationError("metadata", _first_bad_line(source, name)) from None
    return table


def _first_bad_line(source: Source, name: str) -> str:
    """Which line of a JSON-lines table is not a JSON object (pandas only says that one is not)."""
    stream = io.BytesIO(source) if isinstance(source, bytes) else open(source, "rb")
    with stream:
        for number, line in enumerate(stream, start=1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                return f"{name} line {number} is not JSON ({exc.msg})."
            if not isinstance(value, dict):
                return f"{name} line {number} is not a JSON object."
    return f"{name} is not a JSON-lines table."


def _read_parquet(source: Source, name: str) -> pd.DataFrame:
    try:
        return pd.read_parquet(_readable(source))
    except Exception as exc:  # pyarrow raises its own kinds for every way a file can be broken
        raise ValidationError("metadata", f"{name} is not a readable Parquet file ({type(exc).__name__}).") from None


def _text(value: object) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, str):
        return value
    if hasattr(value, "tolist"):  # numpy arrays and scalars from Parquet
        value = value.tolist()
    return json.dumps(value, ensure_ascii=False, default=str) if isinstance(value, (list, dict, bool)) else str(value)


def _as_text(table: pd.DataFrame, name: str) -> pd.DataFrame:
    """Headers stripped (a BOM too), unnamed columns dropped, every value trimmed text of bounded length."""
    table.columns = [str(c).replace("\ufeff", "").strip() for c in table.columns]
    table = table.loc[:, [c != "" and not c.startswith("Unnamed: ") for c in table.columns]]
    if table.columns.empty:
        raise ValidationError("metadata", f"{name} has no header row.")
    for column in table.columns:
        values = table[column]
        if not pd.api.types.is_string_dtype(values) or values.hasnans:
            values = values.map(_text).astype("str")
        table[column] = values.str.strip().str.slice(0, MAX_FIELD_LENGTH)
    return table


def _rows(table: pd.DataFrame) -> list[dict[str, str]]:
    return table.to_dict("records")


def _clean_path(raw: str) -> str | None:
    try:
        return normalise_key(raw.replace("\\", "/").strip())
    except EarmarkError:
        return None


@dataclass
class MetadataJoin:
    """The rows of one table that match the files, keyed for joining, and how: ``by`` is "path" or "speaker"."""

    name: str
    by: str
    column: str
    rows: dict[str, dict[str, str]]
    table_rows: int = 0

    def row_for(self, relative_path: str) -> dict[str, str]:
        if self.by == "speaker":
            return next((self.rows[f] for f in _folders(relative_path) if f in self.rows), {})
        for candidate in _path_variants(relative_path):
            if candidate in self.rows:
                return self.rows[candidate]
        return {}

    def describe(self) -> str:
        how = f"column {self.column!r} = path" if self.by == "path" else f"column {self.column!r} = speaker folder"
        return f"{self.name}: {len(self.rows):,} of {self.table_rows:,} rows joined by {how}"


def _path_variants(relative_path: str) -> Iterable[str]:
    """A file's path as a table may spell it: as is, under ``audio/``, without the top folder of the upload."""
    yield relative_path
    yield f"audio/{relative_path}"
    parts = relative_path.split("/")
    for i in range(1, len(parts)):
        yield "/".join(parts[i:])


def plan_join(table: pd.DataFrame, file_paths: list[str], name: str, path_column: str | None = None) -> MetadataJoin:
    """How ``table`` joins to ``file_paths``: the named or a known path column, else the speaker-folder column."""
    columns = list(table.columns)
    if path_column:
        if path_column not in columns:
            raise ValidationError("path_column", f"{name} has no column {path_column!r} (it has {', '.join(columns)}).")
        return _by_path(table, file_paths, name, path_column)
    for candidate in PATH_COLUMNS:
        match = next((c for c in columns if c.lower() == candidate), None)
        if match:
            return _by_path(table, file_paths, name, match)
    speakers = {folder for p in file_paths for folder in _folders(p)}
    hits = {column: int(table[column].isin(speakers).sum()) for column in columns}
    best = max(columns, key=lambda c: hits[c])
    if not hits[best]:
        raise ValidationError(
            "path_column",
            f"{name} has no path column ({', '.join(PATH_COLUMNS)}) and no column matching the speaker folders; "
            "name the path column.",
        )
    matched = table[table[best].isin(speakers)]
    return MetadataJoin(name, "speaker", best, {row[best]: row for row in _rows(matched)}, len(table))


def _folders(relative_path: str) -> tuple[str, ...]:
    """The folder names of a path, outermost first (VoxCeleb: ``idNNNNN/VIDEO/NNNNN.wav`` gives the speaker first)."""
    return PurePosixPath(relative_path).parts[:-1]


def _by_path(table: pd.DataFrame, file_paths: list[str], name: str, column: str) -> MetadataJoin:
    """Rows whose path (as a table may spell it: backslashes, ``./``, doubled slashes) names one of the files."""
    wanted = {variant for p in file_paths for variant in _path_variants(p)}
    paths = table[column].str.replace("\\", "/", regex=False)
    odd = paths.str.contains(r"(?:^|/)\.{1,2}(?:/|$)|//|^/", regex=True)
    if odd.any():  # the few spelled unusually are made canonical one by one (the rest already are)
        paths = paths.where(~odd, paths[odd].map(lambda raw: _clean_path(raw) or ""))
    matched = table.assign(_path=paths)[paths.isin(wanted)]
    keyed = {row.pop("_path"): row for row in _rows(matched)}
    return MetadataJoin(name, "path", column, keyed, len(table))


def merged_fields(joins: list[MetadataJoin], relative_path: str) -> dict[str, str]:
    """All columns of every table for one file; path-level tables win over speaker-level ones."""
    fields: dict[str, str] = {}
    for join in sorted(joins, key=lambda j: j.by == "path"):
        fields.update({k: v for k, v in join.row_for(relative_path).items() if k})
    return fields
