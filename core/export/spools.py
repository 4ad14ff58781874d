"""The subset ZIP's whole-subset files built a window of sounds at a time, on disk (issue 28).

A ZIP is written one member after another, and the audio goes out a window at a time (core/export/outline.py), so
a file that covers the whole subset (``metadata.csv``, ``annotations.csv``, ``annotations.json``,
``annotations.rttm``, ``manifest.json``'s list of files) cannot be a member until the last window is done. Each
grows in a temporary file as the windows pass, and becomes a member at the end: memory holds one window's rows,
whatever the subset's size (at 100,000 sounds the subset held whole took 465 MB: BENCHMARKS.md).

Each file comes out as the whole subset's writer would have made it at once: a window's text is made by the same
writer (core/export/subset.py) and joined here (a CSV's header once, a JSON array's items in one array). The
metadata tables' columns are every written sound's columns in the order the sounds first show them, known only at
the end: their rows wait as JSON lines and become CSV then.

The ZIP's own central directory is such a file too: Python's zipfile keeps every member's ZipInfo until it writes
the directory at the end (half a kilobyte a member: 50 MB at 100,000 sounds, 500 MB at a million).
:class:`SpooledZipFile` keeps them in a temporary file instead.
"""

from __future__ import annotations

import json
import pickle
import tempfile
import textwrap
import zipfile
from collections.abc import Iterator
from typing import IO, Any

from core.catalogue.metadata import to_csv

ROWS_AT_A_TIME = 2000  # rows of a metadata table made into CSV at a time


def spool() -> IO[bytes]:
    """A temporary file on disk (unlinked at once: nothing is left behind, whatever happens)."""
    return tempfile.TemporaryFile()  # noqa: SIM115 (returned open: its owner closes it)


class Joined:
    """One whole-subset text file from windows' texts, each as the file's writer makes it for those sounds:
    ``csv`` (a header line, then rows: the header kept once), ``json`` (one array, indent 1: the items joined
    into one array) or ``lines`` (joined as they are)."""

    def __init__(self, kind: str) -> None:
        self.kind, self.file, self.parts = kind, spool(), 0

    def add(self, text: str) -> None:
        if self.kind == "csv" and self.parts:
            text = text.partition("\n")[2]  # the header: a fixed line of the writer's (core/export/subset.py)
        elif self.kind == "json":
            if text == "[]":
                return
            text = ("[\n" if not self.parts else ",\n") + text[2:-2]  # json.dumps(items, indent=1): "[\n" items "\n]"
        self.file.write(text.encode())
        self.parts += 1

    def finish(self) -> IO[bytes]:
        """The whole file, read from its start (its owner closes it)."""
        if self.kind == "json":
            self.file.write(b"\n]" if self.parts else b"[]")
        self.file.seek(0)
        return self.file


class MetadataRows:
    """The written sounds' metadata as ``filtered_metadata.csv`` (``file_name``, then the original columns) and
    ``metadata.csv`` (Hugging Face AudioFolder: ``file_name``, the original columns, then Earmark's ``dataset``,
    ``tags`` and ``duration_seconds`` unless the original has them)."""

    def __init__(self) -> None:
        self.rows, self.columns = spool(), dict[str, None]()

    def add(self, file_name: str, metadata: dict[str, str], dataset: str, tags: list[str], seconds: float) -> None:
        self.columns.update(dict.fromkeys(metadata))
        self.rows.write(json.dumps([file_name, metadata, dataset, ";".join(tags), round(seconds, 6)]).encode() + b"\n")

    def finish(self) -> Iterator[tuple[str, IO[bytes]]]:
        """The two tables, each a temporary file read from its start (closed once the next is asked for)."""
        columns = list(self.columns)
        # every row names its member, also a sound without metadata (whose original path column would be empty)
        original = columns if "file_name" in columns else ["file_name", *columns]
        ours = [c for c in ("dataset", "tags", "duration_seconds") if c not in columns]  # the original's columns win
        hf_columns = ["file_name"] + [c for c in columns if c != "file_name"] + ours
        with self._table(original, lambda f, m, d, t, s: {"file_name": f} | m) as table:
            yield "filtered_metadata.csv", table
        with self._table(hf_columns, lambda f, m, d, t, s: {"dataset": d, "tags": t, "duration_seconds": s} | m | {"file_name": f}) as table:
            yield "metadata.csv", table

    def _table(self, columns: list[str], row: Any) -> IO[bytes]:
        head, out = to_csv(columns, []), spool()
        out.write(head.encode())
        self.rows.seek(0)
        batch: list[dict[str, Any]] = []
        for line in self.rows:
            batch.append(row(*json.loads(line)))
            if len(batch) == ROWS_AT_A_TIME:
                out.write(to_csv(columns, batch)[len(head):].encode())
                batch.clear()
        if batch:
            out.write(to_csv(columns, batch)[len(head):].encode())
        out.seek(0)
        return out

    def close(self) -> None:
        self.rows.close()


