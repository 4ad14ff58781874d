"""Ingest: turn uploaded or imported files into sounds and registry files.

Each file is its own unit of work: checked by content, hashed, deduplicated (same sha256 in the dataset is
"already there"), stored, recorded. A bad file is refused with a reason and the batch goes on. A file is
either fully in (object + rows) or not at all: if its rows cannot be written, the object written for them is
removed. Two uploads racing for one path or one content are decided by the database's unique constraints
(the loser's transaction fails whole and it reports the winner), not by a check made beforehand. Batches run on
N worker threads (object storage is the slow part), and a re-run skips everything already stored, so an
interrupted import resumes.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import re
import tempfile
import threading
import unicodedata
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO, TypeVar, cast

from sqlalchemy import Table, or_, select
from sqlalchemy.exc import IntegrityError

from core.accounts.permissions import Action, require
from core.audio import decode as audio
from core.audio import peaks
from core.catalogue import metadata
from core.catalogue.files import FileService, check_expiry, check_purpose, detect_category
from core.catalogue.tags import clean_tags
from core.errors import EarmarkError, ObjectExists, StorageError, ValidationError
from core.ingest import archives
from core.ingest.states import IngestStatus
from core.store import journal
from core.store.db import Database, insert_for, on_rollback
from core.store.ids import new_id
from core.store.models import Sound, SoundField, SoundTag, StoredFile, User
from core.store.storage import CHUNK, Storage, escapes_root, normalise_key

_DATASET = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
_UNSAFE_CHARS = re.compile(r"[^\w .,()+=@~-]")
MAX_COMPONENT = 200
MAX_PATH = 800  # characters of a stored path: with audio/<dataset>/ in front it fits the 1,024 of a storage key
MAX_ORIGINAL_NAME = 512  # characters of an original file name kept as metadata (the rest is cut, with "...")
_SPOOL_IN_MEMORY = 1024 * 1024
T = TypeVar("T")
R = TypeVar("R")


# -- results --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class IngestResult:
    path: str
    status: IngestStatus  # its values, and what each means, are in core/ingest/states.py
    reason: str = ""
    sound_id: str | None = None
    kind: str = "sound"  # "sound", "file" (registry only) or "metadata"
    size: int = 0
    key: str | None = None  # the storage key of the stored (or already stored) object
    duplicate_of: str | None = None  # a duplicate's twin already in the dataset (its path), or in the registry (its key)

    def __post_init__(self) -> None:  # a status outside IngestStatus is a bug here, not a fifth outcome downstream
        object.__setattr__(self, "status", IngestStatus(self.status))


@dataclass
class ImportSummary:
    results: list[IngestResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # e.g. how each metadata table was joined

    def count(self, status: IngestStatus) -> int:
        return sum(1 for r in self.results if r.status == status)

    def line(self) -> str:
        skipped = self.count(IngestStatus.SKIPPED)
        return (f"{self.count(IngestStatus.STORED)} stored, {self.count(IngestStatus.DUPLICATE)} already there, "
                f"{self.count(IngestStatus.REFUSED)} refused" + (f", {skipped} skipped" if skipped else ""))


@dataclass(frozen=True)
class UploadOptions:
    """What applies to every file of one upload or import."""

    dataset: str
    max_bytes: int
    tags: tuple[str, ...] = ()
    purpose: str = "ingestion"
    description: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    expires_at: dt.datetime | None = None

    def checked(self) -> UploadOptions:
        return UploadOptions(
            dataset=check_dataset_name(self.dataset), max_bytes=self.max_bytes, tags=tuple(clean_tags(list(self.tags))),
            purpose=check_purpose(self.purpose), description=(self.description or "").strip() or None,
            extra=dict(self.extra), expires_at=check_expiry(self.expires_at),
        )


@dataclass(frozen=True)
class Source:
    """One file to ingest: its relative path in the upload, and how to open it."""

    path: str
    open: Callable[[], AbstractContextManager[BinaryIO]]  # a file, or a context manager giving one


# -- names ----------------------------------------------------------------------------------------------

def check_dataset_name(name: str) -> str:
    name = (name or "").strip()
    if not _DATASET.match(name):
        raise ValidationError("dataset", f"The dataset name {name!r} must be 1 to 128 letters, digits, '.', '_' or '-'.")
    return name


def without_common_folder(paths: list[str]) -> tuple[list[str], str | None]:
    """The paths of a dropped folder without the folder's own name when every path starts with it (as unzip
    tools do: ``wav/id1/a.wav`` and ``wav/id2/b.wav`` become ``id1/a.wav`` and ``id2/b.wav``), and that name;
    unchanged (and None) when they do not all share one top folder."""
    parts = [p.replace("\\", "/").split("/", 1) for p in paths]
    tops = {part[0] for part in parts}
    if not paths or len(tops) != 1 or any(len(part) < 2 or not part[1] for part in parts):
        return list(paths), None
    return [part[1] for part in parts], tops.pop()


def audio_key(dataset: str, relative_path: str) -> str:
    return f"audio/{dataset}/{normalise_key(relative_path)}"


def safe_relative_path(raw: str) -> tuple[str, bool]:
    """A storage-safe version of an uploaded path, and whether it had to change.

    Paths that try to leave the upload (``..``, absolute) are refused; odd characters, control characters,
    leading dots and over-long names are replaced, so the original name is kept only as metadata.
    """
    text = unicodedata.normalize("NFC", raw.replace("\\", "/"))
    if escapes_root(text):
        raise ValidationError("file", f"{raw} would be stored outside its dataset (refused).")
    parts = []
    for part in (p for p in text.split("/") if p not in ("", ".")):
        clean = _UNSAFE_CHARS.sub("_", "".join(ch for ch in part if ch.isprintable())).strip()
        clean = clean.lstrip(".") or "_"
        if len(clean) > MAX_COMPONENT:
            stem, suffix = PurePosixPath(clean).stem, PurePosixPath(clean).suffix[:16]
            clean = stem[: MAX_COMPONENT - len(suffix) - 9] + "_" + new_id()[-8:] + suffix
        parts.append(clean)
    if not parts:
        raise ValidationError("file", f"{raw!r} names no file.")
    safe = "/".join(parts)
    if len(safe) > MAX_PATH:
        raise ValidationError("file", f"{raw[:60]}... has a path of {len(safe):,} characters; Earmark keeps paths of up to "
                                      f"{MAX_PATH:,} (refused).")
    return safe, safe != raw


def original_name(path: str) -> str:
    """The last part of a path as it was given, cut to MAX_ORIGINAL_NAME characters (the database's limit)."""
    name = PurePosixPath(path.replace("\\", "/")).name or path
    return name if len(name) <= MAX_ORIGINAL_NAME else name[: MAX_ORIGINAL_NAME - 3] + "..."


# -- one file -------------------------------------------------------------------------------------------

@contextmanager
def _prepared(data: BinaryIO, max_bytes: int, name: str) -> Iterator[tuple[BinaryIO, str, int]]:
    """``data`` as a seekable file with its sha256 and size, refused as soon as it passes ``max_bytes``.

    A seekable source is hashed in place; anything else is copied to a temporary file first.
    """
    digest, size = hashlib.sha256(), 0
    seekable = getattr(data, "seekable", lambda: False)()
    with ExitStack() as stack:
        if seekable:
            data.seek(0)
            target: BinaryIO = data
        else:
            # a binary file, though typeshed types SpooledTemporaryFile as IO[bytes] only
            target = cast(BinaryIO, stack.enter_context(tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY)))
        while chunk := data.read(CHUNK):
            size += len(chunk)
            if size > max_bytes:
                raise ValidationError("file", f"{name} is larger than the {max_bytes // (1024 * 1024)} MB limit (EARMARK_MAX_UPLOAD_MB).")
            digest.update(chunk)
            if not seekable:
                target.write(chunk)
        target.seek(0)
        yield target, digest.hexdigest(), size


