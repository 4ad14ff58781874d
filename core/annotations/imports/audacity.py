"""Audacity label tracks (File > Export > Labels): ``start<TAB>end<TAB>label`` a line, times in seconds; a line
starting with a backslash holds the frequency range of the label before it (Audacity 2.x+) and is skipped. The
label's parts separated by ``;`` are tags, as core/export/subset.py writes an annotation's tags; a label with
``|`` keeps the part after it as the text (``tag;tag|transcript``). The file names its sound: a file named
``speaker1/a.txt`` goes on the sound ``speaker1/a.wav`` (the writer's ``labels/<stem>.txt``)."""

from __future__ import annotations

from core.annotations.imports.rows import Parsed, ParsedRow, RowError, decode, number, numbered_lines

FORMAT = "audacity"


def read(name: str, data: bytes, reference: str | None = None) -> Parsed:
    """``reference``: the sound the labels are of (default: the file's name, its ``.txt`` taken off)."""
    parsed = Parsed(name, FORMAT)
    sound = reference or (name[: -len(".txt")] if name.lower().endswith(".txt") else name)
    for line_number, line in numbered_lines(decode(name, data)):
        if line.startswith("\\"):
            continue
        try:
            parsed.rows.append(_row(line_number, line, sound))
        except RowError as exc:
            parsed.problem(f"line {line_number}", str(exc))
    return parsed.refuse_if_unreadable("an Audacity label track")


def _row(line_number: int, line: str, sound: str) -> ParsedRow:
    fields = line.rstrip("\r\n").split("\t")
    if len(fields) < 2:
        raise RowError("an Audacity label is start, end and label separated by tabs.")
    start, end = number(fields[0], "the start"), number(fields[1], "the end")
    label = "\t".join(fields[2:]).strip()
    tags, _, text = label.partition("|") if "|" in label else (label, "", "")
    return ParsedRow(f"line {line_number}", sound, start, end, tuple(t.strip() for t in tags.split(";") if t.strip()),
                     text.strip() or None)
