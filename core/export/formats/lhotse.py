"""Lhotse manifests: ``lhotse_recordings.jsonl.gz`` and ``lhotse_supervisions.jsonl.gz`` in the split's folder,
gzipped JSON lines as lhotse's own recipes write them (``RecordingSet.to_file`` / ``SupervisionSet.to_file``).

lhotse needs PyTorch, which Earmark does not install, so these follow its schema (lhotse/audio/recording.py and
lhotse/supervision.py): a recording is ``id``, ``sources`` (``type`` "file", ``channels``, ``source``: the file,
relative to the split's folder), ``sampling_rate``, ``num_samples``, ``duration`` and ``channel_ids``; a
supervision is ``id``, ``recording_id``, ``start`` (seconds into its recording), ``duration``, ``channel``,
``text``, ``speaker`` and ``custom`` (its ``tags``). Every unit is a supervision; with clips each clip is a
recording of its own.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable
from typing import Any

from core.export.formats.target import Target, Written
from core.export.formats.units import AudioInfo, Unit


def recording_id(unit: Unit) -> str:
    return unit.key if unit.audio_path.startswith("clips/") else unit.sound.id


def recording(unit: Unit, info: AudioInfo) -> dict[str, Any]:
    channels = list(range(info.channels))
    samples = int(round(unit.duration * info.rate)) if unit.audio_path.startswith("clips/") else info.frames
    return {"id": recording_id(unit), "sources": [{"type": "file", "channels": channels, "source": unit.audio_path}],
            "sampling_rate": info.rate, "num_samples": samples, "duration": round(samples / info.rate, 6),
            "channel_ids": channels}


def supervision(unit: Unit, info: AudioInfo) -> dict[str, Any]:
    clip = unit.audio_path.startswith("clips/")
    channel = unit.annotation.channel if unit.annotation and unit.annotation.channel is not None else 0
    return {"id": unit.key, "recording_id": recording_id(unit), "start": 0.0 if clip else round(unit.start or 0.0, 6),
            "duration": round(unit.duration, 6), "channel": min(channel, info.channels - 1), "text": unit.text,
            "speaker": unit.speaker, "custom": {"tags": unit.tags, "sound_id": unit.sound.id}}


def write(target: Target, folder: str, units: Iterable[tuple[Unit, AudioInfo]]) -> list[Written]:
    with target.open(f"{folder}lhotse_recordings.jsonl.gz") as raw_recordings, \
            target.open(f"{folder}lhotse_supervisions.jsonl.gz") as raw_supervisions, \
            gzip.GzipFile(fileobj=raw_recordings, mode="wb", mtime=0) as recordings, \
            gzip.GzipFile(fileobj=raw_supervisions, mode="wb", mtime=0) as supervisions:
        last = None  # a sound's units come together, so a recording is written once
        for unit, info in units:
            if recording_id(unit) != last:
                last = recording_id(unit)
                recordings.write((json.dumps(recording(unit, info), ensure_ascii=False) + "\n").encode())
            supervisions.write((json.dumps(supervision(unit, info), ensure_ascii=False) + "\n").encode())
    assert raw_recordings.written is not None and raw_supervisions.written is not None
    return [raw_recordings.written, raw_supervisions.written]
