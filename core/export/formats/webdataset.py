"""WebDataset tar shards: per unit a sample of two members, ``<key>.<ext>`` (the audio file, or its clip) and
``<key>.json`` (the unit's fields, its segments and the sound's metadata). The ``webdataset`` package groups
members into samples by the name before the first dot, so keys are ids (no dots) and the extension tells its
decoders the audio's format.

Samples are shuffled within and across shards by the export's seed (and the split's folder): the pass meets
sounds in path order, speaker by speaker, and a shard of one speaker defeats WebDataset's own shard-level shuffle
at training time. Every sample is first appended, already framed as tar members, to a spool file in the system's
temporary folder (one more local copy of the shards, never memory: the index is 8 bytes a sample); at the end a
permutation drawn from the seed orders them, and they are copied out of the spool into shards, each closed once
it passes the shard size: ``webdataset/shard-000000.tar``, ``-000001``, ... Members carry the sound's creation
time and no owner, so the same subset and seed give the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import tarfile
import tempfile
from array import array
from pathlib import PurePosixPath
from typing import IO

import numpy as np

from core.export.formats.sources import SoundAudio
from core.export.formats.target import OutFile, Shards, Target, Written
from core.export.formats.units import Unit, segment_fields, unit_fields
from core.store.storage import CHUNK

_BLOCK = tarfile.BLOCKSIZE


class WebDatasetWriter:
    def __init__(self, target: Target, folder: str, shard_bytes: int, seed: int = 0) -> None:
        self.target, self.folder, self.shard_bytes, self.seed = target, folder, shard_bytes, seed
        self.shards = Shards(target, lambda n: f"{folder}shard-{n:06d}.tar")
        self._spool: IO[bytes] | None = None
        self._bounds = array("q", [0])  # sample i is the spool's bytes _bounds[i]:_bounds[i + 1]

    def add(self, units: list[Unit], audio: SoundAudio, metadata: dict[str, str]) -> None:
        if self._spool is None:
            self._spool = tempfile.TemporaryFile(prefix="earmark-webdataset-")  # noqa: SIM115 (closed by close/abort)
        for unit in units:
            mtime = unit.sound.date_created.timestamp()
            ext = PurePosixPath(unit.audio_path).suffix.lstrip(".").lower() or "wav"
            _header(self._spool, f"{unit.key}.{ext}", audio.size(unit), mtime)
            audio.copy_to(unit, self._spool)
            _pad(self._spool, audio.size(unit))
            fields = unit_fields(unit) | {"sampling_rate": audio.info.rate, "segments": [segment_fields(a) for a in unit.segments],
                                          "metadata": metadata}
            text = json.dumps(fields, ensure_ascii=False).encode()
            _header(self._spool, f"{unit.key}.json", len(text), mtime)
            self._spool.write(text)
            _pad(self._spool, len(text))
            self._bounds.append(self._spool.tell())

    def order(self) -> np.ndarray:
        """The samples' order in the shards: a permutation the seed and the split's folder fix."""
        entropy = int.from_bytes(hashlib.sha256(f"{self.seed}:{self.folder}".encode()).digest()[:8], "big")
        return np.random.default_rng(entropy).permutation(len(self._bounds) - 1)

    def close(self) -> list[Written]:
        if self._spool is None:
            return []
        try:
            out: OutFile | None = None
            for sample in self.order():
                out = self.shards.current()
                start, end = self._bounds[sample], self._bounds[sample + 1]
                self._spool.seek(start)
                _copy(self._spool, out, end - start)
                if self.shards.full(self.shard_bytes):
                    self._close_shard(out)
                    out = None
            if out is not None:
                self._close_shard(out)
        except BaseException:
            self.abort()
            raise
        self._drop_spool()
        return self.shards.written

    def _close_shard(self, out: OutFile) -> None:
        """A tar's end (two zero blocks, padded to tar's 20-block record as tarfile pads it), then the shard commits."""
        size = out.tell() + 2 * _BLOCK
        out.write(tarfile.NUL * (2 * _BLOCK + (-size % tarfile.RECORDSIZE)))
        self.shards.close()

    def _drop_spool(self) -> None:
        if self._spool is not None:
            self._spool.close()
            self._spool = None

    def abort(self) -> None:
        self._drop_spool()
        self.shards.abort()


def _header(out: IO[bytes], name: str, size: int, mtime: float) -> None:
    """A tar member's ustar header as tarfile writes it; the data and :func:`_pad` follow (tarfile's own writer keeps
    a TarInfo per member to the end)."""
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = size, int(mtime), 0o644
    out.write(info.tobuf(tarfile.USTAR_FORMAT, "utf-8", "surrogateescape"))


def _pad(out: IO[bytes], size: int) -> None:
    out.write(tarfile.NUL * (-size % _BLOCK))


def _copy(source: IO[bytes], out: IO[bytes], length: int) -> None:
    """``length`` bytes from ``source``'s position into ``out``, a CHUNK at a time."""
    while length > 0:
        chunk = source.read(min(CHUNK, length))
        if not chunk:
            raise OSError("the WebDataset spool ended early")
        out.write(chunk)
        length -= len(chunk)
