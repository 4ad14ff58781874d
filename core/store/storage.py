"""Object storage: one small interface, two backends (a local folder, S3 through boto3).

Keys are relative, ``/``-separated and normalised by :func:`normalise_key`; nothing can name an object outside
the backend's root or prefix. ``put`` measures size and sha256 while it writes, so the catalogue can record
both for every object without a second read.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, BinaryIO, Protocol, cast
from urllib.parse import urlparse

from core.errors import ConfigError, InvalidKey, ObjectExists, ObjectNotFound, StorageError
from core.store.config import Settings

CHUNK = 1024 * 1024
MULTIPART_THRESHOLD = 8 * CHUNK  # boto3's default: above this, S3 uploads go in parts
_BAD_CHARS = re.compile(r"[\x00-\x1f\x7f\\]")
_TEMPORARY = re.compile(r"\.upload-[a-z0-9_]{8}")  # tempfile.mkstemp(prefix=".upload-"): a local write in progress


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    sha256: str | None = None
    modified: dt.datetime | None = None  # from listings: when the object was last written


def escapes_root(path: str) -> bool:
    """Whether a relative path (``/`` or ``\\`` separated) would leave the folder it is resolved in."""
    text = path.replace("\\", "/")
    return text.startswith("/") or bool(re.match(r"^[A-Za-z]:", text)) or ".." in text.split("/")


def normalise_key(key: str) -> str:
    """The canonical form of ``key``, or :class:`InvalidKey` if it could escape the storage root.

    Refused: empty keys, absolute paths, ``..`` segments, backslashes, control characters, Windows drives.
    Collapsed: repeated slashes and ``.`` segments.
    """
    if not isinstance(key, str) or not key.strip():
        raise InvalidKey("A storage key must not be empty.")
    if _BAD_CHARS.search(key):
        raise InvalidKey(f"Storage key {key!r} contains a backslash or a control character.")
    if key.startswith("/") or re.match(r"^[A-Za-z]:", key):
        raise InvalidKey(f"Storage key {key!r} is an absolute path.")
    parts = [p for p in key.split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise InvalidKey(f"Storage key {key!r} contains '..'.")
    if not parts:
        raise InvalidKey(f"Storage key {key!r} names no object.")
    return "/".join(parts)


class _HashingReader:
    """Wraps a binary stream; counts and hashes what is read through it."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.size = 0
        self.hash = hashlib.sha256()

    def read(self, n: int = -1) -> bytes:
        data = self.raw.read(n)
        self.size += len(data)
        self.hash.update(data)
        return data


class _Joined:
    """Bytes already read, then the rest of the stream."""

    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        self.head, self.rest = head, rest

    def read(self, n: int = -1) -> bytes:
        if self.head:
            part = self.head if n < 0 else self.head[:n]
            self.head = self.head[len(part):]
            return part
        return self.rest.read(n)


def _whole_if_small(stream: BinaryIO) -> tuple[bytes | None, IO[bytes]]:
    """The object's bytes if it fits in one request (read once), and the stream to read it from otherwise,
    at its start (a big seekable file is not read here)."""
    if _seekable(stream):
        start = stream.tell()
        size = stream.seek(0, os.SEEK_END) - start
        stream.seek(start)
        return (stream.read(), stream) if size <= MULTIPART_THRESHOLD else (None, stream)
    head = stream.read(MULTIPART_THRESHOLD + 1)
    return (head, stream) if len(head) <= MULTIPART_THRESHOLD else (None, cast(IO[bytes], _Joined(head, stream)))  # read() alone, not seekable


class Storage(Protocol):
    """What every backend offers. ``data`` arguments are bytes or a binary file object read to its end."""

    url: str

    def put(self, key: str, data: bytes | BinaryIO, *, replace: bool = True) -> ObjectInfo:
        """Write an object; with ``replace=False`` raise :class:`ObjectExists` rather than replace one."""
        ...

    def open(self, key: str) -> BinaryIO: ...
    def read_bytes(self, key: str) -> bytes: ...
    def read_range(self, key: str, start: int, length: int) -> bytes: ...
    def open_seekable(self, key: str) -> BinaryIO: ...
    def exists(self, key: str) -> bool: ...
    def size(self, key: str) -> int: ...
    def delete(self, key: str) -> None: ...
    def list(self, prefix: str = "") -> Iterator[ObjectInfo]: ...
    def sweep_partial(self, older_than: dt.datetime, prefixes: tuple[str, ...] = ("",)) -> int: ...
    def presigned_url(self, key: str, expires_seconds: int = 300) -> str | None: ...
    def check(self) -> None: ...


