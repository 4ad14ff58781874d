"""WebDataset tar shards: per unit a sample of two members, ``<key>.<ext>`` (the audio file, or its clip) and
``<key>.json`` (the unit's fields, its segments and the sound's metadata). The ``webdataset`` package groups
members into samples by the name before the first dot, so keys are ids (no dots) and the extension tells its
decoders the audio's format.

A shard is a tar stream written as it goes (``tarfile`` mode ``w|``: nothing seeks back), closed once it passes
the shard size: ``webdataset/shard-000000.tar``, ``-000001``, ... Members carry the sound's creation time and no
owner, so the same subset gives the same bytes.
"""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import PurePosixPath
from typing import Any

from core.export.formats.sources import SoundAudio
from core.export.formats.target import Shards, Target, Written
from core.export.formats.units import Unit, segment_fields, unit_fields


class WebDatasetWriter:
    def __init__(self, target: Target, folder: str, shard_bytes: int) -> None:
        self.target, self.folder, self.shard_bytes = target, folder, shard_bytes
        self.shards = Shards(target, lambda n: f"{folder}shard-{n:06d}.tar")
        self._tar: tarfile.TarFile | None = None

    def add(self, units: list[Unit], audio: SoundAudio, metadata: dict[str, str]) -> None:
        for unit in units:
            if self._tar is None:  # closed with its shard
                self._tar = tarfile.open(fileobj=self.shards.current(), mode="w|", format=tarfile.USTAR_FORMAT)  # noqa: SIM115
            mtime = unit.sound.date_created.timestamp()
            ext = PurePosixPath(unit.audio_path).suffix.lstrip(".").lower() or "wav"
            size = audio.size(unit)
            _add(self._tar, f"{unit.key}.{ext}", audio.stream(unit), size, mtime)
            fields = unit_fields(unit) | {"sampling_rate": audio.info.rate, "segments": [segment_fields(a) for a in unit.segments],
                                          "metadata": metadata}
            text = json.dumps(fields, ensure_ascii=False).encode()
            _add(self._tar, f"{unit.key}.json", io.BytesIO(text), len(text), mtime)
            if self.shards.full(self.shard_bytes):
                self._close_shard()

    def _close_shard(self) -> None:
        assert self._tar is not None
        self._tar.close()
        self._tar = None
        self.shards.close()

    def close(self) -> list[Written]:
        if self._tar is not None:
            self._close_shard()
        return self.shards.written

    def abort(self) -> None:
        self.shards.abort()


def _add(tar: tarfile.TarFile, name: str, data: Any, size: int, mtime: float) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = size, int(mtime), 0o644
    tar.addfile(info, data)
