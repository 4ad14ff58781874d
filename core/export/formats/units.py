"""The units a training export writes: a whole sound, or one annotated segment of it (as an offset into its file
or cut into a clip of its own), each with its tags, transcript, speaker and the sound's metadata.

A sound without kept annotations is one whole unit; an annotated one gives a unit per kept annotation (machine
suggestions only if asked: core/export/subset.py's ``kept``). Every unit has a key safe as a file stem, a
WebDataset key (no dot) and a Kaldi id (no whitespace): the sound's id, or the annotation's.

A whole unit's text is its kept annotations' transcripts; when they carry none (or there are none), the sound's
metadata transcript (core/annotations/imports/table.py's transcript_in: the first of the text columns annotation
tables use too with words in it), since many corpora (Common Voice, LibriSpeech's tables) keep the sentence there.
A segment's text is only its own annotation's: the sound's sentence is not the segment's.

Clips are cut with soundfile at the file's own rate and sample format: PCM and float files keep their format
(WAV, FLAC, AIFF) and subtype, read and written as integers of that width, so a clip's samples are the original's
bit for bit; a lossy file (MP3, Ogg) is decoded once and its clip written as 32-bit float WAV, so nothing is lost
again.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import IO, Any

import soundfile as sf

from core.annotations.imports.table import transcript_in
from core.export.formats.options import FormatOptions, Segments
from core.export.sampling import Chosen
from core.export.subset import Window, kept
from core.store.models import Annotation

_SPEAKER_COLUMNS = ("speaker_id", "speaker", "client_id")
_KEPT_FORMATS = {"WAV": "wav", "WAVEX": "wav", "FLAC": "flac", "AIFF": "aiff"}
_DTYPES = {"PCM_S8": "int16", "PCM_U8": "int16", "PCM_16": "int16", "PCM_24": "int32", "PCM_32": "int32",
           "FLOAT": "float32", "DOUBLE": "float64"}


@dataclass(frozen=True)
class AudioInfo:
    """What the file itself says (read from its header while the export streams it)."""

    rate: int
    frames: int
    channels: int
    format: str
    subtype: str

    @property
    def duration(self) -> float:
        return self.frames / self.rate if self.rate else 0.0


@dataclass
class Unit:
    key: str
    sound: Chosen
    start: float | None  # None: the whole sound
    duration: float
    tags: list[str]
    text: str
    speaker: str | None
    annotation: Annotation | None = None
    segments: list[Annotation] = field(default_factory=list)  # a whole unit: its sound's kept annotations
    audio_path: str = ""  # where its audio is, relative to the split's folder (audio/... or clips/...)

    @property
    def end(self) -> float:
        return (self.start or 0.0) + self.duration


def audio_info(data: IO[bytes]) -> AudioInfo:
    data.seek(0)
    info = sf.info(data)
    data.seek(0)
    return AudioInfo(int(info.samplerate), int(info.frames), int(info.channels), str(info.format), str(info.subtype))


def speaker_of(plan: Window, sound: Chosen, options: FormatOptions) -> str | None:
    metadata = plan.metadata.get(sound.id, {})
    columns = (options.speaker_column,) if options.speaker_column else _SPEAKER_COLUMNS
    return next((str(metadata[c]) for c in columns if c and metadata.get(c)), None)


def metadata_text(plan: Window, sound: Chosen) -> str:
    """The sound's transcript from its metadata (see the module's docstring), whitespace collapsed; "" if none."""
    return transcript_in(plan.metadata.get(sound.id, {}))


def units_of(plan: Window, sound: Chosen, info: AudioInfo, options: FormatOptions) -> list[Unit]:
    """The sound's units in time order: itself, or each kept annotation (clipped to the file's length)."""
    annotations = sorted(kept(plan.annotations.get(sound.id, []), plan.request.suggestions),
                         key=lambda a: (a.start_seconds, a.id))
    speaker = speaker_of(plan, sound, options)
    length = info.duration or sound.duration_seconds
    if not annotations:
        return [Unit(sound.id, sound, None, length, list(plan.tags.get(sound.id, [])), metadata_text(plan, sound), speaker,
                     audio_path=f"audio/{plan.names[sound.id]}")]
    if options.segments is Segments.OFFSETS:
        return [_segment(a, sound, speaker, length, f"audio/{plan.names[sound.id]}") for a in annotations]
    units = [_segment(a, sound, speaker, length, "") for a in annotations]
    for unit in units:
        unit.audio_path = f"clips/{unit.key}.{clip_extension(info)}"
    return units


def row_units(plan: Window, sound: Chosen, info: AudioInfo, options: FormatOptions) -> list[Unit]:
    """What a Parquet row or WebDataset sample holds: the whole sound with its segments listed (offsets), or each
    clip (clips)."""
    if options.segments is Segments.CLIPS:
        return units_of(plan, sound, info, options)
    return [whole_unit(plan, sound, info, options)]


def whole_unit(plan: Window, sound: Chosen, info: AudioInfo, options: FormatOptions) -> Unit:
    """The sound as one unit with its kept annotations as segments (a Parquet row or WebDataset sample of the
    whole file, when segments are offsets)."""
    annotations = sorted(kept(plan.annotations.get(sound.id, []), plan.request.suggestions),
                         key=lambda a: (a.start_seconds, a.id))
    text = " ".join(t for a in annotations if (t := " ".join((a.text or "").split()))) or metadata_text(plan, sound)
    return Unit(sound.id, sound, None, info.duration or sound.duration_seconds, list(plan.tags.get(sound.id, [])), text,
                speaker_of(plan, sound, options), segments=annotations, audio_path=f"audio/{plan.names[sound.id]}")


def _segment(annotation: Annotation, sound: Chosen, speaker: str | None, length: float, path: str) -> Unit:
    start = max(0.0, min(annotation.start_seconds, length))
    end = max(start, min(annotation.end_seconds, length))
    return Unit(annotation.id, sound, start, end - start, annotation.tag_names, " ".join((annotation.text or "").split()),
                speaker, annotation=annotation, audio_path=path)


def _lossless(info: AudioInfo) -> bool:
    return info.subtype in _DTYPES and info.format in _KEPT_FORMATS


def clip_extension(info: AudioInfo) -> str:
    return _KEPT_FORMATS[info.format] if _lossless(info) else "wav"


def cut(data: IO[bytes], info: AudioInfo, start: float, duration: float) -> bytes:
    """The samples from ``start`` for ``duration`` seconds as a file of their own (see the module's docstring)."""
    first = int(round(start * info.rate))
    count = max(0, min(int(round(duration * info.rate)), info.frames - first))
    lossless = _lossless(info)
    data.seek(0)
    with sf.SoundFile(data) as source:
        source.seek(first)
        samples = source.read(count, dtype=_DTYPES[info.subtype] if lossless else "float32", always_2d=True)
    data.seek(0)
    out = io.BytesIO()
    if lossless:
        sf.write(out, samples, info.rate, format=info.format, subtype=info.subtype)
    else:
        sf.write(out, samples, info.rate, format="WAV", subtype="FLOAT")
    return out.getvalue()


def unit_fields(unit: Unit) -> dict[str, Any]:
    """A unit's own fields, as the Parquet columns and WebDataset ``.json`` carry them."""
    return {"id": unit.key, "sound_id": unit.sound.id, "dataset": unit.sound.dataset, "path": unit.sound.path,
            "start_seconds": unit.start, "duration_seconds": round(unit.duration, 6), "tags": unit.tags, "text": unit.text,
            "speaker": unit.speaker, "annotation_id": unit.annotation.id if unit.annotation else None}


def segment_fields(annotation: Annotation) -> dict[str, Any]:
    """One of a whole unit's segments, as the Parquet ``segments`` column and WebDataset ``.json`` list them."""
    return {"start_seconds": annotation.start_seconds, "end_seconds": round(annotation.end_seconds, 6),
            "tags": annotation.tag_names, "text": annotation.text or "", "annotation_id": annotation.id}