@dataclass(frozen=True)
class InPlace:
    """Where a registered file stays (core.store.sources): its object's URL and the URL it was registered from,
    and when that registration listed it. Its audio is read, never copied: only its peaks are written."""

    key: str
    source: str
    seen_at: dt.datetime


def ingest_audio(db: Database, storage: Storage, actor: User, relative_path: str, data: BinaryIO, options: UploadOptions,
                 fields: dict[str, str] | None = None, in_place: InPlace | None = None) -> IngestResult:
    """Store one audio file as a sound at ``relative_path`` of ``options.dataset`` (or, ``in_place``, record it
    where it is); never raises for bad input."""
    try:
        require(actor, Action.UPLOAD)
        safe_path, renamed = safe_relative_path(relative_path)
        if PurePosixPath(safe_path).suffix.lower() not in audio.AUDIO_EXTENSIONS:
            raise ValidationError("file", f"{relative_path} does not have an audio extension ({', '.join(sorted(audio.AUDIO_EXTENSIONS))}).")
        with _prepared(data, options.max_bytes, relative_path) as (stream, sha256, size):
            existing = _existing_sound(db, options.dataset, safe_path, sha256)
            if existing is not None:
                return existing
            info = audio.probe(stream, relative_path)
            stream.seek(0)
            audio.check_complete(stream, info, relative_path)
            info, pyramid = _measured(stream, info, relative_path, size)
            extra = dict(options.extra) | ({"original_path": relative_path} if renamed else {})
            return _store_sound(db, storage, actor, safe_path, stream, sha256, size, info, pyramid, options, fields or {}, extra,
                                in_place)
    except EarmarkError as exc:
        return IngestResult(relative_path, IngestStatus.REFUSED, str(exc))


