"""The training formats in one streamed ZIP: the Download page's one click (and ``GET /api/v1/download?formats=...``).

The export writes several files at once (a Parquet shard and a WebDataset shard grow side by side), but a ZIP is
written one member after another, so each file goes to a temporary file on disk first and becomes a member when it
is complete: memory stays flat, the disk holds at most the files open at once (a shard each). The layout inside is
the folder export's (core/export/formats/run.py), with one difference: the subset's annotation formats (CSV, JSON,
Audacity, TextGrid, RTTM) are members beside the rest (``annotations.csv``, ``labels/...``) and the audio files are
always there (``audio/...``), rather than a ZIP inside the ZIP.
"""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any, BinaryIO

from core import __version__
from core.export.formats.options import FormatOptions, check_options, parse_formats
from core.export.formats.run import write_subset
from core.export.formats.target import Hashing, OutFile, Written
from core.export.outline import Outline, outline
from core.export.splits import SplitRule, plan_split_zip
from core.export.subset import ExportRequest, ZipStream, zip_of_folders
from core.store.db import Database
from core.store.models import utcnow
from core.store.storage import CHUNK, Storage


class ZipTarget:
    """A target whose files become members of an open ZIP as each one is complete."""

    def __init__(self, zf: zipfile.ZipFile) -> None:
        self.zf, self.url = zf, "download"

    @contextmanager
    def open(self, name: str) -> Iterator[OutFile]:
        with tempfile.TemporaryFile() as spool:
            stream = Hashing(spool.write)
            handle = OutFile(stream, 1024 * 1024)
            yield handle
            if not handle.closed:
                handle.flush()
            spool.seek(0)
            info = zipfile.ZipInfo(name, date_time=utcnow().timetuple()[:6])
            info.compress_type = zipfile.ZIP_STORED  # audio, shards: already compact
            with self.zf.open(info, "w", force_zip64=stream.size > 0x7FFFFFFF) as member:
                shutil.copyfileobj(spool, member, CHUNK)
        handle.written = Written(name, stream.size, stream.hash.hexdigest())


@dataclass
class FormatsZip:
    """A subset (or every split of one) in training formats, planned (errors come before the first byte) and ready
    to stream."""

    db: Database
    storage: Storage
    name: str
    subsets: Callable[[], Iterator[tuple[str, Outline]]]  # (split or "", subset): each split's outlined as it is reached
    training: tuple[str, ...]
    options: FormatOptions
    manifest: dict[str, Any]

    def write(self, out: BinaryIO) -> dict[str, Any]:
        return zip_of_folders(out, ((folder, self._writer(subset)) for folder, subset in self.subsets()), self.manifest)

    def _writer(self, subset: Outline) -> Callable[[zipfile.ZipFile, str], dict[str, Any]]:
        def write(zf: zipfile.ZipFile, folder: str) -> dict[str, Any]:
            return write_subset(self.db, subset, self.storage, ZipTarget(zf), folder, self.training, self.options, None,
                                inline_zip=True)
        return write

    def stream(self) -> ZipStream:
        return ZipStream(self.write)


def plan_formats_zip(db: Database, storage: Storage, request: ExportRequest, formats: str | tuple[str, ...],
                     options: FormatOptions | None = None, rule: SplitRule | None = None) -> FormatsZip:
    """Check the formats and plan the subset (with ``rule``: place every matching sound, storing its split)."""
    zip_formats, training = parse_formats(formats)
    options = check_options(options or FormatOptions())
    request = replace(request, formats=zip_formats)
    manifest: dict[str, Any] = {"app": "earmark", "version": __version__, "created_at": utcnow().isoformat(),
                                "formats": [*zip_formats, *training], "options": options.describe()}
    if rule is None:
        subset = outline(db, storage, request)
        return FormatsZip(db, storage, subset.name, lambda: iter([("", subset)]), training, options,
                          manifest | {"request": request.describe() | {"formats": manifest["formats"]}})
    splits = plan_split_zip(db, storage, request, rule, manifest["formats"])
    return FormatsZip(db, storage, splits.name, lambda: ((name, splits.outline(name)) for name in splits.sizes),
                      training, options, manifest | splits.summary)