class FileList:
    """``manifest.json``'s list of files, one entry per written sound, and the manifest around it."""

    def __init__(self) -> None:
        self.file, self.count = spool(), 0

    def add(self, entry: dict[str, Any]) -> None:
        self.file.write(json.dumps(entry).encode() + b"\n")
        self.count += 1

    def manifest(self, head: dict[str, Any]) -> IO[bytes]:
        """``json.dumps(head | {"files": [...]}, indent=2)``, the list read back from disk an entry at a time."""
        out = spool()
        text = json.dumps(head | {"files": []}, indent=2)
        out.write(text[:-len("[]\n}")].encode())
        self.file.seek(0)
        for n, line in enumerate(self.file):
            out.write((",\n" if n else "[\n").encode() + textwrap.indent(json.dumps(json.loads(line), indent=2), "    ").encode())
        out.write(b"\n  ]\n}" if self.count else b"[]\n}")
        out.seek(0)
        return out

    def close(self) -> None:
        self.file.close()


_SLOTS = zipfile.ZipInfo.__slots__
_UNSET = object()


class _Members(list[zipfile.ZipInfo]):
    """zipfile's ``filelist`` of a ZIP being written (each written member, appended as it closes; read once, at
    the end, to write the central directory): each member's fields pickled to a temporary file as a tuple."""

    def __init__(self) -> None:
        super().__init__()
        self.file, self.written = spool(), 0

    def append(self, info: zipfile.ZipInfo) -> None:
        pickle.dump(tuple(getattr(info, name, _UNSET) for name in _SLOTS), self.file, pickle.HIGHEST_PROTOCOL)
        self.written += 1

    def __len__(self) -> int:
        return self.written

    def __iter__(self) -> Iterator[zipfile.ZipInfo]:
        self.file.seek(0)
        for _ in range(self.written):
            info = zipfile.ZipInfo.__new__(zipfile.ZipInfo)
            for name, value in zip(_SLOTS, pickle.load(self.file), strict=True):  # our own file, written above
                if value is not _UNSET:
                    setattr(info, name, value)
            yield info
        self.file.seek(0, 2)


class _Unkept(dict[str, zipfile.ZipInfo]):
    """zipfile's ``NameToInfo`` of a ZIP being written, which it only asks whether a name is taken (to warn):
    nothing kept, as the subset's member names are distinct by construction (core/export/subset.py's member_names)."""

    def __setitem__(self, name: str, info: zipfile.ZipInfo) -> None:
        pass


class SpooledZipFile(zipfile.ZipFile):
    """A ZipFile to write whose central directory waits in a temporary file, not in memory (the module's note)."""

    def __init__(self, file: Any, **options: Any) -> None:
        super().__init__(file, "w", **options)
        self.filelist, self.NameToInfo = _Members(), _Unkept()

    def close(self) -> None:
        try:
            super().close()
        finally:
            members = self.filelist
            if isinstance(members, _Members):
                members.file.close()