def _existing_sound(db: Database, dataset: str, path: str, sha256: str) -> IngestResult | None:
    """The sound of ``dataset`` with this content (a duplicate) or at this path (a refusal): one query, both
    answered by the unique indexes."""
    with db.read() as session:
        rows = session.execute(
            select(Sound.id, Sound.path, Sound.sha256, StoredFile.key).outerjoin(StoredFile, StoredFile.id == Sound.file_id)
            .where(Sound.dataset == dataset, or_(Sound.sha256 == sha256, Sound.path == path)).limit(2)).all()
    same = next((row for row in rows if row.sha256 == sha256), None)
    if same is not None:
        return IngestResult(path, IngestStatus.DUPLICATE, f"same content as {same.path}", same.id, key=same.key,
                            duplicate_of=same.path)
    if rows:
        return IngestResult(path, IngestStatus.REFUSED, f"dataset {dataset} already has a different file at {path}")
    return None


def _measured(stream: BinaryIO, info: audio.AudioInfo, name: str, size: int) -> tuple[audio.AudioInfo, bytes | None]:
    """One pass over the samples before anything is stored: how many there really are (a header that claims
    more than the file holds is refused: audio.measure), and the sound's peaks pyramid if it is long enough."""
    pyramid = peaks.Pyramid() if peaks.needs_pyramid(info.frames) else None
    info = audio.measure(stream, info, name, size, on_block=pyramid.add if pyramid else None, multiple=peaks.BLOCKS[0])
    if pyramid is None or not peaks.needs_pyramid(info.frames):
        return info, None
    return info, pyramid.pack(info.sample_rate, info.channels, info.frames)


