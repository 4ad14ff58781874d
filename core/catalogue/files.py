"""The file registry: every stored file, audio or not, with purpose, category,
description, metadata, size, sha256, uploader, time and an optional expiry.

A file's category comes from its extension and must be confirmed by its content: a text file named .wav, or
a ZIP named .mp4, is refused. Expired files vanish from every listing at once and are removed by ``purge``.
"""

from __future__ import annotations

import builtins
import datetime as dt
import json
import logging
import mimetypes
import tarfile
import zipfile
from dataclasses import dataclass
from enum import StrEnum
from pathlib import PurePosixPath
from typing import Any, BinaryIO

from sqlalchemy import func, or_, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from core.accounts.permissions import Action, require
from core.audio import decode as audio
from core.errors import NotFound, StorageError, ValidationError
from core.store import journal
from core.store.db import on_commit, on_rollback, starting_with
from core.store.models import CATEGORIES, PURPOSES, Sound, StoredFile, User, as_utc, utcnow
from core.store.storage import Storage

log = logging.getLogger(__name__)

UPLOAD_CATEGORIES = ("audio", "data", "text", "archive", "video")
EXTENSIONS: dict[str, tuple[str, ...]] = {
    "audio": tuple(sorted(audio.AUDIO_EXTENSIONS)),
    "data": (".json", ".jsonl", ".ndjson", ".csv", ".tsv", ".yaml", ".yml", ".xml", ".npy", ".parquet"),
    "text": (".txt", ".md", ".rst", ".srt", ".vtt", ".textgrid", ".lab", ".rttm"),
    "archive": (".zip", ".tar", ".tar.gz", ".tgz"),
    "video": (".mp4", ".m4v", ".mov", ".webm", ".mkv", ".avi"),
}
UPLOAD_SUFFIXES = tuple(suffix for suffixes in EXTENSIONS.values() for suffix in suffixes)  # all an upload may hold
TEXT_SNIFF_BYTES = 1024 * 1024
_DOOMED = "_earmark_doomed_keys"  # session.info: keys whose objects go once the transaction commits


def category_from_name(name: str) -> str:
    lower = name.lower()
    for category, suffixes in EXTENSIONS.items():
        if lower.endswith(suffixes):
            return category
    allowed = ", ".join(UPLOAD_SUFFIXES)
    raise ValidationError("file", f"{name}: this kind of file is not accepted (allowed: {allowed}).")


def _head(data: BinaryIO, size: int) -> bytes:
    data.seek(0)
    head = data.read(size)
    data.seek(0)
    return head


def _tail(data: BinaryIO, size: int) -> bytes:
    data.seek(0, 2)
    end = data.tell()
    data.seek(max(0, end - size))
    tail = data.read(size)
    data.seek(0)
    return tail


def _is_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start >= len(head) - 4  # a character cut at the sniffing boundary is fine
    return True


