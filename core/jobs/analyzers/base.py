"""What every analyzer is: a declared name, version, parameters (default and range) and outputs, and a function.

``run`` returns the output and writes nothing: the job runner (core.jobs.queue) stores it, replacing what the same
analyzer with the same parameters stored before, so a re-run never doubles it.

Two optional steps for analyzers that look at more than one sound (duplicates, speaker-check):

- ``keep`` stores a batch's ``Output.data`` (say a fingerprint) in the analyzer's own tables, inside the transaction
  that marks those sounds done, so what it keeps is there exactly when the sounds count as done; it replaces what it
  kept for those sounds before.
- ``finish`` runs once per job, when the job completes, in the transaction that closes it (only the worker whose
  conditional UPDATE moves the job out of running does it, core.jobs.queue._finish). It gets the job's done sounds
  as a query to join with and yields ``(sound id, fields)`` for any of them; the queue replaces the fields named in
  ``finish_fields`` for every sound of the job, so a re-run leaves none from the last run behind. If it raises,
  the job fails with its message.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import soundfile as sf
from sqlalchemy import Select
from sqlalchemy.orm import Session

from core.errors import ValidationError
from core.store.models import Sound
from core.store.storage import Storage

BLOCK = 65536


@dataclass(frozen=True)
class Param:
    default: float | int | str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    help: str = ""


@dataclass
class Segment:
    start: float
    duration: float
    tags: list[str]
    text: str | None = None
    data_url: str | None = None


@dataclass
class Output:
    segments: list[Segment] = field(default_factory=list)
    fields: dict[str, str] = field(default_factory=dict)  # sound metadata, filterable on Browse
    # name -> content, stored under derived/<sound id>/; a segment's data_url or a field's value that is one of these
    # names is stored as the object's URL
    objects: dict[str, bytes] = field(default_factory=dict)
    data: Any = None  # for the analyzer's own ``keep`` step only; the queue stores none of it


Runner = Callable[[Storage, Sound, dict[str, Any]], Output]
# (session, [(sound id, output)], params): store the outputs' data, replacing what was kept for those sounds
Keeper = Callable[[Session, list[tuple[str, Output]], dict[str, Any]], None]
# (session, the job's done sound ids as a query, params) -> (sound id, {field: value}) for sounds of the job
Finisher = Callable[[Session, Select[str], dict[str, Any]], Iterable[tuple[str, dict[str, str]]]]


@dataclass(frozen=True)
class Analyzer:
    name: str
    version: str
    description: str
    outputs: str
    params: dict[str, Param]
    runner: Runner = field(repr=False, compare=False, default=None)  # type: ignore[assignment]
    keep: Keeper | None = field(repr=False, compare=False, default=None)
    finish: Finisher | None = field(repr=False, compare=False, default=None)
    finish_fields: tuple[str, ...] = ()  # every field ``finish`` may write (each starts with field_prefix)

    def check(self, given: dict[str, Any]) -> dict[str, Any]:
        """The parameters with defaults filled in; a value outside its range names the parameter."""
        unknown = set(given) - set(self.params)
        if unknown:
            raise ValidationError("params", f"{self.name} has no parameter {sorted(unknown)[0]!r} (it has {', '.join(self.params)}).")
        return {name: _checked(name, spec, given.get(name, spec.default)) for name, spec in self.params.items()}

    def run(self, storage: Storage, sound: Sound, params: dict[str, Any]) -> Output:
        return self.runner(storage, sound, params)

    @property
    def field_prefix(self) -> str:
        """The metadata fields an analyzer writes are named ``<name with underscores>.<field>``."""
        return self.name.replace("-", "_") + "."


def _checked(name: str, spec: Param, value: Any) -> Any:
    if spec.choices:
        if str(value) not in spec.choices:
            raise ValidationError(name, f"{name} must be one of {', '.join(spec.choices)}, not {value!r}.")
        return str(value)
    try:
        value = type(spec.default)(value)
    except (TypeError, ValueError):
        raise ValidationError(name, f"{name} must be a number, not {value!r}.") from None
    if (spec.minimum is not None and value < spec.minimum) or (spec.maximum is not None and value > spec.maximum):
        raise ValidationError(name, f"{name} must be from {spec.minimum:g} to {spec.maximum:g}, not {value:g}.")
    return value


def require_audio(sound: Sound) -> int:
    """The sample rate of a sound with stored audio; ValidationError for one without."""
    if sound.file is None or not sound.sample_rate:
        raise ValidationError("sound", f"{sound.path} has no stored audio to analyze.")
    return sound.sample_rate


def blocks(storage: Storage, sound: Sound) -> Iterator[np.ndarray]:
    """The sound's samples as float32 [frames, channels] blocks, read as they are needed."""
    require_audio(sound)
    with storage.open_seekable(sound.audio.key) as raw, sf.SoundFile(raw) as f:
        yield from f.blocks(blocksize=BLOCK, dtype="float32", always_2d=True)


def mono(storage: Storage, sound: Sound) -> np.ndarray:
    """All the sound's samples, channels averaged (for analyzers that need the whole signal at once)."""
    return np.concatenate([b.mean(axis=1) for b in blocks(storage, sound)] or [np.zeros(0, np.float32)])


def dbfs(value: float) -> str:
    return f"{20 * math.log10(value):.2f}" if value > 0 else "-inf"