def _store_sound(db, storage, actor, path, stream, sha256, size, info, pyramid: bytes | None, options: UploadOptions,
                 fields, extra, in_place: InPlace | None = None) -> IngestResult:
    """Claim the path with the rows first, then write the bytes there.

    Uploads of different files to one path may race: the database lets exactly one of them record the path (its
    sha256 and size are known before anything is stored), and only that one writes the objects, so the bytes at
    a path are always the ones its row describes. Until they are written the sound has no object yet; if they
    cannot be written, the rows are taken out again. No request to storage is made inside the transaction: on
    SQLite it holds the one write lock, and a storage round trip there would make parallel imports take turns.
    """
    key = in_place.key if in_place else audio_key(options.dataset, path)
    sound_id = new_id()
    objects: list[tuple[str, BinaryIO | bytes]] = [] if in_place else [(key, stream)]
    if pyramid is not None:
        objects.append((peaks.peaks_key(sound_id), pyramid))
    file_id = new_id()
    where = {"source": in_place.source, "seen_at": in_place.seen_at} if in_place else {"source": None, "seen_at": None}
    try:
        with db.write() as session:  # plain INSERTs with bound parameters (compiled once): an import writes thousands
            files, sounds = cast(Table, StoredFile.__table__), cast(Table, Sound.__table__)  # of these, and the ORM's unit of work cost more than the rows
            session.execute(files.insert(), {
                "id": file_id, "key": key, "category": "audio", "purpose": options.purpose,
                "original_filename": original_name(extra.get("original_path", path)), "description": options.description,
                "extra": extra, "size": size, "sha256": sha256, "created_by": actor.id, "expires_at": options.expires_at, **where})
            if pyramid is not None:
                session.execute(files.insert(), _peaks_columns(actor.id, sound_id, pyramid))
            session.execute(sounds.insert(), {
                "id": sound_id, "created_by": actor.id, "dataset": options.dataset, "path": path, "title": PurePosixPath(path).stem,
                "file_id": file_id, "sha256": sha256, "format": info.format, "subtype": info.subtype,
                "sample_rate": info.sample_rate, "channels": info.channels, "frames": info.frames,
                "duration_seconds": info.duration_seconds, "expires_at": options.expires_at})
            if options.tags:
                session.execute(cast(Table, SoundTag.__table__).insert(), [{"sound_id": sound_id, "tag": t} for t in options.tags])
            if named := [{"sound_id": sound_id, "name": k, "value": v} for k, v in fields.items() if k]:
                session.execute(cast(Table, SoundField.__table__).insert(), named)
    except IntegrityError:  # another upload recorded the same path or content meanwhile
        return _existing_sound(db, options.dataset, path, sha256) or IngestResult(path, IngestStatus.REFUSED, "stored by another upload at the same time")
    _write_claimed(db, storage, key, objects)
    return IngestResult(path, IngestStatus.STORED, "", sound_id, size=size, key=key)


def _write_claimed(db: Database, storage: Storage, key: str, objects: list[tuple[str, BinaryIO | bytes]]) -> None:
    """Write the objects of a path this upload's rows own; if that fails, take the rows back out (the sound, its
    peaks, and whatever was written) and say why.

    The audio never replaces an object it finds at its key unless the storage journal names that object as
    Earmark's own leftover: anything else there is someone else's (a bucket shared with the user's files), and the
    upload is refused instead, leaving that object as it was."""
    foreign: frozenset[str] = frozenset()
    try:
        for object_key, data in objects:
            try:
                storage.put(object_key, data, replace=False)
            except ObjectExists:
                if not journal.names(db, object_key):
                    foreign = frozenset([object_key])
                    raise ObjectExists(f"{object_key} already holds a file Earmark did not write, which it leaves alone; "
                                       "upload this one to another dataset or path, or move that file away.") from None
                _rewind(data)
                storage.put(object_key, data)  # Earmark's own leftover (a crash between a deletion and its object's)
    except StorageError:
        with db.write() as session:
            files = FileService(session, storage)
            files.remove(files.by_key(key), keep=foreign)  # the sound and its peaks too; their objects after the commit
        raise


def _rewind(data: BinaryIO | bytes) -> None:
    if not isinstance(data, (bytes, bytearray, memoryview)):
        data.seek(0)


def _peaks_columns(actor_id: str, sound_id: str, pyramid: bytes) -> dict:
    """The row of a sound's waveform pyramid (``derived/<sound id>/peaks.bin``), described before it is stored."""
    return {"key": peaks.peaks_key(sound_id), "category": "derived", "purpose": "ingestion", "original_filename": "peaks.bin",
            "description": "waveform peaks", "extra": {}, "size": len(pyramid), "sha256": hashlib.sha256(pyramid).hexdigest(),
            "created_by": actor_id}


