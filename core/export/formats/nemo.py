"""NeMo manifests: ``nemo_manifest.json`` in the split's folder, one JSON object a line with ``audio_filepath``
(relative to that folder, which NeMo resolves paths against), ``duration`` and ``text``, and ``offset`` for a
segment read out of its whole file; Earmark adds ``tags``, ``speaker`` (when known) and ``sound_id``, and for a clip
(segments cut into files of their own) ``source_offset``, the clip's start in its sound, so that
core/annotations/imports/nemo.py puts it back at its time. A tagged segment keeps its transcript in ``text`` and its
tags in ``tags``."""

from __future__ import annotations

import json
from collections.abc import Iterable

from core.export.formats.target import Target, Written
from core.export.formats.units import Unit


def line(unit: Unit) -> str:
    entry: dict[str, object] = {"audio_filepath": unit.audio_path, "duration": round(unit.duration, 6), "text": unit.text}
    if unit.start is not None and unit.audio_path.startswith("audio/"):
        entry["offset"] = round(unit.start, 6)
    entry["tags"] = unit.tags
    if unit.speaker:
        entry["speaker"] = unit.speaker
    entry["sound_id"] = unit.sound.id
    if unit.start is not None and not unit.audio_path.startswith("audio/"):
        entry["source_offset"] = round(unit.start, 6)  # a clip: where it starts in its sound
    return json.dumps(entry, ensure_ascii=False)


def write(target: Target, folder: str, units: Iterable[Unit]) -> list[Written]:
    with target.open(f"{folder}nemo_manifest.json") as out:
        for unit in units:
            out.write((line(unit) + "\n").encode())
    assert out.written is not None
    return [out.written]
