"""Safe unpacking of uploaded ZIP / TAR / TAR.GZ archives (OWASP file-upload rules).

Every member's path is normalised and must stay under the target folder (no Zip Slip); links, devices and
nested archives are not unpacked. Member count, unpacked bytes and compression ratio are counted while the
bytes are read, because headers can lie. A member that breaks a per-member rule is refused on its own; an
archive that breaks a whole-archive limit (a zip bomb) is refused whole and nothing of it is kept.
"""

from __future__ import annotations

import shutil
import tarfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from core.errors import EarmarkError, ValidationError
from core.store.storage import CHUNK, normalise_key

ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz")
NESTED_SUFFIXES = ARCHIVE_SUFFIXES + (".gz", ".bz2", ".xz", ".7z", ".rar", ".tar.bz2", ".tar.xz")


@dataclass(frozen=True)
class ArchiveLimits:
    max_members: int = 100_000
    max_total_bytes: int = 8 * 1024**3
    max_member_bytes: int = 512 * 1024**2
    max_ratio: float = 200.0  # unpacked / packed; ordinary audio compresses far less than this


@dataclass
class Extracted:
    """What an archive gave: files written under ``root`` (relative paths), and members refused with why."""

    root: Path
    files: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)


class ArchiveRefused(EarmarkError):
    """The archive as a whole breaks a limit; nothing of it is kept."""


def is_archive(name: str) -> bool:
    return name.lower().endswith(ARCHIVE_SUFFIXES)


def _is_nested(name: str) -> bool:
    return name.lower().endswith(NESTED_SUFFIXES)


class _Budget:
    """Counts what the whole archive has unpacked so far against the limits."""

    def __init__(self, name: str, packed_size: int, limits: ArchiveLimits) -> None:
        self.name, self.packed_size, self.limits = name, max(packed_size, 1), limits
        self.members = 0
        self.total = 0

    def member(self) -> None:
        self.members += 1
        if self.members > self.limits.max_members:
            raise ArchiveRefused(f"{self.name} has more than {self.limits.max_members:,} members.")

    def add(self, count: int) -> None:
        self.total += count
        if self.total > self.limits.max_total_bytes:
            raise ArchiveRefused(f"{self.name} unpacks to more than {self.limits.max_total_bytes / 1024**3:.1f} GB.")
        if self.total > 1024**2 and self.total / self.packed_size > self.limits.max_ratio:
            raise ArchiveRefused(
                f"{self.name} unpacks to more than {self.limits.max_ratio:g} times its size (a zip bomb?)."
            )


def _copy_member(source: BinaryIO, target: Path, member: str, budget: _Budget, packed: int | None) -> None:
    """Copy one member, counting real bytes; per-member limits raise ValidationError, archive limits ArchiveRefused."""
    written = 0
    with target.open("wb") as out:
        while chunk := source.read(CHUNK):
            written += len(chunk)
            budget.add(len(chunk))
            if written > budget.limits.max_member_bytes:
                raise ValidationError("file", f"{member} is larger than {budget.limits.max_member_bytes // 1024**2} MB.")
            if packed is not None and written > 1024**2 and written / max(packed, 1) > budget.limits.max_ratio:
                raise ArchiveRefused(f"{budget.name}: {member} unpacks to more than {budget.limits.max_ratio:g} times its packed size (a zip bomb?).")
            out.write(chunk)


def _place(root: Path, raw_name: str) -> tuple[str, Path]:
    """The member's safe relative path and target; ValidationError if it would escape ``root``."""
    name = raw_name.replace("\\", "/")
    try:
        relative = normalise_key(name)
    except EarmarkError:
        raise ValidationError("file", f"{raw_name} would be unpacked outside the upload (refused).") from None
    target = (root / relative).resolve()
    if root.resolve() not in target.parents:
        raise ValidationError("file", f"{raw_name} would be unpacked outside the upload (refused).")
    return relative, target


def _extract_one(result: Extracted, budget: _Budget, raw_name: str, opener, packed: int | None) -> None:
    budget.member()
    try:
        relative, target = _place(result.root, raw_name)
        if _is_nested(relative):
            raise ValidationError("file", f"{relative} is an archive inside an archive: nested archives are not unpacked.")
        if target.exists():
            raise ValidationError("file", f"{relative} appears twice in the archive; the first copy was kept.")
        target.parent.mkdir(parents=True, exist_ok=True)
        with opener() as source:
            try:
                _copy_member(source, target, relative, budget, packed)
            except BaseException:
                target.unlink(missing_ok=True)
                raise
        result.files.append(relative)
    except ValidationError as exc:
        result.refused.append((raw_name, str(exc)))


def _extract_zip(archive: BinaryIO, result: Extracted, budget: _Budget) -> None:
    with zipfile.ZipFile(archive) as zf:
        members = zf.infolist()
        if len(members) > budget.limits.max_members:  # the directory says it all: refuse before unpacking any
            raise ArchiveRefused(f"{budget.name} has more than {budget.limits.max_members:,} members.")
        for info in members:
            if info.is_dir():
                continue
            mode = (info.external_attr >> 16) & 0o170000
            if mode and mode not in (0o100000,):  # symlinks and other special files
                budget.member()
                result.refused.append((info.filename, f"{info.filename} is a link or special file, not unpacked."))
                continue
            _extract_one(result, budget, info.filename, lambda info=info: zf.open(info), info.compress_size)


def _extract_tar(archive: BinaryIO, result: Extracted, budget: _Budget) -> None:
    with tarfile.open(fileobj=archive, mode="r:*") as tf:
        for member in tf:  # streaming: one header at a time
            if member.isdir():
                continue
            if not member.isfile():
                budget.member()
                result.refused.append((member.name, f"{member.name} is a link or special file, not unpacked."))
                continue
            _extract_one(result, budget, member.name, lambda member=member: tf.extractfile(member), None)


def extract(archive: BinaryIO, name: str, target: Path, limits: ArchiveLimits = ArchiveLimits()) -> Extracted:
    """Unpack ``archive`` (a seekable binary file called ``name``) under ``target``.

    Raises :class:`ArchiveRefused` (and leaves ``target`` empty) if the archive breaks a whole-archive limit
    or is not a readable archive.
    """
    archive.seek(0, 2)
    packed_size = archive.tell()
    archive.seek(0)
    target.mkdir(parents=True, exist_ok=True)
    result = Extracted(target)
    budget = _Budget(name, packed_size, limits)
    try:
        if _kind(archive) == "zip":
            _extract_zip(archive, result, budget)
        else:
            _extract_tar(archive, result, budget)
    except ArchiveRefused:
        _empty(target)
        raise
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError) as exc:
        _empty(target)
        raise ArchiveRefused(f"{name} is not a readable ZIP or TAR archive ({exc}).") from exc
    return result


def _kind(archive: BinaryIO) -> str:
    """"zip" or "tar", by content, in the order that cannot be fooled: a gzip or TAR header at the start decides
    before a ZIP end-of-directory record is looked for (one can sit inside any member of a TAR)."""
    head = archive.read(512)
    archive.seek(0)
    if head.startswith(b"\x1f\x8b") or head[257:262] == b"ustar":
        return "tar"
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "zip"
    kind = "zip" if zipfile.is_zipfile(archive) else "tar"  # a ZIP with something before it (self-extracting)
    archive.seek(0)
    return kind


def _empty(folder: Path) -> None:
    for child in folder.iterdir():
        shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