def ensure_peaks(db: Database, storage: Storage, sound: Sound) -> str | None:
    """The key of ``sound``'s pyramid, computing it now for sounds stored before pyramids existed (or whose
    pyramid was lost); None for a sound too short to need one (drawn from its samples)."""
    if sound.file is None:
        raise ValidationError("sound", f"Sound {sound.title!r} has no stored audio to draw.")
    if not peaks.needs_pyramid(sound.frames or 0):
        return None
    key = peaks.peaks_key(sound.id)
    if storage.exists(key):
        return key
    with audio.decode_slot(), storage.open_seekable(sound.audio.key) as source:  # a whole decode: one of the slots
        pyramid = peaks.compute(source, sound.path)
    journal.record(db, [key])  # known as Earmark's before it exists (core.store.journal)
    storage.put(key, pyramid)  # the same bytes whoever computes them: racing readers may both write
    with db.write() as session:
        statement = insert_for(session, StoredFile).values(**_peaks_columns(sound.created_by, sound.id, pyramid))
        session.execute(statement.on_conflict_do_nothing(index_elements=["key"]))
        journal.settle(session, [key])
    return key


def _discard_unless_recorded(db: Database, storage: Storage, key: str) -> None:
    """Remove an object whose rows were not written, unless a concurrent upload recorded the same key."""
    with db.read() as session:
        if session.scalar(select(StoredFile.id).where(StoredFile.key == key)) is None:
            storage.delete(key)
            journal.clear(db, [key])


def store_file(db: Database, storage: Storage, actor: User, name: str, data: BinaryIO, options: UploadOptions,
               category: str | None = None, kind: str = "file") -> IngestResult:
    """Store a non-audio file in the registry under ``files/<category>/``; never raises for bad input."""
    try:
        require(actor, Action.UPLOAD)
        safe_name, _ = safe_relative_path(PurePosixPath(name.replace("\\", "/")).name)
        with _prepared(data, options.max_bytes, name) as (stream, sha256, size):
            found = detect_category(safe_name, stream, category)
            with db.read() as session:
                same = session.scalar(select(StoredFile).where(StoredFile.sha256 == sha256, StoredFile.category == found).limit(1))
                if same is not None:
                    return IngestResult(name, IngestStatus.DUPLICATE, f"same content as {same.key}", kind=kind, key=same.key,
                                        duplicate_of=same.key)
            key = f"files/{found}/{PurePosixPath(safe_name).stem}_{new_id()[-10:]}{''.join(PurePosixPath(safe_name).suffixes)[-16:]}"
            journal.record(db, [key])  # known as Earmark's before it exists (core.store.journal)
            stored = storage.put(key, stream)
            with db.write() as session:
                on_rollback(session, lambda: _discard_unless_recorded(db, storage, key))
                journal.settle(session, [key])
                session.add(StoredFile(
                    key=key, category=found, purpose=options.purpose, original_filename=original_name(name), description=options.description,
                    extra=dict(options.extra), size=stored.size, sha256=stored.sha256, created_by=actor.id, expires_at=options.expires_at,
                ))
            return IngestResult(name, IngestStatus.STORED, "", kind=kind, size=stored.size, key=key)
    except EarmarkError as exc:
        return IngestResult(name, IngestStatus.REFUSED, str(exc), kind=kind)


# -- batches --------------------------------------------------------------------------------------------

def ingest_sources(
    db: Database, storage: Storage, actor: User, sources: Iterable[Source], options: UploadOptions, *,
    joins: Sequence[metadata.MetadataJoin] = (), workers: int = 1, progress: Callable[[IngestResult], None] | None = None,
) -> list[IngestResult]:
    """Ingest audio ``sources`` on ``workers`` threads; results come back in the sources' order."""
    options = options.checked()
    lock = threading.Lock()

    def one(source: Source) -> IngestResult:
        try:
            with source.open() as data:
                result = ingest_audio(db, storage, actor, source.path, data, options, metadata.merged_fields(list(joins), source.path))
        except OSError as exc:  # an unreadable file is refused; the batch goes on
            result = IngestResult(source.path, IngestStatus.REFUSED, f"cannot read {source.path}: {exc.strerror or exc}")
        if progress:
            with lock:
                progress(result)
        return result

    if workers <= 1:
        return [one(s) for s in sources]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ingest") as pool:
        return list(in_order(pool, one, sources, ahead=workers * 4))