def _confirm(category: str, name: str, data: BinaryIO) -> None:
    """Raise ValidationError unless the content is what the extension claims."""
    lower = name.lower()
    head = _head(data, TEXT_SNIFF_BYTES)
    if category == "audio":
        audio.probe(data, name)
        data.seek(0)
        return
    if category == "archive":
        ok = zipfile.is_zipfile(data)
        data.seek(0)
        if not ok:
            try:
                with tarfile.open(fileobj=data, mode="r:*") as tf:
                    ok = tf.next() is not None
            except (tarfile.TarError, EOFError, OSError):
                ok = False
            data.seek(0)
        if not ok:
            raise ValidationError("file", f"{name} is not a readable ZIP or TAR archive.")
        return
    if category == "video":
        if not (head[4:8] in (b"ftyp", b"moov", b"wide", b"mdat") or head[:4] == b"\x1a\x45\xdf\xa3"
                or (head[:4] == b"RIFF" and head[8:12] == b"AVI ")):
            raise ValidationError("file", f"{name} is not a video file (MP4, MOV, WebM, MKV or AVI).")
        return
    if lower.endswith(".npy"):
        if not head.startswith(b"\x93NUMPY"):
            raise ValidationError("file", f"{name} is not a NumPy .npy file.")
        return
    if lower.endswith(".parquet"):
        if not (head.startswith(b"PAR1") and _tail(data, 4) == b"PAR1"):
            raise ValidationError("file", f"{name} is not a Parquet file.")
        return
    if not _is_text(head):
        raise ValidationError("file", f"{name} is not UTF-8 text.")
    if lower.endswith(".json"):
        try:
            json.loads(data.read().decode("utf-8-sig"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise ValidationError("file", f"{name} is not valid JSON ({exc}).") from None
        finally:
            data.seek(0)


def detect_category(name: str, data: BinaryIO, declared: str | None = None) -> str:
    """The category of ``name``, from its extension, confirmed by content; ``declared`` must agree."""
    category = category_from_name(name)
    if declared and declared != category:
        if declared not in UPLOAD_CATEGORIES:
            raise ValidationError("category", f"The category must be one of {', '.join(UPLOAD_CATEGORIES)}, not {declared!r}.")
        raise ValidationError("category", f"{name} was declared {declared} but its name says {category}.")
    _confirm(category, name, data)
    return category


def check_purpose(purpose: str) -> str:
    if purpose not in PURPOSES:
        raise ValidationError("purpose", f"The purpose must be one of {', '.join(PURPOSES)}, not {purpose!r}.")
    return purpose


def check_expiry(expires_at: dt.datetime | None) -> dt.datetime | None:
    if expires_at is None:
        return None
    expires_at = as_utc(expires_at).astimezone(dt.UTC)  # stored without an offset: keep everything in UTC
    if expires_at <= utcnow():
        raise ValidationError("expires_at", "The expiry date must be in the future.")
    return expires_at


def parse_extra(text: str | None) -> dict[str, Any]:
    """The free JSON metadata of an upload: an object, or nothing."""
    if not text or not text.strip():
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError("metadata", f"The metadata is not valid JSON ({exc.msg} at character {exc.pos}).") from None
    if not isinstance(value, dict):
        raise ValidationError("metadata", "The metadata must be a JSON object, such as {\"source\": \"studio\"}.")
    return value


def live(column: Any, now: dt.datetime | None = None) -> Any:
    """SQL condition: not expired (no expiry, or an expiry still ahead)."""
    return or_(column.is_(None), column > (now or utcnow()))


class FileState(StrEnum):
    """Where a sound's audio is, as Browse and the API say it."""

    STORED = "stored"  # in Earmark's own storage
    IN_PLACE = "in place"  # registered where it is (core.store.sources), found by its source's last listing
    MISSING = "missing"  # registered, and its source's last listing no longer had it


def file_state(stored: StoredFile) -> FileState:
    if stored.source is None:
        return FileState.STORED
    return FileState.IN_PLACE if stored.missing_since is None else FileState.MISSING


@dataclass(frozen=True)
class FileStats:
    by_purpose: dict[str, dict[str, int]]
    by_category: dict[str, dict[str, int]]
    total_files: int
    total_bytes: int


class FileService:
    def __init__(self, session: Session, storage: Storage) -> None:
        self.session = session
        self.storage = storage

    def list(self, *, purpose: str | None = None, category: str | None = None, limit: int = 100, offset: int = 0,
             now: dt.datetime | None = None) -> tuple[int, list[StoredFile]]:
        """Live files, newest first, with the seed API's ``limit``/``offset``; returns (total, page)."""
        if not 1 <= limit <= 1000:
            raise ValidationError("limit", "limit must be from 1 to 1000.")
        if offset < 0:
            raise ValidationError("offset", "offset must not be negative.")
        query = select(StoredFile).where(live(StoredFile.expires_at, now), StoredFile.category.in_(UPLOAD_CATEGORIES))
        if purpose:
            query = query.where(StoredFile.purpose == check_purpose(purpose))
        if category:
            if category not in CATEGORIES:
                raise ValidationError("category", f"The category must be one of {', '.join(UPLOAD_CATEGORIES)}.")
            query = query.where(StoredFile.category == category)
        total = self.session.scalar(select(func.count()).select_from(query.subquery())) or 0
        page = list(self.session.scalars(query.order_by(StoredFile.id.desc()).limit(limit).offset(offset)))
        return total, page

    def get(self, file_id: str) -> StoredFile:
        stored = self.session.get(StoredFile, file_id)
        if stored is None or not _is_live(stored):
            raise NotFound(f"No file with id {file_id!r}.")
        return stored

    def by_key(self, key: str) -> StoredFile:
        stored = self.session.scalar(select(StoredFile).where(StoredFile.key == key))
        if stored is None or not _is_live(stored):
            raise NotFound(f"No file at {key!r}.")
        return stored

    def uploader_names(self, files: builtins.list[StoredFile]) -> dict[str, str]:
        """User names of the files' uploaders, in one query (for listings)."""
        ids = {f.created_by for f in files}
        rows = self.session.execute(select(User.id, User.user_name).where(User.id.in_(ids))).all() if ids else []
        return {user_id: name for user_id, name in rows}

    def sound_of(self, stored: StoredFile) -> Sound | None:
        return self.session.scalar(select(Sound).where(Sound.file_id == stored.id))

    def stats(self, now: dt.datetime | None = None) -> FileStats:
        rows = self.session.execute(
            select(StoredFile.purpose, StoredFile.category, func.count(), func.coalesce(func.sum(StoredFile.size), 0))
            .where(live(StoredFile.expires_at, now), StoredFile.category.in_(UPLOAD_CATEGORIES))
            .group_by(StoredFile.purpose, StoredFile.category)
        ).all()
        by_purpose: dict[str, dict[str, int]] = {}
        by_category: dict[str, dict[str, int]] = {}
        for purpose, category, count, size in rows:
            for table, key in ((by_purpose, purpose), (by_category, category)):
                entry = table.setdefault(key, {"count": 0, "bytes": 0})
                entry["count"] += count
                entry["bytes"] += int(size)
        return FileStats(by_purpose, by_category, sum(c for *_, c, _ in rows), sum(int(s) for *_, s in rows))

    def delete(self, actor: User, file_id: str) -> None:
        """Delete a file; if it holds a sound's audio, the sound and its annotations go too."""
        stored = self.get(file_id)
        require(actor, Action.DELETE_SOUND, owner_id=stored.created_by)
        self.remove(stored)

    def remove(self, stored: StoredFile, *, keep: frozenset[str] = frozenset()) -> None:
        """Delete the rows (the sound too, if any; its annotations by cascade), then the object after commit. Only
        the objects these rows name and Earmark wrote are deleted, and they stay in the storage journal until they are, so a crash
        in between leaves them to fsck as Earmark's own.

        ``keep``: keys whose objects are not Earmark's to delete (an upload that found someone's object at its key).
        No permission check: callers check first.
        """
        sound = self.sound_of(stored)
        doomed = [stored]
        if sound is not None:  # its derived files (waveform peaks, features) go with it
            doomed += list(self.session.scalars(select(StoredFile).where(starting_with(self.session, StoredFile.key, f"derived/{sound.id}/"))))
            self.session.delete(sound)
            self.session.flush()
        for item in doomed:
            self.session.delete(item)
        # A file registered in place (core.store.sources) loses its row only: its object is the user's.
        self._delete_after_commit([item.key for item in doomed if journal.under_prefixes(item.key) and item.key not in keep])
        self.session.flush()

    def purge_expired(self, now: dt.datetime | None = None) -> tuple[int, int]:
        """Delete every expired file (and its sound); returns (files, bytes)."""
        now = now or utcnow()
        expired = list(self.session.scalars(select(StoredFile).where(StoredFile.expires_at <= now)))
        for stored in expired:
            self.remove(stored)
        return len(expired), sum(f.size for f in expired)

    def _delete_after_commit(self, keys: builtins.list[str]) -> None:
        """Journal the keys whose rows this transaction removes, so they stay known as Earmark's (core.store.journal),
        and delete their objects once it commits, all of the transaction's at once."""
        journal.record_in(self.session, keys)
        doomed = self.session.info.get(_DOOMED)
        if doomed is None:
            doomed = self.session.info[_DOOMED] = []
            bind = self.session.get_bind()
            on_commit(self.session, lambda: self._delete_objects(bind, self.session.info.pop(_DOOMED, doomed)))
            on_rollback(self.session, lambda: self.session.info.pop(_DOOMED, None))
        doomed.extend(keys)

    def _delete_objects(self, bind: Any, keys: builtins.list[str]) -> None:
        """Delete the objects, then their journal entries; what could not be deleted stays journalled for fsck."""
        deleted = [key for key in keys if self._delete_object(key)]
        try:
            with Session(bind) as session, session.begin():
                journal.settle(session, deleted)
        except SQLAlchemyError as exc:  # the entries only make fsck look again
            log.warning("Could not clear %d journal entries: %s", len(deleted), exc)

    def _delete_object(self, key: str) -> bool:
        try:
            self.storage.delete(key)
        except StorageError as exc:  # the rows are gone; a leftover object is only wasted space (fsck removes it)
            log.warning("Could not delete object %s: %s", key, exc)
            return False
        return True


def _is_live(stored: StoredFile) -> bool:
    if stored.expires_at is None:
        return True
    return as_utc(stored.expires_at) > utcnow()


def media_type(stored: StoredFile) -> str:
    """The MIME type to send a stored file with (audio by its extension)."""
    guessed = audio.MIME_BY_EXTENSION.get(PurePosixPath(stored.key).suffix.lower()) if stored.category == "audio" else None
    return guessed or mimetypes.guess_type(stored.original_filename)[0] or "application/octet-stream"


def public_file(stored: StoredFile) -> dict[str, Any]:
    """A file record as the API answers it (core.api.models.FileMetadata)."""
    return {
        "id": stored.id,
        "path": stored.key,
        "filename": PurePosixPath(stored.key).name,
        "original_filename": stored.original_filename,
        "category": stored.category,
        "purpose": stored.purpose,
        "size": stored.size,
        "hash": stored.sha256,
        "uploaded_at": stored.date_created.isoformat(),
        "uploaded_by": f"/users/{stored.created_by}",
        "description": stored.description,
        "metadata": stored.extra or {},
        "expires_at": stored.expires_at.isoformat() if stored.expires_at else None,
    }
