"""Registered sources: buckets and folders whose files Earmark catalogues where they are, read and never written.

A registered file's ``stored_files`` row has its object's whole URL as its key (``s3://bucket/clips/a.wav``,
``file:///data/clips/a.wav``) and the URL it was registered from as its ``source``. Earmark's own keys are
relative (``audio/...``: core.store.journal.PREFIXES), so the two cannot be confused: :class:`CatalogueStorage`
reads a URL key from its source and every other key from Earmark's own storage, and refuses to write or delete a
URL key whatever asks it to. Sources are reached with ``EARMARK_SOURCE_*`` settings (core.store.config), by
default the same endpoint and credentials as Earmark's own storage.
"""

from __future__ import annotations

import datetime as dt
import os
import queue
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlparse

from core.errors import InvalidKey, ReadOnlySource, StorageError, ValidationError
from core.store.config import SourceSettings
from core.store.journal import PREFIXES
from core.store.storage import LocalStorage, ObjectInfo, S3Storage, Storage, normalise_key

SCHEMES = ("s3://", "file://")
LIST_THREADS = 8  # folders of a bucket listed at once


def is_registered(key: str) -> bool:
    """Whether ``key`` names an object of a registered source (a URL) rather than one of Earmark's own."""
    return key.startswith(SCHEMES)


@dataclass(frozen=True)
class SourceRoot:
    """Where files are registered from: ``s3://bucket[/prefix]`` or ``file:///absolute/folder``, canonical (no
    trailing slash), so that a re-run of the same registration finds the same rows."""

    url: str

    @property
    def is_s3(self) -> bool:
        return self.url.startswith("s3://")

    @property
    def bucket(self) -> str:
        return urlparse(self.url).netloc

    @property
    def prefix(self) -> str:
        """The key prefix (S3) or the folder path without its leading slash (local), with a trailing slash if any."""
        rest = urlparse(self.url).path.strip("/")
        return rest + "/" if rest else ""

    def relative(self, key: str) -> str:
        return key[len(self.url) + 1:]


def parse_source(text: str) -> SourceRoot:
    """The registration root a person typed: an S3 URL, a ``file://`` URL or a local folder (which must exist)."""
    raw = (text or "").strip()
    if raw.startswith("s3://"):
        parsed = urlparse(raw)
        if not parsed.netloc:
            raise ValidationError("source", f"{raw} names no bucket (s3://bucket/prefix).")
        prefix = parsed.path.strip("/")
        try:
            prefix = normalise_key(prefix) if prefix else ""
        except InvalidKey:
            raise ValidationError("source", f"{raw} is not a usable S3 prefix.") from None
        return SourceRoot(f"s3://{parsed.netloc}" + (f"/{prefix}" if prefix else ""))
    if "://" in raw and not raw.startswith("file://"):
        raise ValidationError("source", f"{raw} is neither an s3:// URL nor a folder.")
    folder = Path(raw.removeprefix("file://")).expanduser()
    if not raw or not folder.is_dir():
        raise ValidationError("source", f"{raw or 'The source'} is not a folder on this machine.")
    return SourceRoot("file://" + folder.resolve().as_posix().rstrip("/"))


def earmark_writes_at(url: str, own_url: str) -> bool:
    """Whether ``url`` (an object or a root) lies where Earmark writes in its own storage (its ``url`` followed by
    one of core.store.journal.PREFIXES). Such objects are Earmark's, never a source's; anything else in the same
    bucket or folder (the user's files beside Earmark's) may be registered."""
    own = own_url.rstrip("/")
    return any((url.rstrip("/") + "/").startswith(f"{own}/{prefix}") for prefix in PREFIXES)


class SourceReader:
    """Read-only backends for registered objects: one S3 client per bucket (made on first use), one for local
    files. ``backend(key)`` says which backend holds a URL key and its key there."""

    def __init__(self, access: SourceSettings) -> None:
        self.access = access
        self._buckets: dict[str, S3Storage] = {}
        self._lock = threading.Lock()
        self._local = LocalStorage(Path("/"))

    def _bucket(self, name: str) -> S3Storage:
        with self._lock:
            if name not in self._buckets:
                credentials = ((self.access.access_key_id, self.access.secret_access_key, self.access.session_token)
                               if self.access.access_key_id and self.access.secret_access_key else None)
                self._buckets[name] = S3Storage(name, "", endpoint_url=self.access.s3_endpoint_url, anonymous=self.access.s3_anonymous,
                                                region=self.access.aws_region, credentials=credentials)
            return self._buckets[name]

    def backend(self, key: str) -> tuple[Storage, str]:
        parsed = urlparse(key)
        if key.startswith("s3://"):
            return self._bucket(parsed.netloc), parsed.path.lstrip("/")
        if key.startswith("file://"):
            return self._local, key.removeprefix("file://").lstrip("/")
        raise InvalidKey(f"{key!r} is not the URL of a registered object.")

    def listing(self, root: SourceRoot, threads: int = LIST_THREADS) -> Iterator[ObjectInfo]:
        """Every object under ``root``, keys as whole URLs: S3 paginated, each top-level folder listed by its own
        thread; a local folder walked in name order (symbolic links are not followed)."""
        if root.is_s3:
            return _parallel_s3(self._bucket(root.bucket), root, threads)
        return _walk_local(root)


