"""The audio files the referencing formats (NeMo, Lhotse, Kaldi, ELAN) point at, beside them in the split's folder:
``audio/<name>`` (each sound's file as it is stored, streamed) or ``clips/<key>.<ext>`` (each segment cut)."""

from __future__ import annotations

from core.export.formats.sources import SoundAudio
from core.export.formats.target import Target, Written
from core.export.formats.units import Unit


class AudioFilesWriter:
    def __init__(self, target: Target, folder: str) -> None:
        self.target, self.folder = target, folder
        self.written: list[Written] = []

    def add(self, units: list[Unit], audio: SoundAudio, metadata: dict[str, str]) -> None:
        for path in dict.fromkeys(u.audio_path for u in units):  # offsets: one file for all of a sound's units
            unit = next(u for u in units if u.audio_path == path)
            with self.target.open(self.folder + path) as out:
                audio.copy_to(unit, out)
            assert out.written is not None
            self.written.append(out.written)

    def close(self) -> list[Written]:
        return self.written

    def abort(self) -> None:
        pass
