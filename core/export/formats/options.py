"""What a training-format export is asked for: which formats, how segments are written, shard sizes, whether
machine suggestions go in; each checked with one sentence naming what is wrong."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from core.errors import UnknownFormat, ValidationError
from core.export.subset import FORMATS as ZIP_FORMATS

TRAINING_FORMATS = ("parquet", "webdataset", "nemo", "lhotse", "kaldi", "eaf")
REFERENCING = ("nemo", "lhotse", "kaldi", "eaf")  # formats that point at audio files beside them (audio/ or clips/)
MIN_SHARD_MB = 1


class Segments(StrEnum):
    """How annotated segments reach the files. A sound without (kept) annotations is always one whole unit."""

    OFFSETS = "offsets"  # whole files; each segment an offset and duration into its file
    CLIPS = "clips"  # each segment cut into a file of its own (lossless, at the file's rate)


@dataclass(frozen=True)
class FormatOptions:
    segments: Segments = Segments.OFFSETS
    shard_mb: int = 256  # Parquet and WebDataset shards close past this size
    speaker_column: str | None = None  # metadata column naming the speaker; None: speaker_id or speaker if present

    def describe(self) -> dict[str, object]:
        return {"segments": self.segments.value, "shard_mb": self.shard_mb, "speaker_column": self.speaker_column}


def parse_formats(text: str | tuple[str, ...] | list[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``csv,parquet,nemo`` as (the ZIP's annotation formats, the training formats), each in the order given;
    UnknownFormat naming a format no writer knows (each edge says which of its fields held it)."""
    names = [n.strip().lower() for n in (text.split(",") if isinstance(text, str) else text) if n.strip()]
    for name in names:
        if name not in ZIP_FORMATS + TRAINING_FORMATS:
            raise UnknownFormat("formats", name, ZIP_FORMATS + TRAINING_FORMATS)
    if not names:
        raise ValidationError("formats", "Name at least one format, as in parquet,nemo.")
    unique = list(dict.fromkeys(names))
    return tuple(n for n in unique if n in ZIP_FORMATS), tuple(n for n in unique if n in TRAINING_FORMATS)


def check_options(options: FormatOptions) -> FormatOptions:
    if options.shard_mb < MIN_SHARD_MB:
        raise ValidationError("shard_mb", f"A shard must hold at least {MIN_SHARD_MB} MB, not {options.shard_mb}.")
    return options
