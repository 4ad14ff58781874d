"""ELAN ``.eaf`` files, written with pympi-ling: ``eaf/<stem>.eaf`` per annotated sound in the split's folder,
linked to its audio by a relative media URL (``../audio/<name>``, one ``..`` more per folder of the stem).

Tiers per tag and person (``<tag> (<person>)``, the person its participant), and each person's transcripts in
``text (<person>)`` beside their tags, so a tagged segment keeps its text. ELAN's time-aligned tiers cannot
overlap, so a second overlapping annotation of one tier goes to ``<tier> 2``, and so on; all the tiers of one
annotation carry the same number, and a person's second annotation with the same times as another takes the next
number, so core/annotations/imports/eaf.py puts together exactly the values of one annotation (a tag-only and a
text-only region with the same times come back as two). Machine suggestions are left out unless asked; asked for,
their person is the suggesting analyzer (``source``).
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable

from pympi import Elan

from core.export.formats.target import Target, Written, write_file
from core.store.models import Annotation


def _person(annotation: Annotation, authors: dict[str, str]) -> str:
    if annotation.source:
        return annotation.source.split(":")[0]
    return authors.get(annotation.created_by, annotation.created_by)


def document(annotations: list[Annotation], authors: dict[str, str], media: str) -> bytes:
    eaf = Elan.Eaf(author="earmark")
    eaf.add_linked_file(media.rsplit("/", 1)[-1], relpath=media, mimetype=_mimetype(media))
    ends: dict[str, int] = {}  # tier -> end of its last annotation (ms)
    numbers: dict[tuple[str, int, int], int] = {}  # (person, start, end) -> the number its last annotation took
    for annotation in sorted(annotations, key=lambda a: (a.start_seconds, a.id)):
        start = int(round(annotation.start_seconds * 1000))
        end = max(start + 1, int(round(annotation.end_seconds * 1000)))
        person = _person(annotation, authors)
        text = " ".join((annotation.text or "").split())
        values = [(tag, tag) for tag in annotation.tag_names] + ([("text", text)] if text else [])
        bases = [f"{label} ({person})" for label, _ in values]
        number = _free_number(ends, bases, start, numbers.get((person, start, end), 0) + 1)
        numbers[(person, start, end)] = number
        for base, (_, value) in zip(bases, values, strict=True):
            tier = tier_name(base, number)
            if tier not in eaf.tiers:
                eaf.add_tier(tier, part=person)
            eaf.add_annotation(tier, start, end, value)
            ends[tier] = end
    if "default" in eaf.tiers and not eaf.tiers["default"][0]:
        eaf.remove_tier("default")
    return Elan.to_string(eaf, encoding="UTF-8")


def tier_name(base: str, number: int) -> str:
    return base if number == 1 else f"{base} {number}"


def _free_number(ends: dict[str, int], bases: list[str], start: int, least: int) -> int:
    """The first number from ``least`` whose tiers of ``bases`` are all free at ``start`` (new, or ended before)."""
    number = least
    while any(ends.get(tier_name(base, number), 0) > start for base in bases):
        number += 1
    return number


def _mimetype(path: str) -> str:
    return {"wav": "audio/x-wav", "mp3": "audio/mpeg", "flac": "audio/flac", "ogg": "audio/ogg"}.get(
        path.rsplit(".", 1)[-1].lower(), "audio/*")


def write(target: Target, folder: str, sounds: Iterable[tuple[str, list[Annotation], str]], authors: dict[str, str]) -> list[Written]:
    """``sounds``: (stem, kept annotations, audio path relative to the split's folder) of each sound."""
    return [write_file(target, f"{folder}eaf/{stem}.eaf",
                       document(annotations, authors, posixpath.relpath(media, posixpath.dirname(f"eaf/{stem}.eaf"))))
            for stem, annotations, media in sounds if annotations]
