"""NIST RTTM (Rich Transcription Time Marked): ``TYPE FILE CHNL TBEG TDUR ORTHO STYPE NAME CONF [SLAT]``, one
segment a line, fields split on whitespace (NIST's RT-09 evaluation plan, appendix A; what pyannote and other
diarization systems write). A segment's NAME (else its STYPE) becomes a tag and a LEXEME's ORTHO its text;
``*-INFO`` lines describe and are skipped. The file id is matched to a sound by path or stem, ``%XX`` decoded as
core/export/subset.py's writer encodes whitespace; channel 1 (the usual, and what that writer says) is no channel
of its own, channel N > 1 is Earmark's channel N-1. Lines of one segment (the writer's one line per tag) merge."""

from __future__ import annotations

from urllib.parse import unquote

from core.annotations.imports.rows import Parsed, ParsedRow, RowError, decode, merged, number, numbered_lines

FORMAT = "rttm"
SEGMENT_TYPES = {"SEGMENT", "SPEAKER", "LEXEME", "NON-LEX", "NON-SPEECH", "FILLER", "NOSCORE", "NO_RT_METADATA", "SU",
                 "CB", "IP", "EDIT", "A/P"}
MISSING = {"<NA>", "<na>", "NA", ""}


def read(name: str, data: bytes) -> Parsed:
    parsed = Parsed(name, FORMAT)
    for line_number, line in numbered_lines(decode(name, data)):
        if line.lstrip().startswith((";;", "#")):
            continue
        try:
            row = _row(line_number, line.split())
        except RowError as exc:
            parsed.problem(f"line {line_number}", str(exc))
            continue
        if row is not None:
            parsed.rows.append(row)
    parsed.rows = merged(parsed.rows)
    return parsed.refuse_if_unreadable("an RTTM file")


def _row(line_number: int, fields: list[str]) -> ParsedRow | None:
    kind = fields[0].upper()
    if kind.endswith("-INFO"):
        return None
    if kind not in SEGMENT_TYPES:
        raise RowError(f"{fields[0][:30]!r} is not an RTTM segment type (SPEAKER, LEXEME, NON-SPEECH, ...).")
    if len(fields) < 9:
        raise RowError(f"an RTTM line has 9 or 10 fields separated by spaces, this one {len(fields)}.")
    start, duration = number(fields[3], "the onset (field 4)"), number(fields[4], "the duration (field 5)")
    channel = None if fields[2] in MISSING | {"1"} else _channel(fields[2])
    ortho, subtype, label = (None if f in MISSING else f for f in fields[5:8])
    tag = label or subtype or ("" if ortho else kind.lower())
    return ParsedRow(f"line {line_number}", unquote(fields[1]), start, start + duration,
                     (tag,) if tag else (), ortho if kind == "LEXEME" else None, channel)


def _channel(value: str) -> int:
    try:
        channel = int(value)
    except ValueError:
        raise RowError(f"the channel (field 3) must be a whole number from 1, not {value[:20]!r}.") from None
    if channel < 1:
        raise RowError(f"the channel (field 3) must be a whole number from 1, not {channel}.")
    return channel - 1
