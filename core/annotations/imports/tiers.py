"""Tiers of timed labels (Praat TextGrid, ELAN) as annotations: a tier's name becomes a tag and its label the text,
as core/export/subset.py lays TextGrids out: one tier per tag whose intervals repeat the tag (``dog``, with
``dog-2``, ``dog-3`` for overlapping ones), and transcripts in a tier of their own (:data:`TEXT_TIERS`). An interval
labelled with its own tier's name is that tag alone; a label on a transcript tier is text alone; any other label on
a tier ``words`` is the tag ``words`` with that label as its text. Intervals of several tiers with the same span
merge into one annotation (core/annotations/imports/rows.py: merged)."""

from __future__ import annotations

import re

from core.annotations.imports.rows import ParsedRow

TEXT_TIERS = ("text", "transcript", "transcription", "transcripts", "ortho", "orthography")
_NUMBERED = re.compile(r"^(.+)-(\d+)$")  # the writer's tier for overlapping intervals of one tag


def tier_row(where: str, reference: str, tier: str, start: float, end: float, label: str) -> ParsedRow | None:
    """The row of one labelled interval; None for an empty label (Praat's unlabelled stretches)."""
    label = " ".join(label.split())
    if not label:
        return None
    base = tier.strip()
    numbered = _NUMBERED.match(base)
    if numbered and (numbered.group(1).lower() in TEXT_TIERS or label.lower() == numbered.group(1).lower()):
        base = numbered.group(1)
    if base.lower() in TEXT_TIERS:
        return ParsedRow(where, reference, start, end, (), label)
    if label.lower() == base.lower():
        return ParsedRow(where, reference, start, end, (base,))
    return ParsedRow(where, reference, start, end, (base,), label)
