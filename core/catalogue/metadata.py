"""Metadata tables dropped with the audio, and how their rows join to the files.

A table is a CSV or TSV (any of ``,`` ``;`` tab ``|``, with or without a BOM, headers with stray spaces, quoted
newlines), JSON lines or Parquet, read with pandas into text columns backed by Arrow, so a million-row table
takes about twice its size in memory rather than a Python dict per row. It joins either by a path column
(``path``, ``file_name`` as in Hugging Face's AudioFolder, or one the user names) or, for speaker-level tables
like VoxCeleb's, by the first folder of each file's path (the speaker id): the column whose values match those
folder names is found by looking. The join looks the table's values up in a pandas Index of the files' paths a
slice at a time, and keeps each file's row number in a numpy array: no Python object per row or per file beyond
the caller's own path strings (a million files joined to a million rows: 3x the table's size, was 6x; see
BENCHMARKS.md). Only the rows that match a file being imported are kept, and a row becomes a dict only when its
file is stored.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from core.errors import EarmarkError, ValidationError
from core.store.storage import normalise_key

if TYPE_CHECKING:  # pandas and Arrow cost ~90 MB when imported: only processes that read a table load them
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.csv as pcsv

PATH_COLUMNS = ("path", "file_name", "filename", "file", "audio_path", "filepath")
METADATA_FORMATS = {"CSV": (".csv",), "TSV": (".tsv",), "JSON lines": (".jsonl", ".ndjson"), "Parquet": (".parquet",)}
METADATA_SUFFIXES = tuple(suffix for suffixes in METADATA_FORMATS.values() for suffix in suffixes)
MAX_FIELD_LENGTH = 10_000
MAX_COLUMN_NAME = 128  # characters of a column name (the database's limit for a field's name)
SNIFF_BYTES = 64 * 1024
SEPARATORS = (",", ";", "\t", "|")
BLOCK_BYTES = 1 << 20
RESPELL_BATCH = 65_536  # files whose other spellings are looked for at once
LOOKUP_SLICE = 8_192  # a table's values made Python strings at once, to be looked up among the files
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
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
    """Every column as text, read by Arrow's CSV reader a block at a time (what pandas' ``engine="pyarrow"`` uses;
    streamed, its peak is the table plus one block instead of the table twice)."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.csv as pcsv
    header = head.decode("utf-8-sig", errors="replace").lstrip("\r\n").splitlines()[0]
    parse = pcsv.ParseOptions(delimiter=max(SEPARATORS, key=header.count), newlines_in_values=True)
    try:
        names = _open_csv(source, parse, pcsv.ReadOptions(block_size=SNIFF_BYTES)).schema.names
        reader = _open_csv(source, parse, pcsv.ReadOptions(block_size=BLOCK_BYTES, use_threads=False),
                           pcsv.ConvertOptions(column_types=dict.fromkeys(names, pa.string()), strings_can_be_null=False,
                                               quoted_strings_can_be_null=False))
        table = pa.Table.from_batches(list(reader), schema=reader.schema)
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValidationError("metadata", f"{name} is not a readable table ({first}).") from None
    return table.rename_columns(_unique(names)).to_pandas(types_mapper=pd.ArrowDtype)


def _open_csv(source: Source, parse: pcsv.ParseOptions, read: pcsv.ReadOptions,
              convert: pcsv.ConvertOptions | None = None) -> pcsv.CSVStreamingReader:
    import pyarrow.csv as pcsv
    return pcsv.open_csv(_readable(source), read_options=read, parse_options=parse, convert_options=convert)


def _unique(names: list[str]) -> list[str]:
    """Repeated header names made distinct as pandas does (``x``, ``x.1``), so no column hides another."""
    seen: dict[str, int] = {}
    unique = []
    for column in names:
        count = seen.get(column, 0)
        seen[column] = count + 1
        unique.append(column if count == 0 else f"{column}.{count}")
    return unique


