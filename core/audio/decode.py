"""Audio facts measured from the content (never trusted from a file name)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, replace
from typing import BinaryIO

import numpy as np
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


# -- what a file of a given size can hold, and reading it to its real end ------------------------------------

UNPACKED_FORMATS = {"WAV", "WAVEX", "W64", "RF64", "AIFF", "AU", "CAF", "RAW"}  # samples stored as they are (not FLAC)
MP3_FRAMES_PER_BYTE = 48  # MPEG-2 Layer III at 8 kb/s is 24 frames a byte, the densest MPEG audio; twice that
PACKED_FRAMES_PER_BYTE = 8192  # FLAC, Ogg, ADPCM...: a FLAC block of silence is ~10 bytes for 65,535 frames
MP3_SLACK = 0.02  # an MP3 without a Xing/Info header has a length estimated from its size; decoding may fall short
READ_SAMPLES = 256 * 1024  # samples (frames x channels) per read: what one decode holds at once (1 MB as float32)
DECODES_AT_ONCE = 4  # reads of stored audio for views (spectrograms, parts, samples) running at the same time
_DECODES = threading.BoundedSemaphore(DECODES_AT_ONCE)


def frame_capacity(info: AudioInfo, size: int) -> int:
    """The most frames a file of ``size`` bytes can hold in its format: exact for fixed-width samples (plain WAV,
    AIFF), a generous bound for compressed ones. A header that claims more is not believed, whatever the decoder
    would make of it (libmpg123 trusts a Xing header's frame count, and soundfile.blocks() follows it)."""
    width = SAMPLE_BYTES.get(info.subtype)
    if width and info.format in UNPACKED_FORMATS:
        return size // (width * info.channels)
    return size * (MP3_FRAMES_PER_BYTE if info.format == "MP3" else PACKED_FRAMES_PER_BYTE)


def check_capacity(info: AudioInfo, size: int, name: str) -> None:
    """Refuse a header that claims more audio than the file's bytes can hold, before decoding any of it."""
    if info.frames > frame_capacity(info, size):
        raise ValidationError("file", f"{name} claims {info.duration_seconds:,.3f} s of audio, more than its {size:,} "
                                      f"bytes can hold as {info.format} (refused).")


def frames_per_read(channels: int, multiple: int = 1) -> int:
    """Frames per read so that one read holds about READ_SAMPLES samples whatever the channel count, as a
    multiple of ``multiple`` (the peaks' finest block, a bucket) so that only the last read is partial."""
    return max(multiple, READ_SAMPLES // max(1, channels) // multiple * multiple)


@contextmanager
def decode_slot() -> Iterator[None]:
    """One of DECODES_AT_ONCE: a burst of views of big sounds waits here for its turn instead of decoding all at
    once (each read holds at most READ_SAMPLES samples, so the slots bound the memory that decoding takes)."""
    with _DECODES:
        yield


class Reader:
    """Frames [start, stop) of an open sound file in reads of ``block`` frames, stopping at the first short read.

    Past the real end of the audio, soundfile.blocks() keeps yielding full blocks (the same buffer, not refilled)
    of an MP3 whose Xing header claims more, and libsndfile raises for a FLAC whose STREAMINFO does: so read()
    is called directly, its length checked, and an error while reading is taken as the end. With ``slot``, each
    read waits for a :func:`decode_slot` (views in the server; ingestion has its own workers). After iterating,
    ``frames`` is the number of frames read and ``complete`` whether they reached ``stop``; ``exact`` is False
    when the decoder raised, so the real end lies somewhere in the read that failed (before ``frames + block``).
    """

    def __init__(self, f: sf.SoundFile, start: int, stop: int, block: int, dtype: str = "float32", slot: bool = False) -> None:
        self.f, self.start, self.stop, self.block, self.dtype, self.slot = f, start, stop, block, dtype, slot
        self.frames, self.exact = 0, True

    @property
    def complete(self) -> bool:
        return self.start + self.frames >= self.stop

    def __iter__(self) -> Iterator[np.ndarray]:
        position = self.start
        try:
            if self.f.tell() != position:  # a seek resets an MP3's decoder: the next read after it is not the same
                self.f.seek(position)
        except sf.LibsndfileError:
            self.exact = False
            return
        while position < self.stop:
            wanted = min(self.block, self.stop - position)
            try:
                with decode_slot() if self.slot else nullcontext():
                    data = self.f.read(wanted, dtype=self.dtype, always_2d=True)
            except sf.LibsndfileError:
                self.exact = False
                return
            position += len(data)
            self.frames = position - self.start
            if len(data):
                yield data
            if len(data) < wanted:
                return

    def check(self, name: str) -> None:
        """After iterating: the sentence of :meth:`shortfall` (against the file's header) unless every frame asked
        for was read."""
        if not (self.complete and self.exact):
            raise self.shortfall(name, int(self.f.samplerate), int(self.f.frames))

    def shortfall(self, name: str, rate: int, declared: int) -> ValidationError:
        """The one sentence for a file whose audio ends before its header says."""
        said = f"{name} is truncated: its header says {declared / rate:.3f} s, but "
        if self.exact:
            return ValidationError("file", said + f"only {(self.start + self.frames) / rate:.3f} s of audio are in the file.")
        end = min(declared, self.start + self.frames + self.block)
        return ValidationError("file", said + f"its audio ends before {end / rate:.3f} s.")


def _slack(info: AudioInfo) -> int:
    """Frames a complete file may fall short of its header: none, but for an MP3's estimated length."""
    return int(info.frames * MP3_SLACK) + 2 * 1152 if info.format == "MP3" else 0


def measure(source: BinaryIO, info: AudioInfo, name: str, size: int | None = None,
            on_block: Callable[[np.ndarray], None] | None = None, multiple: int = 1) -> AudioInfo:
    """Decode ``source`` to its end (int16 reads of about READ_SAMPLES samples, each handed to ``on_block``) and
    return ``info`` with the frames really there. A header that claims more than the file's size can hold is
    refused before decoding; one whose audio ends early is refused with both durations, as a cut-short WAV is.
    So a stored sound's length is what was decoded, and nothing later reads past the end of its audio."""
    if size is None:
        size = source.seek(0, 2)
    check_capacity(info, size, name)
    source.seek(0)
    try:
        with sf.SoundFile(source) as f:
            reader = Reader(f, 0, info.frames, frames_per_read(info.channels, multiple), "int16")
            for block in reader:
                if on_block:
                    on_block(block)
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise ValidationError("file", f"{name} is not decodable audio ({exc}).") from exc
    finally:
        source.seek(0)
    if reader.frames < info.frames - _slack(info) or not reader.exact:
        raise reader.shortfall(name, info.sample_rate, info.frames)
    if reader.frames <= 0:
        raise ValidationError("file", f"{name} contains no audio samples.")
    return replace(info, frames=reader.frames)
