"""Audio facts measured from the content (never trusted from a file name)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import BinaryIO

import soundfile as sf

from core.errors import ValidationError

AUDIO_EXTENSIONS = {".wav", ".wave", ".flac", ".ogg", ".oga", ".mp3", ".aif", ".aiff", ".aifc"}
MIME_TYPES = {
    "WAV": "audio/wav",
    "FLAC": "audio/flac",
    "OGG": "audio/ogg",
    "MP3": "audio/mpeg",
    "AIFF": "audio/aiff",
}


MIME_BY_EXTENSION = {".wav": "audio/wav", ".wave": "audio/wav", ".flac": "audio/flac", ".ogg": "audio/ogg", ".oga": "audio/ogg",
                     ".mp3": "audio/mpeg", ".aif": "audio/aiff", ".aiff": "audio/aiff", ".aifc": "audio/aiff"}


@dataclass(frozen=True)
class AudioInfo:
    format: str
    subtype: str
    sample_rate: int
    channels: int
    frames: int

    @property
    def duration_seconds(self) -> float:
        return self.frames / self.sample_rate if self.sample_rate else 0.0

    @property
    def mime_type(self) -> str:
        return MIME_TYPES.get(self.format, "application/octet-stream")


def probe(source: str | BinaryIO, name: str) -> AudioInfo:
    """Decode the header of ``source`` (a path or a seekable binary file); ``name`` is only for the message."""
    try:
        with sf.SoundFile(source) as f:
            info = AudioInfo(f.format, f.subtype, int(f.samplerate), int(f.channels), int(f.frames))
    except sf.LibsndfileError as exc:
        reason = (exc.error_string or "unknown format").rstrip(".").lower()
        raise ValidationError("file", f"{name} is not decodable audio ({reason}).") from exc
    except (RuntimeError, TypeError, ValueError) as exc:
        raise ValidationError("file", f"{name} is not decodable audio ({exc}).") from exc
    if info.frames <= 0 or info.sample_rate <= 0:
        raise ValidationError("file", f"{name} contains no audio samples.")
    return info