def _read_json_lines(source: Source, name: str) -> pd.DataFrame:
    import pandas as pd
    try:
        table = pd.read_json(_readable(source), lines=True, dtype=False)
    except ValueError:
        raise ValidationError("metadata", _first_bad_line(source, name)) from None
    return table


def _first_bad_line(source: Source, name: str) -> str:
    """Which line of a JSON-lines table is not a JSON object (pandas only says that one is not)."""
    with io.BytesIO(source) if isinstance(source, bytes) else open(source, "rb") as stream:
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
    import pandas as pd
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
    import pandas as pd
    import pyarrow as pa
    table.columns = [str(c).replace("\ufeff", "").strip() for c in table.columns]
    table = table.loc[:, [c != "" and not c.startswith("Unnamed: ") for c in table.columns]]
    if table.columns.empty:
        raise ValidationError("metadata", f"{name} has no header row.")
    too_long = [c for c in table.columns if len(c) > MAX_COLUMN_NAME]
    if too_long:
        raise ValidationError("metadata", f"{name}: the column name {too_long[0][:40]!r}... has {len(too_long[0]):,} characters; "
                                          f"column names may have up to {MAX_COLUMN_NAME}.")
    for column in table.columns:
        values = table[column]
        if not pd.api.types.is_string_dtype(values) or values.hasnans:
            values = values.map(_text).astype(pd.ArrowDtype(pa.string()))
        if values.str.contains(r"^\s|\s$", regex=True).any():  # copied only when something needs trimming
            values = values.str.strip()
        if (values.str.len() > MAX_FIELD_LENGTH).any():
            values = values.str.slice(0, MAX_FIELD_LENGTH)
        table[column] = values
    return table


def _clean_path(raw: str) -> str | None:
    try:
        return normalise_key(raw.replace("\\", "/").strip())
    except EarmarkError:
        return None


class KeyRows(Mapping[str, int]):
    """Each key's row in a join's matched table, as a pandas Index of the keys and a numpy array of rows (-1: the
    key found no row, and is not in the mapping). The Index's hash table points at the caller's own strings, so a
    million file paths take ~40 MB this way; a dict of str -> int took ~60 MB, its int objects included."""

    def __init__(self, keys: pd.Index, rows: np.ndarray) -> None:
        self.index, self.rows = keys, rows

    def __getitem__(self, key: str) -> int:
        row = int(self.rows[self.index.get_loc(key)])
        if row < 0:
            raise KeyError(key)
        return row

    def __iter__(self) -> Iterator[str]:
        return (key for key, row in zip(self.index, self.rows, strict=True) if row >= 0)

    def __len__(self) -> int:
        return int((self.rows >= 0).sum())


@dataclass
class MetadataJoin:
    """The rows of one table that match the files, and how they join: ``by`` is "path" (``keys`` are the files'
    paths) or "speaker" (``keys`` are speaker folder names); each key gives a row of ``matched``."""

    name: str
    by: str
    column: str
    matched: pa.Table
    keys: Mapping[str, int]
    table_rows: int = 0
    joined_rows: int = 0

    def row_for(self, relative_path: str) -> dict[str, str]:
        """The row for one file (its columns as text), or {} if the table has none."""
        if self.by == "speaker":
            position = next((self.keys[f] for f in _folders(relative_path) if f in self.keys), None)
        else:
            position = self.keys.get(relative_path)
        return {} if position is None else self.matched.slice(position, 1).to_pylist()[0]

    def describe(self) -> str:
        how = f"column {self.column!r} = path" if self.by == "path" else f"column {self.column!r} = speaker folder"
        return f"{self.name}: {self.joined_rows:,} of {self.table_rows:,} rows joined by {how}"


def _path_variants(relative_path: str) -> Iterable[str]:
    """A file's path as a table may spell it: as is, under ``audio/``, without the top folder of the upload."""
    yield relative_path
    yield f"audio/{relative_path}"
    parts = relative_path.split("/")
    for i in range(1, len(parts)):
        yield "/".join(parts[i:])