def in_order(pool: ThreadPoolExecutor, work: Callable[[T], R], items: Iterable[T], ahead: int) -> Iterator[R]:
    """``pool.map`` with at most ``ahead`` items in flight: ``map`` makes a future for every item at once, which at
    a million files held more memory than the files' rows (bench/scale.py: 364 MB for 100,000 against 125 MB for
    10,000)."""
    pending: deque[Future[R]] = deque()
    for item in items:
        pending.append(pool.submit(work, item))
        if len(pending) >= ahead:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


def _not_taken(relative: str, is_given_table: bool) -> str:
    """Why a file of an imported folder or archive is not a sound (it is named in the summary, never dropped silently)."""
    name = PurePosixPath(relative).name.lower()
    if is_given_table:
        return "the metadata table given with --metadata"
    if archives.is_archive(name):
        return "an archive inside the import: not unpacked (import it on its own: python -m core import FILE)"
    if name.endswith(metadata.METADATA_SUFFIXES) or name.endswith(".json"):
        return "a table: not joined unless given with --metadata"
    return "not audio (WAV, FLAC, OGG, MP3 or AIFF)"


def _walk(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def _folder_source(folder: Path, relative: str) -> Source:
    return Source(relative, lambda: (folder / relative).open("rb"))


def _tables(named: Iterable[tuple[str, metadata.Source]], audio_paths: list[str], path_column: str | None,
            summary: ImportSummary) -> list[metadata.MetadataJoin]:
    joins = []
    for name, data in named:
        try:
            joins.append(metadata.plan_join(metadata.read_table(data, name), audio_paths, name, path_column))
            summary.notes.append(joins[-1].describe())
        except EarmarkError as exc:
            summary.results.append(IngestResult(name, IngestStatus.REFUSED, str(exc), kind="metadata"))
    return joins


def import_path(
    db: Database, storage: Storage, actor: User, path: Path, options: UploadOptions, *,
    metadata_files: Iterable[Path] = (), path_column: str | None = None, workers: int = 4, max_files: int | None = None,
    progress: Callable[[IngestResult], None] | None = None, on_plan: Callable[[int, int], None] | None = None,
) -> ImportSummary:
    """Import a folder or an archive: its audio becomes sounds, joined with the metadata tables given.

    ``on_plan(files, bytes)`` is told the size of the work before it starts (for a progress bar).
    """
    summary = ImportSummary()
    require(actor, Action.UPLOAD)
    with tempfile.TemporaryDirectory(prefix="earmark-import-") as tmp:
        folder = path
        if path.is_file():
            if not archives.is_archive(path.name):
                raise ValidationError("path", f"{path} is neither a folder nor a ZIP/TAR archive.")
            with path.open("rb") as archive:
                extracted = archives.extract(archive, path.name, Path(tmp), _limits(options))
            summary.results += [IngestResult(n, IngestStatus.REFUSED, why) for n, why in extracted.refused]
            folder = Path(tmp)
        elif not path.is_dir():
            raise ValidationError("path", f"{path} does not exist.")
        files = _walk(folder)
        audio_paths = [f for f in files if PurePosixPath(f).suffix.lower() in audio.AUDIO_EXTENSIONS]
        given = {Path(m).resolve() for m in metadata_files}
        sounds = set(audio_paths)
        summary.results += [IngestResult(f, IngestStatus.SKIPPED, _not_taken(f, path.is_dir() and (folder / f).resolve() in given))
                            for f in files if f not in sounds]
        audio_paths = audio_paths[:max_files] if max_files else audio_paths
        joins = _tables(((p.name, p) for p in metadata_files), audio_paths, path_column, summary)
        if on_plan:
            on_plan(len(audio_paths), sum((folder / f).stat().st_size for f in audio_paths))
        summary.results += ingest_sources(db, storage, actor, [_folder_source(folder, f) for f in audio_paths], options,
                                          joins=joins, workers=workers, progress=progress)
    return summary


def _limits(options: UploadOptions) -> archives.ArchiveLimits:
    return archives.ArchiveLimits(max_member_bytes=options.max_bytes)


def ingest_upload(
    db: Database, storage: Storage, actor: User, uploads: list[tuple[str, BinaryIO]], options: UploadOptions, *,
    path_column: str | None = None, workers: int = 4, progress: Callable[[IngestResult], None] | None = None,
    on_plan: Callable[[int], None] | None = None,
) -> ImportSummary:
    """What the Upload page does with the files a person dropped (files, folders, archives, metadata tables).

    Archives are unpacked (safely) and their members treated as dropped files; CSV/JSON-lines tables are joined
    to the audio and kept in the registry; other accepted files go to the registry; audio becomes sounds.
    """
    summary = ImportSummary()
    try:
        options = options.checked()
        require(actor, Action.UPLOAD)
    except EarmarkError as exc:
        summary.results += [IngestResult(name, IngestStatus.REFUSED, str(exc)) for name, _ in uploads]
        return summary
    with tempfile.TemporaryDirectory(prefix="earmark-upload-") as tmp, ExitStack() as opened:
        audio_sources: list[Source] = []
        tables: list[tuple[str, BinaryIO]] = []
        others: list[tuple[str, BinaryIO]] = []
        for index, (name, data) in enumerate(uploads):
            members = [(name, data)]
            if archives.is_archive(name):
                members = _unpack_upload(name, data, Path(tmp) / f"archive{index}", options, summary, opened)
            for member, stream in members:
                lower = member.lower()
                if lower.endswith(tuple(audio.AUDIO_EXTENSIONS)):
                    audio_sources.append(Source(member, functools.partial(_Unclosed, stream)))
                elif metadata.is_metadata_name(lower):
                    tables.append((member, stream))
                else:
                    others.append((member, stream))
        if on_plan:
            on_plan(len(audio_sources) + len(tables) + len(others))
        for group, kind in ((tables, "metadata"), (others, "file")):
            for name, data in group:
                summary.results.append(store_file(db, storage, actor, name, data, options, kind=kind))
                if progress:
                    progress(summary.results[-1])
        joins = _tables([(n, _read_all(d)) for n, d in tables], [s.path for s in audio_sources], path_column, summary)
        summary.results += ingest_sources(db, storage, actor, audio_sources, options, joins=joins, workers=workers,
                                          progress=progress)
    return summary


def _read_all(data: BinaryIO) -> bytes:
    data.seek(0)
    content = data.read()
    data.seek(0)
    return content


class _Unclosed:
    """A context manager over an uploaded file that the caller keeps open (the page owns it)."""

    def __init__(self, data: BinaryIO) -> None:
        self.data = data

    def __enter__(self) -> BinaryIO:
        self.data.seek(0)
        return self.data

    def __exit__(self, *exc: object) -> None:
        return None


def _unpack_upload(name: str, data: BinaryIO, target: Path, options: UploadOptions, summary: ImportSummary,
                   opened: ExitStack) -> list[tuple[str, BinaryIO]]:
    """An uploaded archive's members as (path inside the upload, open file); refusals go to ``summary``."""
    try:
        extracted = archives.extract(data, name, target, _limits(options))
    except EarmarkError as exc:
        summary.results.append(IngestResult(name, IngestStatus.REFUSED, str(exc), kind="file"))
        return []
    summary.results += [IngestResult(f"{name}/{member}", IngestStatus.REFUSED, why) for member, why in extracted.refused]
    return [(relative, opened.enter_context((target / relative).open("rb"))) for relative in extracted.files]
