"""Audacity label tracks (File > Export > Labels): ``start<TAB>end<TAB>label`` a line, times in seconds; a line
starting with a backslash holds the frequency range of the label before it (Audacity 2.x+) and is skipped.

The file names its sound: ``labels/speaker1/a.txt`` is the track of ``speaker1/a.wav``. core/export/subset.py writes
two tracks a sound: ``labels/<stem>.txt``, whose label is the tags separated by ``;`` (or, without tags, the
transcript), and ``transcripts/<stem>.txt`` with the transcripts. A track in a ``transcripts`` folder gives text;
any other gives tags; imported together (:func:`paired`), a transcript joins the tags of the label with the same
span, and a label that only repeated the transcript (the writer's stand-in for missing tags) is dropped."""

from __future__ import annotations

from pathlib import PurePosixPath

from core.annotations.imports.rows import Parsed, ParsedRow, RowError, decode, number, numbered_lines

FORMAT = "audacity"
TRACK_FOLDERS = ("labels", "transcripts")


def track(name: str) -> tuple[str, bool]:
    """(the sound the track is of, whether it holds transcripts): the name without ``.txt`` and without the folders
    up to a ``labels`` or ``transcripts`` one."""
    parts = PurePosixPath(name.replace("\\", "/")).parts
    folders = [i for i, part in enumerate(parts[:-1]) if part in TRACK_FOLDERS]
    transcripts = bool(folders) and parts[folders[-1]] == "transcripts"
    sound = "/".join(parts[folders[-1] + 1:] if folders else parts)
    return (sound[: -len(".txt")] if sound.lower().endswith(".txt") else sound), transcripts


def transcripts_beside(folder: PurePosixPath) -> PurePosixPath | None:
    """The ``transcripts/`` folder an export writes beside ``labels/`` (core/export/subset.py's _audacity), for a
    ``labels`` folder given alone: read with it, :func:`paired` gives each label its text, as when both are given
    (or dropped together on the Upload page)."""
    return folder.parent / "transcripts" if folder.name == "labels" else None


def read(name: str, data: bytes) -> Parsed:
    parsed = Parsed(name, FORMAT)
    sound, transcripts = track(name)
    for line_number, line in numbered_lines(decode(name, data)):
        if line.startswith("\\"):
            continue
        try:
            parsed.rows.append(_row(line_number, line, sound, transcripts))
        except RowError as exc:
            parsed.problem(f"line {line_number}", str(exc))
    return parsed.refuse_if_unreadable("an Audacity label track")


def _row(line_number: int, line: str, sound: str, transcripts: bool) -> ParsedRow:
    fields = line.rstrip("\r\n").split("\t")
    if len(fields) < 2:
        raise RowError("an Audacity label is start, end and label separated by tabs.")
    start, end = number(fields[0], "the start"), number(fields[1], "the end")
    label = " ".join("\t".join(fields[2:]).split())
    if transcripts:
        return ParsedRow(f"line {line_number}", sound, start, end, (), label or None)
    return ParsedRow(f"line {line_number}", sound, start, end, tuple(t.strip() for t in label.split(";") if t.strip()))


def paired(found: list[Parsed]) -> list[Parsed]:
    """Each transcript track joined to the label track of the same sound, when both are imported."""
    labels = {track(p.file)[0]: p for p in found if p.format == FORMAT and not track(p.file)[1]}
    kept: list[Parsed] = []
    for parsed in found:
        sound, transcripts = track(parsed.file) if parsed.format == FORMAT else ("", False)
        if transcripts and sound in labels:
            _join(labels[sound], parsed)
        else:
            kept.append(parsed)
    return kept


def _join(labels: Parsed, transcripts: Parsed) -> None:
    by_span = {(round(r.start, 6), round(r.end or 0, 6)): i for i, r in enumerate(labels.rows)}
    for row in transcripts.rows:
        i = by_span.pop((round(row.start, 6), round(row.end or 0, 6)), None)
        if i is None:
            labels.rows.append(row)
            continue
        tags = labels.rows[i].tags
        if row.text and [t.lower() for t in tags] == [row.text.lower()]:
            tags = ()  # the label only repeated the transcript
        labels.rows[i] = ParsedRow(labels.rows[i].where, labels.rows[i].reference, row.start, row.end, tags, row.text)
    labels.problems += transcripts.problems
