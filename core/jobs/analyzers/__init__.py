"""Analyzers: small, declared computations over one sound that pre-annotate it or compute features.

One module each; this registry is what jobs, pages, the CLI and the HTTP API look them up in.
"""

from __future__ import annotations

from core.errors import ValidationError
from core.jobs.analyzers import (
    audio_stats,
    duplicates,
    onsets,
    speaker_check,
    spectrogram,
    speech_activity,
    speech_quality,
)
from core.jobs.analyzers.base import Analyzer, Output, Param, Segment

ANALYZERS: dict[str, Analyzer] = {m.ANALYZER.name: m.ANALYZER for m in (audio_stats, speech_activity, onsets, spectrogram,
                                                                   speech_quality, speaker_check, duplicates)}

__all__ = ["ANALYZERS", "Analyzer", "Output", "Param", "Segment", "get"]


def get(name: str) -> Analyzer:
    if name not in ANALYZERS:
        raise ValidationError("analyzer", f"There is no analyzer {name!r}; choose from {', '.join(ANALYZERS)}.")
    return ANALYZERS[name]
