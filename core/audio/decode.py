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


SAMPLE_BYTES = {"PCM_U8": 1, "PCM_S8": 1, "ULAW": 1, "ALAW": 1, "PCM_16": 2, "PCM_24": 3, "PCM_32": 4, "FLOAT": 4, "DOUBLE": 8}
UNKNOWN_SIZES = (0, 0xFFFFFFFF)  # what a recorder writes when it streams and never goes back to fill the size in


def declared_wav_frames(head: bytes, info: AudioInfo) -> int | None:
    """The frames a WAV's ``data`` chunk says it holds (libsndfile quietly uses what is there instead), or None
    when the size is unknown or the file is not a plain RIFF WAV with fixed-size samples."""
    width = SAMPLE_BYTES.get(info.subtype)
    if info.format != "WAV" or not head.startswith(b"RIFF") or head[8:12] != b"WAVE" or not width:
        return None
    offset = 12
    while offset + 8 <= len(head):
        chunk, size = head[offset:offset + 4], int.from_bytes(head[offset + 4:offset + 8], "little")
        if chunk == b"data":
            return None if size in UNKNOWN_SIZES else size // (width * info.channels)
        offset += 8 + size + (size & 1)
    return None


def check_complete(source: BinaryIO, info: AudioInfo, name: str) -> None:
    """Refuse a WAV whose header promises more than the file holds (a copy cut short): stored, it would pass for
    a much shorter sound. The sentence gives both durations."""
    start = source.tell()
    head = source.read(64 * 1024)
    source.seek(start)
    declared = declared_wav_frames(head, info)
    if declared is not None and declared > info.frames:
        raise ValidationError("file", f"{name} is truncated: its header says {declared / info.sample_rate:.3f} s, "
                                      f"but only {info.duration_seconds:.3f} s of audio are in the file.")


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
