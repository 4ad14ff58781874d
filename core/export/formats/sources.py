"""One sound's audio as the writers take it: the fetched file (each reader from its start) and, for clips, each
unit's cut bytes, cut once however many writers want them."""

from __future__ import annotations

import io
import os
import shutil
from typing import IO

from core.export.formats.units import AudioInfo, Unit, cut
from core.store.storage import CHUNK


class SoundAudio:
    def __init__(self, data: IO[bytes], info: AudioInfo) -> None:
        self.data, self.info = data, info
        self._clips: dict[str, bytes] = {}

    def _clip(self, unit: Unit) -> bytes:
        if unit.key not in self._clips:
            self._clips[unit.key] = cut(self.data, self.info, unit.start or 0.0, unit.duration)
        return self._clips[unit.key]

    def is_clip(self, unit: Unit) -> bool:
        return unit.audio_path.startswith("clips/")

    def read(self, unit: Unit) -> bytes:
        """The unit's audio file as bytes (a Parquet cell holds them)."""
        if self.is_clip(unit):
            return self._clip(unit)
        self.data.seek(0)
        return self.data.read()

    def size(self, unit: Unit) -> int:
        if self.is_clip(unit):
            return len(self._clip(unit))
        size = self.data.seek(0, os.SEEK_END)
        self.data.seek(0)
        return size

    def copy_to(self, unit: Unit, out: IO[bytes]) -> None:
        """The unit's audio file streamed into ``out`` (a whole file is never read into memory here)."""
        if self.is_clip(unit):
            out.write(self._clip(unit))
            return
        self.data.seek(0)
        shutil.copyfileobj(self.data, out, CHUNK)

    def stream(self, unit: Unit) -> IO[bytes]:
        if self.is_clip(unit):
            return io.BytesIO(self._clip(unit))
        self.data.seek(0)
        return self.data
