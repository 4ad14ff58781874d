"""Praat TextGrids (long or short text format, UTF-8 or UTF-16), read by praatio: interval tiers as in
core/annotations/imports/tiers.py; point tiers have no duration and are left out with one problem each. A TextGrid
does not name its sound: the file's own name does (``speaker1/a.TextGrid`` for ``speaker1/a.wav``, the writer's
``textgrid/<stem>.TextGrid``)."""

from __future__ import annotations

import tempfile

from praatio import textgrid
from praatio.data_classes.interval_tier import IntervalTier

from core.annotations.imports.rows import Parsed, merged
from core.annotations.imports.tiers import tier_row
from core.errors import ValidationError

FORMAT = "textgrid"


def read(name: str, data: bytes, reference: str | None = None) -> Parsed:
    """``reference``: the sound the grid is of (default: the file's name without ``.TextGrid``)."""
    sound = reference or (name[: -len(".textgrid")] if name.lower().endswith(".textgrid") else name)
    if b"ooTextFile" not in data[:200].replace(b"\x00", b""):
        raise ValidationError("file", f"{name} is not a Praat TextGrid (it does not start with File type = \"ooTextFile\").")
    with tempfile.NamedTemporaryFile(suffix=".TextGrid") as tmp:
        tmp.write(data)
        tmp.flush()
        try:
            grid = textgrid.openTextgrid(tmp.name, includeEmptyIntervals=False, reportingMode="silence",
                                         duplicateNamesMode="rename")
        except Exception as exc:  # praatio raises bare Exceptions, IndexErrors and ValueErrors for a broken grid
            raise ValidationError("file", f"{name} is not a readable TextGrid ({type(exc).__name__}: {str(exc)[:120]}).") from None
    parsed = Parsed(name, FORMAT)
    for tier_name in grid.tierNames:
        tier = grid.getTier(tier_name)
        if not isinstance(tier, IntervalTier):
            parsed.problem(f"tier {tier_name!r}", f"a point tier: its {len(tier.entries)} points have no duration and are left out.")
            continue
        for start, end, label in tier.entries:
            row = tier_row(f"tier {tier_name!r}, interval at {start:.3f} s", sound, tier_name, start, end, label)
            if row is not None:
                parsed.rows.append(row)
    parsed.rows = merged(parsed.rows)
    return parsed