def _walk_local(root: SourceRoot) -> Iterator[ObjectInfo]:
    base = Path("/" + root.prefix)
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames.sort()
        for name in sorted(filenames):
            full = Path(dirpath) / name
            if full.is_symlink():
                continue
            stat = full.stat()
            yield ObjectInfo("file://" + full.as_posix(), stat.st_size,
                             modified=dt.datetime.fromtimestamp(stat.st_mtime, dt.UTC))


_DONE = object()


def _parallel_s3(bucket: S3Storage, root: SourceRoot, threads: int) -> Iterator[ObjectInfo]:
    """The objects under the root's prefix: its direct objects, then each folder (common prefix) listed by one of
    ``threads`` threads, pages handed over through a bounded queue so memory stays at a few pages however large
    the bucket. A listing error stops the whole listing (a partial one must not be taken for the whole)."""
    folders: list[str] = []
    yield from _top_level(bucket, root, folders)
    pages: queue.Queue[object] = queue.Queue(maxsize=threads * 2)
    stop = threading.Event()  # the consumer stopped early: producers give up instead of waiting for room

    def offer(item: object) -> None:
        while not stop.is_set():
            try:
                return pages.put(item, timeout=0.1)
            except queue.Full:
                continue

    def list_folder(folder: str) -> None:
        try:
            for page in bucket.client.get_paginator("list_objects_v2").paginate(Bucket=bucket.bucket, Prefix=folder):
                if stop.is_set():
                    return
                offer([_listed(root, item) for item in page.get("Contents", [])])
        except Exception as exc:  # handed to the consumer, which raises it
            offer(exc)
        finally:
            offer(_DONE)

    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="list") as pool:
        for folder in folders:
            pool.submit(list_folder, folder)
        try:
            yield from _drain(pages, len(folders), bucket)
        finally:
            stop.set()


def _drain(pages: queue.Queue[object], producers: int, bucket: S3Storage) -> Iterator[ObjectInfo]:
    finished = 0
    while finished < producers:
        item = pages.get()
        if item is _DONE:
            finished += 1
        elif isinstance(item, StorageError):
            raise item
        elif isinstance(item, Exception):
            raise bucket._error(item) from item
        else:
            yield from item  # type: ignore[misc]


def _top_level(bucket: S3Storage, root: SourceRoot, folders: list[str]) -> Iterator[ObjectInfo]:
    """The objects directly under the root's prefix, page by page as they come; its folders (common prefixes, a
    few per thousand objects) are added to ``folders``."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        for page in bucket.client.get_paginator("list_objects_v2").paginate(Bucket=bucket.bucket, Prefix=root.prefix, Delimiter="/"):
            folders += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
            yield from (_listed(root, item) for item in page.get("Contents", []))
    except (BotoCoreError, ClientError) as exc:
        raise bucket._error(exc) from exc


def _listed(root: SourceRoot, item: dict) -> ObjectInfo:
    """An object of a list_objects_v2 page, named by its whole URL."""
    return ObjectInfo(f"s3://{root.bucket}/{item['Key']}", int(item["Size"]), modified=item.get("LastModified"))


class CatalogueStorage:
    """The storage the catalogue reads through: Earmark's own for its own keys, the registered sources (read-only)
    for URL keys. Listing, sweeping and checking concern Earmark's own storage only."""

    def __init__(self, own: Storage, sources: SourceReader) -> None:
        self.own, self.sources = own, sources
        self.url = own.url

    def _route(self, key: str) -> tuple[Storage, str]:
        return self.sources.backend(key) if is_registered(key) else (self.own, key)

    def _writable(self, key: str, doing: str) -> Storage:
        if is_registered(key):
            raise ReadOnlySource(f"Earmark does not {doing} {key}: it belongs to a registered source, which is only read.")
        return self.own

    def put(self, key: str, data: bytes | BinaryIO, *, replace: bool = True) -> ObjectInfo:
        return self._writable(key, "write").put(key, data, replace=replace)

    def delete(self, key: str) -> None:
        self._writable(key, "delete").delete(key)

    def open(self, key: str) -> BinaryIO:
        backend, inner = self._route(key)
        return backend.open(inner)

    def read_bytes(self, key: str) -> bytes:
        backend, inner = self._route(key)
        return backend.read_bytes(inner)

    def read_range(self, key: str, start: int, length: int) -> bytes:
        backend, inner = self._route(key)
        return backend.read_range(inner, start, length)

    def open_seekable(self, key: str) -> BinaryIO:
        backend, inner = self._route(key)
        return backend.open_seekable(inner)

    def exists(self, key: str) -> bool:
        backend, inner = self._route(key)
        return backend.exists(inner)

    def size(self, key: str) -> int:
        backend, inner = self._route(key)
        return backend.size(inner)

    def presigned_url(self, key: str, expires_seconds: int = 300) -> str | None:
        backend, inner = self._route(key)
        return backend.presigned_url(inner, expires_seconds)

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        return self.own.list(prefix)

    def sweep_partial(self, older_than: dt.datetime, prefixes: tuple[str, ...] = ("",)) -> int:
        return self.own.sweep_partial(older_than, prefixes)

    def check(self) -> None:
        self.own.check()