def plan_join(table: pd.DataFrame, file_paths: list[str], name: str, path_column: str | None = None) -> MetadataJoin:
    """How ``table`` joins to ``file_paths``: the named or a known path column, else the speaker-folder column."""
    import pyarrow as pa
    columns = list(table.columns)
    if path_column:
        if path_column not in columns:
            raise ValidationError("path_column", f"{name} has no column {path_column!r} (it has {', '.join(columns)}).")
        return _by_path(table, file_paths, name, path_column)
    for candidate in PATH_COLUMNS:
        match = next((c for c in columns if c.lower() == candidate), None)
        if match:
            return _by_path(table, file_paths, name, match)
    speakers = sorted({folder for p in file_paths for folder in _folders(p)})
    hits = {column: int(table[column].isin(speakers).sum()) for column in columns}
    best = max(columns, key=lambda c: hits[c])
    if not hits[best]:
        raise ValidationError(
            "path_column",
            f"{name} has no path column ({', '.join(PATH_COLUMNS)}) and no column matching the speaker folders; "
            "name the path column.",
        )
    return _matched(table, name, "speaker", best, *_first_rows(speakers, pa.chunked_array(table[best])))


def _folders(relative_path: str) -> tuple[str, ...]:
    """The folder names of a path, outermost first (VoxCeleb: ``idNNNNN/VIDEO/NNNNN.wav`` gives the speaker first)."""
    return PurePosixPath(relative_path).parts[:-1]


