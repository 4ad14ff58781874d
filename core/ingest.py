"""Ingest: turn files into sounds. Every file is checked by content, hashed, deduplicated and stored.

Each file is its own unit of work: a bad one is refused with a reason and the batch goes on. A file is either
fully in (object + rows) or not at all: if the rows cannot be written, the object written for them is removed.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core import audio
from core.db import Database, on_rollback
from core.errors import EarmarkError, ValidationError
from core.models import Sound, SoundField, SoundTag, StoredFile, User
from core.permissions import Action, require
from core.storage import CHUNK, Storage, normalise_key
from core.tags import clean_tags

_DATASET = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
PATH_COLUMNS = ("path", "file_name", "filename", "file", "audio_path")


@dataclass(frozen=True)
class IngestResult:
    path: str
    status: str  # "stored", "duplicate" or "refused"
    reason: str = ""
    sound_id: str | None = None


@dataclass
class ImportSummary:
    results: list[IngestResult] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for r in self.results if r.status == status)

    def line(self) -> str:
        return (
            f"{self.count('stored')} stored, {self.count('duplicate')} already there, "
            f"{self.count('refused')} refused"
        )


def check_dataset_name(name: str) -> str:
    name = (name or "").strip()
    if not _DATASET.match(name):
        raise ValidationError(
            "dataset", f"The dataset name {name!r} must be 1 to 128 letters, digits, '.', '_' or '-'."
        )
    return name


def audio_key(dataset: str, relative_path: str) -> str:
    return f"audio/{dataset}/{normalise_key(relative_path)}"


def _spool(data: BinaryIO, max_bytes: int, name: str) -> tuple[tempfile.SpooledTemporaryFile, str]:
    """Copy ``data`` to a temporary file and hash it, refusing it as soon as it passes ``max_bytes``."""
    spool = tempfile.SpooledTemporaryFile(max_size=16 * CHUNK)
    digest = hashlib.sha256()
    total = 0
    while chunk := data.read(CHUNK):
        total += len(chunk)
        digest.update(chunk)
        if total > max_bytes:
            spool.close()
            raise ValidationError("file", f"{name} is larger than the {max_bytes // (1024 * 1024)} MB limit (EARMARK_MAX_UPLOAD_MB).")
        spool.write(chunk)
    spool.seek(0)
    return spool, digest.hexdigest()


def ingest_audio(
    db: Database,
    storage: Storage,
    actor: User,
    dataset: str,
    relative_path: str,
    data: BinaryIO,
    *,
    max_bytes: int,
    fields: dict[str, str] | None = None,
    tags: Iterable[str] = (),
    purpose: str = "ingestion",
    description: str | None = None,
) -> IngestResult:
    """Store one audio file as a sound of ``dataset`` at ``relative_path``; never raises for bad input."""
    try:
        require(actor, Action.UPLOAD)
        dataset = check_dataset_name(dataset)
        relative_path = normalise_key(relative_path)
        if Path(relative_path).suffix.lower() not in audio.AUDIO_EXTENSIONS:
            raise ValidationError("file", f"{relative_path} does not have an audio extension ({', '.join(sorted(audio.AUDIO_EXTENSIONS))}).")
        tag_list = clean_tags(list(tags))
        spool, sha256 = _spool(data, max_bytes, relative_path)
        with spool:
            info = audio.probe(spool, relative_path)
            spool.seek(0)
            return _store(db, storage, actor, dataset, relative_path, spool, sha256, info, fields or {}, tag_list, purpose, description)
    except EarmarkError as exc:
        return IngestResult(relative_path, "refused", str(exc))


def _existing(db: Database, dataset: str, relative_path: str, sha256: str) -> IngestResult | None:
    with db.read() as session:
        same = session.scalar(select(Sound).where(Sound.dataset == dataset, Sound.sha256 == sha256).limit(1))
        if same is not None:
            return IngestResult(relative_path, "duplicate", f"same content as {same.path}", same.id)
        at_path = session.scalar(select(Sound.id).where(Sound.dataset == dataset, Sound.path == relative_path))
        if at_path is not None:
            return IngestResult(relative_path, "refused", f"dataset {dataset} already has a different file at {relative_path}")
    return None


def _store(db, storage, actor, dataset, relative_path, spool, sha256, info, fields, tags, purpose, description) -> IngestResult:
    existing = _existing(db, dataset, relative_path, sha256)
    if existing is not None:
        return existing
    key = audio_key(dataset, relative_path)
    stored = storage.put(key, spool)
    try:
        with db.write() as session:
            on_rollback(session, lambda: _discard_unless_recorded(db, storage, key))
            record = StoredFile(
                key=key, category="audio", purpose=purpose, original_filename=Path(relative_path).name,
                description=description, extra={}, size=stored.size, sha256=stored.sha256, created_by=actor.id,
            )
            session.add(record)
            session.flush()
            sound = Sound(
                created_by=actor.id, dataset=dataset, path=relative_path, title=Path(relative_path).stem,
                file_id=record.id, sha256=stored.sha256, format=info.format, subtype=info.subtype,
                sample_rate=info.sample_rate, channels=info.channels, frames=info.frames,
                duration_seconds=info.duration_seconds,
                tags=[SoundTag(tag=t) for t in tags],
                fields=[SoundField(name=k, value=v) for k, v in fields.items() if k],
            )
            session.add(sound)
            session.flush()
            return IngestResult(relative_path, "stored", "", sound.id)
    except IntegrityError:  # another process stored the same path meanwhile
        return _existing(db, dataset, relative_path, sha256) or IngestResult(relative_path, "refused", "stored by another upload at the same time")


def _discard_unless_recorded(db: Database, storage: Storage, key: str) -> None:
    """Remove an object whose rows were not written, unless a concurrent upload recorded the same key."""
    with db.read() as session:
        if session.scalar(select(StoredFile.id).where(StoredFile.key == key)) is None:
            storage.delete(key)


# -- metadata tables -------------------------------------------------------------------------------------

def read_metadata_csv(data: bytes, name: str = "metadata CSV") -> list[dict[str, str]]:
    """Rows of a real-world CSV: BOM, ``,``/``;``/tab delimiters and padded headers all handled."""
    text = data.decode("utf-8-sig", errors="replace")
    if not text.strip():
        raise ValidationError("metadata", f"{name} is empty.")
    sample = text[:64 * 1024]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(io.StringIO(text), dialect=dialect)
    if not reader.fieldnames:
        raise ValidationError("metadata", f"{name} has no header row.")
    reader.fieldnames = [h.strip() for h in reader.fieldnames]
    return [{k: (v or "").strip() for k, v in row.items() if k is not None} for row in reader]


def pick_path_column(rows: list[dict[str, str]], wanted: str | None, name: str = "metadata CSV") -> str:
    columns = list(rows[0].keys()) if rows else []
    if wanted:
        if wanted not in columns:
            raise ValidationError("path_column", f"{name} has no column {wanted!r} (it has {', '.join(columns)}).")
        return wanted
    for candidate in PATH_COLUMNS:
        if candidate in columns:
            return candidate
    raise ValidationError(
        "path_column", f"{name} has none of the path columns {', '.join(PATH_COLUMNS)}; name one with --path-column."
    )


def index_metadata(rows: list[dict[str, str]], path_column: str) -> dict[str, dict[str, str]]:
    """Rows by normalised relative path (a leading ``audio/`` folder, as in the VoxCeleb layout, is dropped)."""
    index: dict[str, dict[str, str]] = {}
    for row in rows:
        raw = row.get(path_column, "").replace("\\", "/").strip()
        if not raw:
            continue
        try:
            key = normalise_key(raw)
        except EarmarkError:
            continue
        index[key] = row
        if key.startswith("audio/"):
            index.setdefault(key[len("audio/"):], row)
    return index


def import_folder(
    db: Database,
    storage: Storage,
    actor: User,
    folder: Path,
    *,
    dataset: str,
    max_bytes: int,
    metadata: dict[str, dict[str, str]] | None = None,
    tags: Iterable[str] = (),
    max_files: int | None = None,
    progress: Callable[[IngestResult], None] | None = None,
) -> ImportSummary:
    """Ingest every audio file under ``folder`` (relative paths kept), joining ``metadata`` rows by path."""
    summary = ImportSummary()
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in audio.AUDIO_EXTENSIONS)
    for path in files[:max_files] if max_files else files:
        relative = path.relative_to(folder).as_posix()
        row = (metadata or {}).get(relative) or (metadata or {}).get(relative.removeprefix("audio/")) or {}
        try:
            with path.open("rb") as data:
                result = ingest_audio(db, storage, actor, dataset, relative, data, max_bytes=max_bytes, fields=row, tags=tags)
        except OSError as exc:  # unreadable file: refuse it, keep going
            result = IngestResult(relative, "refused", f"cannot read {relative}: {exc.strerror or exc}")
        summary.results.append(result)
        if progress:
            progress(result)
    return summary
