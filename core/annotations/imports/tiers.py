"""Tiers of timed labels (Praat TextGrid, ELAN) as annotations: a tier's name becomes a tag and its label the text.

Earmark's writers lay tiers out so that this gives back what they wrote: core/export/subset.py's TextGrids have one
tier per tag whose intervals repeat the tag (``dog``, and ``dog-2``, ``dog-3`` for overlapping ones) and the
transcripts in tier ``text``; core/export/formats/eaf.py's ELAN documents name a tier ``<tag> (<person>)`` or
``text (<person>)``, with `` 2``, `` 3`` for overlapping ones. So a tier's name is read without such a numbering
and without a trailing ``(person)``: an interval labelled with that name is the tag alone, a label on a transcript
tier (:data:`TEXT_TIERS`) is text alone, and any other label on a tier ``words`` is the tag ``words`` with the label
as its text. Intervals of several tiers with the same span merge into one annotation (rows.merged)."""

from __future__ import annotations

import re

from core.annotations.imports.rows import ParsedRow

TEXT_TIERS = ("text", "transcript", "transcription", "transcripts", "ortho", "orthography")
_NUMBERED = re.compile(r"^(.+?)(?:-| )(\d+)$")  # a writer's tier for overlapping intervals of one tag
_PERSON = re.compile(r"^(.+?) \([^()]+\)$")  # core/export/formats/eaf.py: "<tag> (<person>)"


def names(tier: str) -> list[str]:
    """The tier's name, then without its numbering, then without its person: the names it may stand for."""
    found = [" ".join(tier.split())]
    for pattern in (_NUMBERED, _PERSON):
        matched = pattern.match(found[-1])
        if matched:
            found.append(matched.group(1))
    return found


def tier_row(where: str, reference: str, tier: str, start: float, end: float, label: str) -> ParsedRow | None:
    """The row of one labelled interval; None for an empty label (Praat's unlabelled stretches)."""
    label = " ".join(label.split())
    if not label:
        return None
    candidates = names(tier)
    for name in candidates:
        if name.lower() in TEXT_TIERS:
            return ParsedRow(where, reference, start, end, (), label)
        if name.lower() == label.lower():
            return ParsedRow(where, reference, start, end, (name,))
    return ParsedRow(where, reference, start, end, (candidates[0],), label)