def _first_rows(keys: list[str], values: pa.ChunkedArray) -> tuple[pd.Index, np.ndarray]:
    """Each distinct key and the first row whose value equals it (-1 if none): a hash join in which the keys are a
    pandas Index (its hash table points at the caller's strings instead of copying them, as an Arrow one would)
    and the values are looked up in it a slice at a time, so only one slice of them is ever Python strings. With
    few keys (an import of some files against a big table) Arrow first keeps the values that equal one."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc
    index = pd.Index(keys, dtype=object)
    index = index if index.is_unique else index.unique()
    none = len(values)
    first, rows = np.full(len(index), none, dtype=np.int64), np.arange(none)
    if len(index) < len(values) // 8:
        hits = pc.indices_nonzero(pc.is_in(values, value_set=pa.array(index, pa.string())))
        values, rows = values.take(hits), hits.to_numpy()
    for start in range(0, len(values), LOOKUP_SLICE):
        found = index.get_indexer(values.slice(start, LOOKUP_SLICE).to_numpy())
        np.minimum.at(first, found[found >= 0], rows[start:start + LOOKUP_SLICE][found >= 0])
    first[first == none] = -1
    return index, first


def _canonical_paths(paths: pd.Series) -> pa.ChunkedArray:
    """A path column as storage keys: the few spelled unusually (backslashes, ``./``, doubled slashes) made
    canonical one by one; the rest, already canonical, are not copied."""
    import pyarrow as pa
    odd = paths.str.contains(r"\\|(?:^|/)\.{1,2}(?:/|$)|//|^/", regex=True)
    if odd.any():
        paths = paths.where(~odd, paths[odd].map(lambda raw: _clean_path(raw) or "").astype(paths.dtype))
    return pa.chunked_array(paths)


def _by_path(table: pd.DataFrame, file_paths: list[str], name: str, column: str) -> MetadataJoin:
    """Rows whose path names one of the files: the files' own paths first, then the other spellings a table may
    use for the files not found as they are, a batch of such files at a time (a table that spells every path
    otherwise then costs one batch of extra strings, not a few per file)."""
    import numpy as np
    paths = _canonical_paths(table[column])
    files, rows = _first_rows(file_paths, paths)
    missing = np.flatnonzero(rows < 0)
    for start in range(0, len(missing), RESPELL_BATCH):
        batch = missing[start:start + RESPELL_BATCH]
        rows[batch] = _respelled(list(files[batch]), paths)
    return _matched(table, name, "path", column, files, rows)


def _respelled(files: list[str], paths: pa.ChunkedArray) -> np.ndarray:
    """For each file, the first row naming it by another of its spellings (-1 if none), tried in their order: the
    second spelling of every file, then the third of those still not found, and so on."""
    import numpy as np
    rows = np.full(len(files), -1, dtype=np.int64)
    spelling = 1
    while tries := {i: s[spelling] for i, file in enumerate(files) if rows[i] < 0 and len(s := list(_path_variants(file))) > spelling}:
        spelled, found = _first_rows(list(tries.values()), paths)
        rows[list(tries)] = found[spelled.get_indexer(list(tries.values()))]
        spelling += 1
    return rows


def _matched(table: pd.DataFrame, name: str, by: str, column: str, keys: pd.Index, rows: np.ndarray) -> MetadataJoin:
    """Keep only the rows some key found, as an Arrow table (the whole table when most rows are found, rather
    than a copy of it); each key points at its row there."""
    import numpy as np
    import pyarrow as pa
    joined = np.zeros(len(table), dtype=bool)  # a mask rather than np.unique, which takes 60 MB for a million rows
    joined[rows[rows >= 0]] = True
    kept = np.flatnonzero(joined)
    if len(kept) > len(table) // 2:
        matched = pa.Table.from_pandas(table, preserve_index=False)
    else:
        matched = pa.Table.from_pandas(table.iloc[kept], preserve_index=False)
        rows = np.where(rows >= 0, np.searchsorted(kept, rows), -1)
    return MetadataJoin(name, by, column, matched, KeyRows(keys, rows), len(table), len(kept))


def spreadsheet_safe(value: object) -> object:
    """A cell a spreadsheet would run as a formula (OWASP's rule: text starting with ``=``, ``+``, ``-``, ``@``, a
    tab or a carriage return) with a ``'`` in front, so it is shown as text; numbers such as ``-3.5`` stay numbers."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not _is_number(value):
        return "'" + value
    return value


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def safe_header(columns: list[str]) -> dict[str, str]:
    """Header cells made :func:`spreadsheet_safe` like the cells under them (column names come from uploaded tables
    and analyzers, and ``=HYPERLINK(...)`` runs as a formula in a header cell too): {name: safe name} for those that
    change. A safe name that another column already has gets one more ``'``, so no column is merged into another."""
    renamed, taken = {}, set(columns)
    for column in columns:
        safe = spreadsheet_safe(column)
        while safe != column and safe in taken:
            safe = "'" + safe
        if safe != column:
            renamed[column] = str(safe)
            taken.add(str(safe))
    return renamed


def to_csv(columns: list[str], rows: list[dict[str, Any]]) -> str:
    """A CSV of ``rows`` with exactly these ``columns`` (others left out, missing ones empty), every text cell and
    header cell made :func:`spreadsheet_safe`: what Earmark hands out is opened in spreadsheets. Written with the csv
    module, not pandas: an export would otherwise carry pandas' ~90 MB for one small table (see BENCHMARKS.md)."""
    renamed = safe_header(columns)
    if renamed:
        columns = [renamed.get(c, c) for c in columns]
        rows = [{renamed.get(k, k): v for k, v in row.items()} for row in rows]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore", restval="", lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: spreadsheet_safe(v) for k, v in row.items()} for row in rows)
    return out.getvalue()


def merged_fields(joins: list[MetadataJoin], relative_path: str) -> dict[str, str]:
    """All columns of every table for one file; path-level tables win over speaker-level ones."""
    fields: dict[str, str] = {}
    for join in sorted(joins, key=lambda j: j.by == "path"):
        fields.update({k: v for k, v in join.row_for(relative_path).items() if k})
    return fields
