"""Register files in place: catalogue the audio of a bucket or folder where it is, never copying or changing it.

``python -m core import s3://bucket/prefix`` (or a folder with ``--in-place``, or the Upload page's form for
administrators) lists the source, and for each audio object it has not registered yet reads the object once (one
streamed GET) to hash, check and measure it and to build its peaks, exactly as an upload is checked
(core.ingest.pipeline.ingest_audio); the sound's row names the object by its URL (core.store.sources). Earmark
writes only its own rows and derived files, in its own storage.

A re-run lists the source again: objects registered before cost one batched UPDATE per thousand (no read), new ones
are registered, and rows whose objects the listing no longer has are marked missing (Browse says so; exports skip
them or stop). A listing that fails marks nothing. Every step is linear in the number of objects: known keys are
looked up a thousand at a time, and nothing holds a list of the catalogue.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path, PurePosixPath

from sqlalchemy import select, update

from core.accounts.permissions import Action, require
from core.audio import decode as audio
from core.catalogue import metadata
from core.errors import EarmarkError, InvalidKey, ValidationError
from core.ingest.pipeline import IngestResult, InPlace, UploadOptions, in_order, ingest_audio
from core.ingest.states import IngestStatus
from core.store.db import Database, rowcount
from core.store.models import StoredFile, User, utcnow
from core.store.sources import CatalogueStorage, SourceRoot, earmark_writes_at, is_registered, parse_source
from core.store.storage import CHUNK, ObjectInfo, normalise_key

BATCH = 1000  # listed objects looked up (and marked seen) per query
EXAMPLES = 5  # skipped objects named per reason


@dataclass
class RegisterSummary:
    """What one registration did: counts by outcome, every refusal with its reason, examples of what was skipped."""

    source: str
    # registered (the IngestStatus stored), duplicate, refused, skipped (IngestStatus's), known, missing, back, changed
    counts: Counter[str] = field(default_factory=Counter)
    refused: list[IngestResult] = field(default_factory=list)
    skipped: dict[str, list[str]] = field(default_factory=dict)  # reason -> a few examples
    notes: list[str] = field(default_factory=list)

    def skip(self, reason: str, key: str) -> None:
        self.counts[IngestStatus.SKIPPED] += 1
        examples = self.skipped.setdefault(reason, [])
        if len(examples) < EXAMPLES:
            examples.append(key)

    def line(self) -> str:
        c = self.counts
        parts = [f"{c['registered']:,} registered", f"{c['known']:,} already registered",
                 f"{c[IngestStatus.DUPLICATE]:,} already there", f"{c[IngestStatus.REFUSED]:,} refused"]
        parts += [f"{c[name]:,} {label}" for name, label in ((IngestStatus.SKIPPED, "skipped (not audio)"), ("missing", "now missing"),
                                                             ("back", "found again"), ("changed", "changed size since registered"))
                  if c[name]]
        return ", ".join(parts)


@dataclass(frozen=True)
class _Listed:
    key: str  # the object's URL
    path: str  # its path in the dataset: relative to the source root
    size: int


def register(
    db: Database, storage: CatalogueStorage, actor: User, source: str, options: UploadOptions, *,
    metadata_sources: Iterable[str] = (), path_column: str | None = None, workers: int = 8,
    progress: Callable[[IngestResult], None] | None = None, on_plan: Callable[[int, int], None] | None = None,
) -> RegisterSummary:
    """Register the audio under ``source`` (an ``s3://`` URL or a folder) into ``options.dataset``, in place.

    ``on_plan(files, bytes)`` is told how many objects are new once the listing is done; ``progress`` is called
    once per new object. Metadata tables may be local files or objects of a source (``s3://bucket/meta.csv``).
    """
    require(actor, Action.UPLOAD)
    options = options.checked()
    root = parse_source(source)
    if earmark_writes_at(root.url, storage.own.url):
        raise ValidationError("source", f"{root.url} is where Earmark keeps its own files ({storage.own.url}); "
                                        "register a bucket prefix or folder of your own files.")
    summary, seen_at = RegisterSummary(root.url), utcnow()
    new = list(_unregistered(db, storage, root, seen_at, summary))  # the whole listing, before anything is marked
    joins = _joins(storage, metadata_sources, [item.path for item in new], path_column, summary)
    if on_plan:
        on_plan(len(new), sum(item.size for item in new))
    _register_new(db, storage, actor, root, new, options, joins, seen_at, workers, summary, progress)
    summary.counts["missing"] = _mark_missing(db, root, seen_at)
    return summary


def _unregistered(db: Database, storage: CatalogueStorage, root: SourceRoot, seen_at, summary: RegisterSummary) -> Iterator[_Listed]:
    """The listed audio objects not registered yet; the others are marked seen, a batch at a time, as the listing
    goes (a listing that fails part way raises, and :func:`_mark_missing` is then never reached)."""
    listing = (item for item in storage.sources.listing(root) if _addressable(item, root, storage, summary))
    while batch := list(islice(listing, BATCH)):
        known = _mark_seen(db, batch, seen_at, summary)
        yield from (_Listed(item.key, root.relative(item.key), item.size) for item in batch if item.key not in known)


def _addressable(item: ObjectInfo, root: SourceRoot, storage: CatalogueStorage, summary: RegisterSummary) -> bool:
    """Whether a listed object can be a sound: audio by its extension, a key Earmark can name again, outside
    Earmark's own storage."""
    relative = root.relative(item.key)
    if PurePosixPath(relative).suffix.lower() not in audio.AUDIO_EXTENSIONS:
        summary.skip("not audio (WAV, FLAC, OGG, MP3 or AIFF)", relative)
        return False
    try:
        addressable = normalise_key(relative) == relative
    except InvalidKey:
        addressable = False
    if not addressable:
        summary.skip("a name with doubled slashes, '.', '..', backslashes or control characters", relative)
        return False
    if earmark_writes_at(item.key, storage.own.url):
        summary.skip("inside Earmark's own storage", relative)
        return False
    return True


def _mark_seen(db: Database, batch: list[ObjectInfo], seen_at, summary: RegisterSummary) -> set[str]:
    """Which of ``batch`` are registered already, marked seen now (and no longer missing) in one transaction."""
    keys = [item.key for item in batch]
    sizes = {item.key: item.size for item in batch}
    with db.write() as session:
        rows = session.execute(select(StoredFile.key, StoredFile.size, StoredFile.missing_since).where(StoredFile.key.in_(keys))).all()
        if rows:
            session.execute(update(StoredFile).where(StoredFile.key.in_([r.key for r in rows]))
                            .values(seen_at=seen_at, missing_since=None))
    summary.counts["known"] += len(rows)
    summary.counts["back"] += sum(1 for r in rows if r.missing_since is not None)
    summary.counts["changed"] += sum(1 for r in rows if r.size != sizes[r.key])
    return {r.key for r in rows}


def _joins(storage: CatalogueStorage, sources: Iterable[str], paths: list[str], path_column: str | None,
           summary: RegisterSummary) -> list[metadata.MetadataJoin]:
    """The metadata tables planned against the new files. A table in a bucket is copied to a temporary file first,
    and a local one read where it is: the reader gets a path, never the whole table as bytes beside its own copy."""
    joins = []
    for name in sources:
        try:
            with tempfile.TemporaryDirectory(prefix="earmark-table-") as tmp:
                table = metadata.read_table(_table_path(storage, name, Path(tmp)), PurePosixPath(name).name)
            joins.append(metadata.plan_join(table, paths, name, path_column))
            summary.notes.append(joins[-1].describe())
        except EarmarkError as exc:
            summary.counts[IngestStatus.REFUSED] += 1
            summary.refused.append(IngestResult(name, IngestStatus.REFUSED, str(exc), kind="metadata"))
    return joins


def _table_path(storage: CatalogueStorage, name: str, tmp: Path) -> Path:
    if is_registered(name):
        local = tmp / PurePosixPath(name).name
        with storage.open(name) as source, local.open("wb") as out:
            shutil.copyfileobj(source, out, CHUNK)
        return local
    path = Path(name).expanduser()
    if not path.is_file():
        raise ValidationError("metadata", f"The metadata table {name} is not a file on this machine.")
    return path


def _register_new(db: Database, storage: CatalogueStorage, actor: User, root: SourceRoot, new: list[_Listed],
                  options: UploadOptions, joins: list[metadata.MetadataJoin], seen_at, workers: int,
                  summary: RegisterSummary, progress: Callable[[IngestResult], None] | None) -> None:
    lock = threading.Lock()

    def one(item: _Listed) -> None:
        result = _register_one(db, storage, actor, root, item, options, joins, seen_at)
        with lock:
            summary.counts["registered" if result.status == IngestStatus.STORED else result.status] += 1
            if result.status == IngestStatus.REFUSED:
                summary.refused.append(result)
            if progress:
                progress(result)

    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="register") as pool:
        for _ in in_order(pool, one, new, ahead=max(1, workers) * 4):
            pass


def _register_one(db: Database, storage: CatalogueStorage, actor: User, root: SourceRoot, item: _Listed,
                  options: UploadOptions, joins: list[metadata.MetadataJoin], seen_at) -> IngestResult:
    """One object read once, streamed (the hash and the checks need all of it), and recorded where it is."""
    fields = metadata.merged_fields(joins, item.path)
    try:
        with storage.open(item.key) as data:
            return ingest_audio(db, storage, actor, item.path, data, options, fields, InPlace(item.key, root.url, seen_at))
    except EarmarkError as exc:  # unreadable now (gone since the listing, refused by the source): refused, the batch goes on
        return IngestResult(item.path, IngestStatus.REFUSED, str(exc))
    except OSError as exc:
        return IngestResult(item.path, IngestStatus.REFUSED, f"cannot read {item.key}: {exc.strerror or exc}")


def _mark_missing(db: Database, root: SourceRoot, seen_at) -> int:
    """Mark the rows registered from ``root`` that this listing did not see as missing; how many were marked."""
    with db.write() as session:
        result = session.execute(
            update(StoredFile)
            .where(StoredFile.source == root.url, StoredFile.missing_since.is_(None),
                   (StoredFile.seen_at.is_(None)) | (StoredFile.seen_at < seen_at))
            .values(missing_since=seen_at))
        return rowcount(result)

