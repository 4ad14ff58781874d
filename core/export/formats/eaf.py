"""ELAN ``.eaf`` files, written with pympi-ling: ``eaf/<stem>.eaf`` per annotated sound in the split's folder,
linked to its audio by a relative media URL (``../audio/<name>``, one ``..`` more per folder of the stem).

Tiers per tag and person (``<tag> (<person>)``, the person its participant), and each person's transcripts in
``text (<person>)`` beside their tags, so a tagged segment keeps its text. ELAN's time-aligned tiers cannot
overlap, so a second overlapping annotation of one tier goes to ``<tier> 2``, and so on. Machine suggestions are
left out unless asked; asked for, their person is the suggesting analyzer (``source``).
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
    for annotation in sorted(annotations, key=lambda a: (a.start_seconds, a.id)):
        start = int(round(annotation.start_seconds * 1000))
        end = max(start + 1, int(round(annotation.end_seconds * 1000)))
        person = _person(annotation, authors)
        text = " ".join((annotation.text or "").split())
        values = [(tag, tag) for tag in annotation.tag_names] + ([("text", text)] if text else [])
        for label, value in values:
            tier = _free_tier(eaf, ends, f"{label} ({person})", start, person)
            eaf.add_annotation(tier, start, end, value)
            ends[tier] = end
    if "default" in eaf.tiers and not eaf.tiers["default"][0]:
        eaf.remove_tier("default")
    return Elan.to_string(eaf, encoding="UTF-8")


def _free_tier(eaf: Elan.Eaf, ends: dict[str, int], base: str, start: int, person: str) -> str:
    number = 1
    while True:
        name = base if number == 1 else f"{base} {number}"
        if name not in eaf.tiers:
            eaf.add_tier(name, part=person)
            return name
        if ends.get(name, 0) <= start:
            return name
        number += 1


def _mimetype(path: str) -> str:
    return {"wav": "audio/x-wav", "mp3": "audio/mpeg", "flac": "audio/flac", "ogg": "audio/ogg"}.get(
        path.rsplit(".", 1)[-1].lower(), "audio/*")


def write(target: Target, folder: str, sounds: Iterable[tuple[str, list[Annotation], str]], authors: dict[str, str]) -> list[Written]:
    """``sounds``: (stem, kept annotations, audio path relative to the split's folder) of each sound."""
    return [write_file(target, f"{folder}eaf/{stem}.eaf",
                       document(annotations, authors, posixpath.relpath(media, posixpath.dirname(f"eaf/{stem}.eaf"))))
            for stem, annotations, media in sounds if annotations]