def _seekable(stream: IO[bytes]) -> bool:
    try:
        return bool(stream.seekable())
    except (AttributeError, ValueError):
        return False


def _as_stream(data: bytes | BinaryIO) -> BinaryIO:
    return io.BytesIO(data) if isinstance(data, (bytes, bytearray, memoryview)) else data


class LocalStorage:
    """Objects as files under one folder. Writes go to a temporary file first, then are renamed into place."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).absolute()
        self.url = f"file://{self.root}"

    def _path(self, key: str) -> Path:
        path = (self.root / normalise_key(key)).resolve()
        root = self.root.resolve()
        if path != root and root not in path.parents:
            raise InvalidKey(f"Storage key {key!r} resolves outside the storage folder.")
        return path

    def put(self, key: str, data: bytes | BinaryIO, *, replace: bool = True) -> ObjectInfo:
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            reader = _HashingReader(_as_stream(data))
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
            try:
                with os.fdopen(fd, "wb") as out:
                    shutil.copyfileobj(reader, out, CHUNK)
                if replace:
                    os.replace(tmp, path)
                else:  # a hard link is made only where no file is: atomic, whoever else writes there
                    os.link(tmp, path)
            finally:
                Path(tmp).unlink(missing_ok=True)
        except FileExistsError:
            raise ObjectExists(f"{normalise_key(key)} already holds an object in {self.url}.") from None
        except OSError as exc:
            raise StorageError(f"Could not write {normalise_key(key)!r} under {self.root}: {exc.strerror or exc}.") from exc
        return ObjectInfo(normalise_key(key), reader.size, reader.hash.hexdigest())

    def open(self, key: str) -> BinaryIO:
        try:
            return self._path(key).open("rb")
        except FileNotFoundError:
            raise ObjectNotFound(f"No object {normalise_key(key)!r} in {self.url}.") from None

    def read_bytes(self, key: str) -> bytes:
        with self.open(key) as f:
            return f.read()

    def read_range(self, key: str, start: int, length: int) -> bytes:
        with self.open(key) as f:
            f.seek(start)
            return f.read(length)

    def open_seekable(self, key: str) -> BinaryIO:
        return self.open(key)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def size(self, key: str) -> int:
        try:
            return self._path(key).stat().st_size
        except FileNotFoundError:
            raise ObjectNotFound(f"No object {normalise_key(key)!r} in {self.url}.") from None

    def delete(self, key: str) -> None:
        path = self._path(key)
        path.unlink(missing_ok=True)
        for parent in path.parents:  # tidy empty folders so listings stay clean
            if parent == self.root.resolve() or self.root.resolve() not in parent.parents:
                break
            try:
                parent.rmdir()
            except OSError:
                break

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        base = self.root.resolve()
        if not base.is_dir():
            return
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames.sort()
            for name in sorted(filenames):
                if name.startswith(".upload-"):
                    continue
                full = Path(dirpath) / name
                key = full.relative_to(base).as_posix()
                if key.startswith(prefix):
                    stat = full.stat()
                    yield ObjectInfo(key, stat.st_size, modified=dt.datetime.fromtimestamp(stat.st_mtime, dt.UTC))

    def sweep_partial(self, older_than: dt.datetime, prefixes: tuple[str, ...] = ("",)) -> int:
        """Remove the temporary files of writes that a crash cut short, older than ``older_than``, under ``prefixes``
        only: files named exactly as :meth:`put` names them (``.upload-`` and eight random characters)."""
        swept = 0
        for prefix in prefixes:
            base = self.root / prefix if prefix else self.root
            for leftover in base.rglob(".upload-*") if base.is_dir() else ():
                if _TEMPORARY.fullmatch(leftover.name) and leftover.is_file() and \
                        dt.datetime.fromtimestamp(leftover.stat().st_mtime, dt.UTC) < older_than:
                    leftover.unlink(missing_ok=True)
                    swept += 1
        return swept

    def presigned_url(self, key: str, expires_seconds: int = 300) -> str | None:
        return None  # a local folder has no URL of its own; the app serves the bytes

    def check(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=self.root, prefix=".upload-check-"):
                pass
        except OSError as exc:
            raise ConfigError(
                "EARMARK_STORAGE_URL",
                f"EARMARK_STORAGE_URL folder {self.root} is not writable: {exc.strerror or exc}.",
            ) from exc


class S3Storage:
    """Objects in an S3 bucket (AWS or any endpoint that speaks S3), under an optional prefix."""

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        anonymous: bool = False,
        region: str | None = None,
        max_pool_connections: int = 32,
        credentials: tuple[str, str, str | None] | None = None,  # key id, secret, session token; None: boto3's chain
    ) -> None:
        import boto3
        from botocore import UNSIGNED
        from botocore.config import Config

        self.bucket = bucket
        self.prefix = normalise_key(prefix) + "/" if prefix.strip("/") else ""
        self.endpoint_url = endpoint_url
        self.url = f"s3://{bucket}/{self.prefix}".rstrip("/")
        key_id, secret, token = credentials or (None, None, None)
        session = boto3.session.Session(region_name=region, aws_access_key_id=key_id, aws_secret_access_key=secret,
                                        aws_session_token=token)
        # A public bucket must work without credentials: with none configured, sign nothing.
        self.anonymous = anonymous or session.get_credentials() is None
        config = Config(
            retries={"mode": "standard", "max_attempts": 5},
            max_pool_connections=max_pool_connections,
            signature_version=UNSIGNED if self.anonymous else None,
        )
        self.client = session.client("s3", endpoint_url=endpoint_url, config=config)

    def _key(self, key: str) -> str:
        return self.prefix + normalise_key(key)

    def _error(self, exc: Exception, key: str | None = None) -> StorageError:
        from botocore.exceptions import ClientError

        where = f"{self.url}" + (f" (object {normalise_key(key)!r})" if key else "")
        if isinstance(exc, ClientError):
            code = exc.response.get("Error", {}).get("Code", "")
            if code in ("NoSuchKey", "404", "NotFound"):
                return ObjectNotFound(f"No object {normalise_key(key or '')!r} in {self.url}.")
            if code in ("PreconditionFailed", "412") and key:
                return ObjectExists(f"{normalise_key(key)} already holds an object in {self.url}.")
            return StorageError(f"S3 refused a request to {where}: {code} {exc.response['Error'].get('Message', '')}".strip() + ".")
        return StorageError(f"Could not reach {where}{self._endpoint_hint()}: {exc}.")

    def _endpoint_hint(self) -> str:
        return f" at EARMARK_S3_ENDPOINT_URL={self.endpoint_url}" if self.endpoint_url else ""

    def put(self, key: str, data: bytes | BinaryIO, *, replace: bool = True) -> ObjectInfo:
        """A small object in one request, conditional (``If-None-Match: *``) unless it may replace; a big one in
        parts, after a HEAD that finds no object there unless it may replace (s3transfer's uploads take no
        condition: the check is not atomic, but what it guards against, someone's object already at the key, is
        there before the upload starts)."""
        from botocore.exceptions import BotoCoreError, ClientError

        full = self._key(key)
        small, stream = _whole_if_small(_as_stream(data))
        try:
            if small is not None:  # one request (upload_fileobj starts threads per call)
                self.client.put_object(Bucket=self.bucket, Key=full, Body=small, **({} if replace else {"IfNoneMatch": "*"}))
                return ObjectInfo(normalise_key(key), len(small), hashlib.sha256(small).hexdigest())
            with ExitStack() as stack:  # a big one: hashed first, then uploaded in parts (s3transfer reads them out of order)
                if not _seekable(stream):
                    spool = stack.enter_context(tempfile.SpooledTemporaryFile(max_size=8 * CHUNK))
                    shutil.copyfileobj(stream, spool, CHUNK)
                    spool.seek(0)
                    stream = spool
                start = stream.tell()
                reader = _HashingReader(stream)
                while reader.read(CHUNK):
                    pass
                stream.seek(start)
                if not replace and self.exists(key):
                    raise ObjectExists(f"{normalise_key(key)} already holds an object in {self.url}.")
                self.client.upload_fileobj(stream, self.bucket, full)
            return ObjectInfo(normalise_key(key), reader.size, reader.hash.hexdigest())
        except (BotoCoreError, ClientError) as exc:
            raise self._error(exc, key) from exc

    def open(self, key: str) -> BinaryIO:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"]
        except (BotoCoreError, ClientError) as exc:
            raise self._error(exc, key) from exc

    def read_bytes(self, key: str) -> bytes:
        body = self.open(key)
        try:
            return body.read()
        finally:
            body.close()

    def read_range(self, key: str, start: int, length: int) -> bytes:
        from botocore.exceptions import BotoCoreError, ClientError

        if length <= 0:
            return b""
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self._key(key), Range=f"bytes={start}-{start + length - 1}")
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "InvalidRange":
                return b""
            raise self._error(exc, key) from exc
        except BotoCoreError as exc:
            raise self._error(exc, key) from exc
        with response["Body"] as body:
            return body.read()

    def open_seekable(self, key: str) -> BinaryIO:
        return cast(BinaryIO, RangeReader(self, key))  # a raw binary file (io.RawIOBase), which BinaryIO does not name

    def _head(self, key: str) -> dict:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except (BotoCoreError, ClientError) as exc:
            raise self._error(exc, key) from exc

    def exists(self, key: str) -> bool:
        try:
            self._head(key)
        except ObjectNotFound:
            return False
        return True

    def size(self, key: str) -> int:
        return int(self._head(key)["ContentLength"])

    def delete(self, key: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.delete_object(Bucket=self.bucket, Key=self._key(key))
        except (BotoCoreError, ClientError) as exc:
            raise self._error(exc, key) from exc

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        from botocore.exceptions import BotoCoreError, ClientError

        paginator = self.client.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix + prefix):
                for item in page.get("Contents", []):
                    yield ObjectInfo(item["Key"][len(self.prefix):], int(item["Size"]), modified=item.get("LastModified"))
        except (BotoCoreError, ClientError) as exc:
            raise self._error(exc) from exc

    def sweep_partial(self, older_than: dt.datetime, prefixes: tuple[str, ...] = ("",)) -> int:
        """Abort multipart uploads under ``prefixes`` (within the storage prefix) that a crash left unfinished,
        started before ``older_than`` (their parts are stored, and billed, until aborted)."""
        from botocore.exceptions import BotoCoreError, ClientError

        swept = 0
        try:
            for prefix in prefixes:
                for page in self.client.get_paginator("list_multipart_uploads").paginate(Bucket=self.bucket, Prefix=self.prefix + prefix):
                    for upload in page.get("Uploads", []):
                        if upload["Initiated"] < older_than:
                            self.client.abort_multipart_upload(Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"])
                            swept += 1
        except (BotoCoreError, ClientError) as exc:
            raise self._error(exc) from exc
        return swept

    def presigned_url(self, key: str, expires_seconds: int = 300) -> str | None:
        return self.client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": self._key(key)}, ExpiresIn=expires_seconds
        )

    def check(self) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.list_objects_v2(Bucket=self.bucket, Prefix=self.prefix, MaxKeys=1)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            raise ConfigError(
                "EARMARK_STORAGE_URL",
                f"EARMARK_STORAGE_URL bucket {self.bucket!r} cannot be listed ({code}): check the bucket name, "
                "the AWS credentials, or EARMARK_S3_ANONYMOUS.",
            ) from exc
        except BotoCoreError as exc:
            setting = "EARMARK_S3_ENDPOINT_URL" if self.endpoint_url else "EARMARK_STORAGE_URL"
            raise ConfigError(setting, f"{setting}: cannot reach S3 for {self.url}{self._endpoint_hint()} ({exc}).") from exc


class RangeReader(io.RawIOBase):
    """A read-only, seekable file over an object, fetched in ranged GETs of at least ``block`` bytes.

    Lets soundfile seek into an hour-long file in S3 and read one window without downloading the rest.
    """

    def __init__(self, storage: Storage, key: str, block: int = 256 * 1024) -> None:
        self.storage, self.key, self.block = storage, key, block
        self.length = storage.size(key)
        self.position = 0
        self._buffer_start, self._buffer = 0, b""

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.length}[whence]
        self.position = max(0, base + offset)
        return self.position

    def readinto(self, buffer: Any) -> int:
        wanted = min(len(buffer), self.length - self.position)
        if wanted <= 0:
            return 0
        end = self.position + wanted
        if not (self._buffer_start <= self.position and end <= self._buffer_start + len(self._buffer)):
            self._buffer_start = self.position
            self._buffer = self.storage.read_range(self.key, self.position, max(wanted, self.block))
        offset = self.position - self._buffer_start
        chunk = self._buffer[offset: offset + wanted]
        buffer[: len(chunk)] = chunk
        self.position += len(chunk)
        return len(chunk)


def open_storage(settings: Settings) -> Storage:
    """The backend that ``settings.storage_url`` names."""
    parsed = urlparse(settings.storage_url)
    if parsed.scheme == "file":
        return LocalStorage(Path(parsed.netloc + parsed.path))
    if parsed.scheme == "s3":
        return S3Storage(
            parsed.netloc,
            parsed.path.strip("/"),
            endpoint_url=settings.s3_endpoint_url,
            anonymous=settings.s3_anonymous,
            region=settings.aws_region,
        )
    raise ConfigError("EARMARK_STORAGE_URL", f"EARMARK_STORAGE_URL scheme {parsed.scheme!r} is not file or s3.")
