"""Where a training-format export goes: a local folder or an S3 prefix, written file by file as streams.

Each file is written as it is produced and committed when its stream closes without an error: locally a temporary
file renamed into place (a reader never sees half a shard), on S3 one PUT for a small file and a multipart upload
for a big one (parts of PART_BYTES, so a 1 GB shard holds one part in memory, not the shard), aborted if the
writer fails. Both measure size and sha256 while writing, for the manifest. The S3 client and its settings are
core/store/storage.py's (:class:`S3Storage`), so ``--to s3://...`` reaches the same endpoint, credentials and
region as Earmark's own storage.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlparse

from core.errors import StorageError, ValidationError
from core.store.config import Settings
from core.store.storage import MULTIPART_THRESHOLD, S3Storage, normalise_key

TEMPORARY = ".export-"  # a local file's name while it is written (core/export/formats/existing.py knows it)
PART_BYTES = MULTIPART_THRESHOLD  # 8 MB: S3 wants parts of at least 5 MB (but the last)
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


@dataclass(frozen=True)
class Written:
    name: str  # relative to the export's top
    size: int
    sha256: str


class Target(Protocol):
    url: str

    def open(self, name: str) -> AbstractContextManager[OutFile]:
        """A writable binary stream; the file exists once its ``with`` block ends without an error."""
        ...


class Hashing(io.RawIOBase):
    """Counts and hashes what passes to ``sink`` (a callable taking bytes)."""

    def __init__(self, sink: Any) -> None:
        self.sink, self.size, self.hash = sink, 0, hashlib.sha256()

    def writable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.size  # an append-only stream is where it has written to (pyarrow and tarfile ask)

    def write(self, data: Any) -> int:
        view = bytes(data)
        self.sink(view)
        self.size += len(view)
        self.hash.update(view)
        return len(view)


class OutFile(io.BufferedWriter):
    """A file being written to a target; ``written`` says what was committed once its ``with`` block ends."""

    written: Written | None = None


class LocalTarget:
    def __init__(self, root: Path) -> None:
        self.root = root.absolute()
        self.url = str(self.root)

    @contextmanager
    def open(self, name: str) -> Iterator[OutFile]:
        path = self.root / normalise_key(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=TEMPORARY)
        try:
            with os.fdopen(fd, "wb") as out:
                stream = Hashing(out.write)
                handle = OutFile(stream, 1024 * 1024)
                yield handle
                if not handle.closed:
                    handle.flush()
            os.replace(tmp, path)
        except OSError as exc:
            raise StorageError(f"Could not write {name} under {self.root}: {exc.strerror or exc}.") from exc
        finally:
            Path(tmp).unlink(missing_ok=True)
        handle.written = Written(name, stream.size, stream.hash.hexdigest())


class _Multipart:
    """One object written through a buffer of PART_BYTES: a single PUT if it never fills, else a multipart upload."""

    def __init__(self, storage: S3Storage, key: str) -> None:
        self.storage, self.key, self.buffer = storage, key, bytearray()
        self.upload_id: str | None = None
        self.parts: list[dict[str, Any]] = []

    def write(self, data: bytes) -> None:
        self.buffer += data
        while len(self.buffer) >= PART_BYTES:
            self._part(bytes(self.buffer[:PART_BYTES]))
            del self.buffer[:PART_BYTES]

    def _part(self, data: bytes) -> None:
        client, bucket = self.storage.client, self.storage.bucket
        if self.upload_id is None:
            self.upload_id = client.create_multipart_upload(Bucket=bucket, Key=self.key)["UploadId"]
        number = len(self.parts) + 1
        answer = client.upload_part(Bucket=bucket, Key=self.key, UploadId=self.upload_id, PartNumber=number, Body=data)
        self.parts.append({"PartNumber": number, "ETag": answer["ETag"]})

    def finish(self) -> None:
        client, bucket = self.storage.client, self.storage.bucket
        if self.upload_id is None:
            client.put_object(Bucket=bucket, Key=self.key, Body=bytes(self.buffer))
            return
        if self.buffer:
            self._part(bytes(self.buffer))
        client.complete_multipart_upload(Bucket=bucket, Key=self.key, UploadId=self.upload_id,
                                         MultipartUpload={"Parts": self.parts})

    def abort(self) -> None:
        if self.upload_id is not None:
            self.storage.client.abort_multipart_upload(Bucket=self.storage.bucket, Key=self.key, UploadId=self.upload_id)


class S3Target:
    def __init__(self, storage: S3Storage) -> None:
        self.storage = storage
        self.url = storage.url

    @contextmanager
    def open(self, name: str) -> Iterator[OutFile]:
        from botocore.exceptions import BotoCoreError, ClientError

        upload = _Multipart(self.storage, self.storage.prefix + normalise_key(name))
        stream = Hashing(upload.write)
        handle = OutFile(stream, 1024 * 1024)
        try:
            yield handle
            if not handle.closed:
                handle.flush()
            upload.finish()
        except (BotoCoreError, ClientError) as exc:
            upload.abort()
            raise StorageError(f"Could not write {name} to {self.url}: {exc}.") from exc
        except BaseException:
            upload.abort()
            raise
        handle.written = Written(name, stream.size, stream.hash.hexdigest())


def write_file(target: Target, name: str, data: bytes | str) -> Written:
    """A whole small file (a manifest, a Kaldi table) in one go."""
    with target.open(name) as out:
        out.write(data.encode() if isinstance(data, str) else data)
    assert out.written is not None
    return out.written


def check_target(to: str, settings: Settings) -> LocalTarget | S3Target:
    """The target ``--to`` names: ``s3://bucket[/prefix]`` (reached with Earmark's S3 settings) or a local folder;
    anything else refused in one sentence naming the value."""
    text = (to or "").strip()
    if not text:
        raise ValidationError("to", "Say where to write: --to DIR or --to s3://bucket/prefix.")
    parsed = urlparse(text)
    if parsed.scheme == "s3":
        return _s3_target(text, parsed.netloc, parsed.path.strip("/"), settings)
    if parsed.scheme and len(parsed.scheme) > 1:  # a Windows drive letter is not a scheme
        raise ValidationError("to", f"--to must be a folder or s3://bucket/prefix, not {text!r} ({parsed.scheme}:// is not supported).")
    folder = Path(text).expanduser()
    if folder.exists() and not folder.is_dir():
        raise ValidationError("to", f"--to {text} is a file, not a folder: name a folder to write into.")
    return LocalTarget(folder)


def _s3_target(text: str, bucket: str, prefix: str, settings: Settings) -> S3Target:
    if not _BUCKET.match(bucket):
        raise ValidationError("to", f"--to {text}: {bucket!r} is not an S3 bucket name (3 to 63 lower-case letters, digits, '.' or '-').")
    try:
        storage = S3Storage(bucket, prefix, endpoint_url=settings.s3_endpoint_url, anonymous=settings.s3_anonymous,
                            region=settings.aws_region)
    except StorageError as exc:
        raise ValidationError("to", f"--to {text}: {exc}") from exc
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        storage.client.head_bucket(Bucket=bucket)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        raise ValidationError("to", f"--to {text}: bucket {bucket!r} cannot be written to ({code or 'refused'}); "
                                    "check its name and the AWS credentials.") from exc
    except BotoCoreError as exc:
        raise ValidationError("to", f"--to {text}: S3 cannot be reached ({exc}).") from exc
    return S3Target(storage)


class Shards:
    """Numbered files of about one size (``name(0)``, ``name(1)``, ...): :meth:`current` opens the next when none is
    open; the writer closes its own framing (a Parquet footer, a tar's end) before :meth:`close` commits the shard."""

    def __init__(self, target: Target, name: Callable[[int], str]) -> None:
        self.target, self.name = target, name
        self.written: list[Written] = []
        self._stack: ExitStack | None = None
        self._out: OutFile | None = None

    @property
    def is_open(self) -> bool:
        return self._out is not None

    def current(self) -> OutFile:
        if self._out is None:
            self._stack = ExitStack()
            self._out = self._stack.enter_context(self.target.open(self.name(len(self.written))))
        return self._out

    def full(self, size: int) -> bool:
        return self._out is not None and self._out.tell() >= size

    def close(self) -> None:
        assert self._stack is not None and self._out is not None
        self._stack.close()
        assert self._out.written is not None
        self.written.append(self._out.written)
        self._stack = self._out = None

    def abort(self) -> None:
        """The open shard is not committed: its temporary file is removed, its multipart upload aborted."""
        if self._stack is not None:
            self._stack.__exit__(RuntimeError, RuntimeError("export stopped"), None)
            self._stack = self._out = None
