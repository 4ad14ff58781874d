"""ELAN annotation documents (.eaf), read by pympi-ling: each tier's annotations as in
core/annotations/imports/tiers.py (a tier's name a tag, its values text; a transcript tier text alone); a
reference tier's annotations take their parent's times, so a transcript tier under a speaker tier gives that
speaker's segments their text. Times are ELAN's milliseconds. The sound is the document's first media file
(MEDIA_URL or RELATIVE_MEDIA_URL), else the .eaf's own name.

Values with the same times merge into one annotation (rows.merged). In a document Earmark wrote (its AUTHOR
``earmark``: core/export/formats/eaf.py) they merge only within one person's tiers of one number (``<label>
(<person>) <n>``), which is how that writer keeps each annotation's values together and apart from another's with
the same times."""

from __future__ import annotations

import re
import tempfile
import warnings
from typing import Any

from pympi.Elan import Eaf

from core.annotations.imports.rows import Parsed, merged
from core.annotations.imports.tiers import tier_row
from core.errors import ValidationError

FORMAT = "eaf"
WRITER = "earmark"  # the AUTHOR core/export/formats/eaf.py gives its documents
_EARMARK_TIER = re.compile(r"^.+ \((?P<person>[^()]+)\)(?: (?P<number>\d+))?$")  # "<label> (<person>)[ <n>]"


def read(name: str, data: bytes) -> Parsed:
    if b"ANNOTATION_DOCUMENT" not in data[:2000]:
        raise ValidationError("file", f"{name} is not an ELAN document (no ANNOTATION_DOCUMENT element at its start).")
    document = _parse(name, data)
    sound = _media(document) or (name[: -len(".eaf")] if name.lower().endswith(".eaf") else name)
    parsed = Parsed(name, FORMAT)
    groups: dict[int, tuple[str, int] | None] = {}  # id of a row -> its annotation's (person, number) in Earmark's layout
    earmark = document.adocument.get("AUTHOR") == WRITER
    for tier in document.get_tier_names():
        try:
            entries = document.get_annotation_data_for_tier(tier)  # a reference tier's with its parents' times
        except KeyError as exc:
            parsed.problem(f"tier {tier!r}", f"it refers to an annotation or time slot the document lacks ({exc}); left out.")
            continue
        for entry in entries:
            start_ms, end_ms, value = entry[0], entry[1], entry[2]
            if start_ms is None or end_ms is None:
                parsed.problem(f"tier {tier!r}", f"an annotation ({str(value)[:30]!r}) has no time; it is left out.")
                continue
            row = tier_row(f"tier {tier!r}, annotation at {start_ms / 1000:.3f} s", sound, tier, start_ms / 1000,
                           end_ms / 1000, str(value or ""))
            if row is not None:
                parsed.rows.append(row)
                groups[id(row)] = _group(tier) if earmark else None
    parsed.rows = merged(parsed.rows, key=lambda row: (row.reference, round(row.start, 6), round(row.end or 0, 6),
                                                       row.channel, groups[id(row)]))
    return parsed


def _group(tier: str) -> tuple[str, int] | None:
    """(person, number) of a tier named as core/export/formats/eaf.py names them; None for another name."""
    found = _EARMARK_TIER.match(" ".join(tier.split()))
    return (found.group("person"), int(found.group("number") or 1)) if found else None


def _parse(name: str, data: bytes) -> Any:
    """pympi reads from a path (its parser calls ``str`` on what it is given)."""
    with tempfile.NamedTemporaryFile(suffix=".eaf") as tmp:
        tmp.write(data)
        tmp.flush()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # an unknown EAF version is read all the same
                return Eaf(tmp.name)
        except Exception as exc:  # pympi raises bare Exceptions and KeyErrors for a broken document
            raise ValidationError("file", f"{name} is not a readable ELAN document ({type(exc).__name__}: {str(exc)[:120]}).") from None


def _media(document: Any) -> str | None:
    for media in document.media_descriptors:
        url = media.get("RELATIVE_MEDIA_URL") or media.get("MEDIA_URL")
        if url:
            return str(url).removeprefix("file://").removeprefix("./")
    return None
