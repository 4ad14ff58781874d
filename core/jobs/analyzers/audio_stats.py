"""audio-stats: level and quality figures of each sound, stored as its metadata so Browse can filter on them."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from core.jobs.analyzers.base import (
    Analyzer,
    Output,
    Param,
    blocks,
    dbfs,
    require_audio,
)
from core.store.models import Sound
from core.store.storage import Storage


def audio_stats(storage: Storage, sound: Sound, params: dict[str, Any]) -> Output:
    """Level, clipping, DC offset and silence, in one pass over the samples."""
    rate = require_audio(sound)
    frame = max(1, int(rate * params["frame_ms"] / 1000))
    total = squares = peak = clipped = dc = 0.0
    frames = silent = 0
    threshold = 10 ** (params["silence_dbfs"] / 20)
    carry = np.zeros((0, sound.channels or 1), np.float32)
    for block in blocks(storage, sound):
        total += block.size
        squares += float(np.square(block, dtype=np.float64).sum())
        peak = max(peak, float(np.abs(block).max()))
        clipped += float((np.abs(block) >= 0.999).sum())
        dc += float(block.sum(dtype=np.float64))
        joined = np.concatenate([carry, block])
        whole = joined.shape[0] // frame * frame
        rms = np.sqrt(np.square(joined[:whole].reshape(-1, frame * joined.shape[1])).mean(axis=1))
        frames += rms.size
        silent += int((rms < threshold).sum())
        carry = joined[whole:]
    total = max(total, 1)
    return Output(fields={ANALYZER.field_prefix + name: value for name, value in {
        "rms_dbfs": dbfs(math.sqrt(squares / total)), "peak_dbfs": dbfs(peak),
        "clipping_ratio": f"{clipped / total:.6f}", "dc_offset": f"{dc / total:.6f}",
        "silence_ratio": f"{silent / max(frames, 1):.4f}",
        "duration_seconds": f"{sound.duration_seconds:.3f}", "sample_rate": str(sound.sample_rate),
    }.items()})


ANALYZER = Analyzer(
    "audio-stats", "1", "Level and quality figures of each sound, stored as its metadata (filterable on Browse).",
    "metadata fields audio_stats.*: rms_dbfs, peak_dbfs, clipping_ratio, dc_offset, silence_ratio",
    {"silence_dbfs": Param(-60.0, -120.0, 0.0, help="a frame quieter than this is silence"),
     "frame_ms": Param(50.0, 5.0, 1000.0, help="frame length for the silence ratio")},
    audio_stats)
