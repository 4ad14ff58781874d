"""Archive safety: Zip Slip, links, nested archives, and bomb limits counted while unpacking."""

from __future__ import annotations

import io
import tarfile
import zipfile

import pytest

from core.ingest.archives import ArchiveLimits, ArchiveRefused, extract, is_archive


def make_zip(members: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> io.BytesIO:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    buffer.seek(0)
    return buffer


def make_tar(members: dict[str, bytes], mode: str = "w:gz", links: dict[str, str] | None = None) -> io.BytesIO:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            tf.addfile(info)
    buffer.seek(0)
    return buffer


def listing(root):
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


@pytest.mark.parametrize("maker", [make_zip, lambda m: make_tar(m, "w"), lambda m: make_tar(m, "w:gz")])
def test_members_keep_their_relative_paths(tmp_path, maker):
    result = extract(maker({"id1/v/1.wav": b"a", "id1/v/2.wav": b"b", "meta.csv": b"path\n"}), "x", tmp_path / "out")
    assert sorted(result.files) == ["id1/v/1.wav", "id1/v/2.wav", "meta.csv"] == listing(tmp_path / "out")
    assert result.refused == []


@pytest.mark.parametrize("evil", ["../evil.wav", "a/../../evil.wav", "/abs/evil.wav", "..\\evil.wav"])
@pytest.mark.parametrize("maker", [make_zip, make_tar])
def test_zip_slip_members_are_refused_and_nothing_lands_outside(tmp_path, evil, maker):
    result = extract(maker({evil: b"x", "ok.wav": b"fine"}), "x", tmp_path / "out")
    assert result.files == ["ok.wav"]
    assert result.refused == [(evil, f"{evil} would be unpacked outside the upload (refused).")]
    assert listing(tmp_path) == ["out/ok.wav"]


def test_symlinks_are_not_unpacked(tmp_path):
    result = extract(make_tar({"ok.wav": b"x"}, links={"link.wav": "/etc/passwd"}), "x", tmp_path / "out")
    assert result.files == ["ok.wav"] and result.refused == [("link.wav", "link.wav is a link or special file, not unpacked.")]


def test_nested_archives_are_not_expanded(tmp_path):
    inner = make_zip({"deep.wav": b"x"}).getvalue()
    result = extract(make_zip({"inner.zip": inner, "inner.tar.gz": b"x", "ok.wav": b"y"}), "x", tmp_path / "out")
    assert result.files == ["ok.wav"]
    assert [why for _, why in result.refused] == [
        "inner.zip is an archive inside an archive: nested archives are not unpacked.",
        "inner.tar.gz is an archive inside an archive: nested archives are not unpacked.",
    ]


def test_too_many_members_refuses_the_whole_archive(tmp_path):
    archive = make_zip({f"{i}.wav": b"x" for i in range(11)})
    with pytest.raises(ArchiveRefused, match="x.zip has more than 10 members."):
        extract(archive, "x.zip", tmp_path / "out", ArchiveLimits(max_members=10))
    assert listing(tmp_path / "out") == []


def test_total_unpacked_bytes_are_capped(tmp_path):
    archive = make_zip({f"{i}.wav": bytes(range(256)) * 4096 for i in range(5)}, zipfile.ZIP_STORED)  # 5 x 1 MB
    with pytest.raises(ArchiveRefused, match="unpacks to more than"):
        extract(archive, "x.zip", tmp_path / "out", ArchiveLimits(max_total_bytes=3 * 1024**2))
    assert listing(tmp_path / "out") == []


@pytest.mark.parametrize("maker", [make_zip, make_tar])
def test_a_zip_bomb_is_refused_by_its_ratio_while_unpacking(tmp_path, maker):
    archive = maker({"bomb.wav": b"\0" * (50 * 1024**2)})  # 50 MB of zeros packs to ~50 KB
    assert len(archive.getvalue()) < 200 * 1024
    with pytest.raises(ArchiveRefused, match="times its"):
        extract(archive, "bomb.zip", tmp_path / "out")
    assert listing(tmp_path / "out") == []


def test_lying_zip_header_is_refused_not_trusted(tmp_path):
    """A header that claims a tiny size: zipfile reads only that much, the CRC then fails, the archive is refused."""
    import struct

    raw = bytearray(make_zip({"big.wav": b"\0" * (5 * 1024**2)}).getvalue())
    for signature, offset in ((b"PK\x01\x02", 24), (b"PK\x03\x04", 22)):  # central directory, local header
        struct.pack_into("<I", raw, raw.find(signature) + offset, 10)
    with pytest.raises(ArchiveRefused, match=r"liar.zip is not a readable ZIP or TAR archive \(Bad CRC-32"):
        extract(io.BytesIO(bytes(raw)), "liar.zip", tmp_path / "out", ArchiveLimits(max_ratio=50))
    assert listing(tmp_path / "out") == []


def test_a_member_over_the_size_limit_is_refused_alone(tmp_path):
    archive = make_zip({"big.wav": bytes(range(256)) * 8192, "small.wav": b"x"}, zipfile.ZIP_STORED)
    result = extract(archive, "x.zip", tmp_path / "out", ArchiveLimits(max_member_bytes=1024**2))
    assert result.files == ["small.wav"] and result.refused == [("big.wav", "big.wav is larger than 1 MB.")]
    assert listing(tmp_path / "out") == ["small.wav"]


def test_not_an_archive(tmp_path):
    with pytest.raises(ArchiveRefused, match="fake.zip is not a readable ZIP or TAR archive"):
        extract(io.BytesIO(b"just text"), "fake.zip", tmp_path / "out")
    assert is_archive("A.TAR.GZ") and is_archive("x.tgz") and not is_archive("x.wav")


@pytest.mark.parametrize("mode", ["w", "w:gz"])
def test_a_tar_holding_zip_end_of_directory_bytes_is_still_a_tar(tmp_path, mode):
    eocd = b"PK\x05\x06" + b"\x00" * 18  # what zipfile.is_zipfile looks for near the end of a file
    archive = make_tar({"a.wav": b"RIFF" + b"\x00" * 100, "notes.bin": b"x" * 300 + eocd}, mode=mode)
    result = extract(archive, "set.tar", tmp_path / "out")
    assert sorted(result.files) == ["a.wav", "notes.bin"] and not result.refused


def test_too_many_members_is_refused_before_any_is_unpacked(tmp_path, monkeypatch):
    from core.ingest import archives

    unpacked = []
    real = archives._extract_one
    monkeypatch.setattr(archives, "_extract_one", lambda *a, **k: unpacked.append(a[2]) or real(*a, **k))
    archive = make_zip({f"m{n}.txt": b"x" for n in range(11)})
    with pytest.raises(ArchiveRefused, match="more than 10 members"):
        extract(archive, "many.zip", tmp_path / "out", ArchiveLimits(max_members=10))
    assert unpacked == [] and list((tmp_path / "out").iterdir()) == []
