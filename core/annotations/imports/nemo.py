"""NeMo manifests: JSON lines, one utterance an object with ``audio_filepath``, ``duration`` (seconds), ``offset``
(seconds into the file, 0 when absent: NeMo's segment manifests) and ``text``; a ``label`` (NeMo's speech
classification manifests) becomes a tag, as does a ``tags`` list or ``;``-separated string, and Earmark's own
``sound_id`` (core/export/formats/nemo.py) names the sound when it is in the dataset; Earmark's ``source_offset``
(a clip's start in that sound, its ``audio_filepath`` being the clip) is added to ``offset``, so a segment exported
as a clip comes back at its time in the sound. Earmark writes every segment with an ``offset`` or ``source_offset``,
so its row with ``sound_id`` and neither is a sound nobody annotated: its ``text`` is the sound's metadata and its
``tags`` the sound's own, not a region's, and it comes back as a whole-file row without tag or text (the import
counts it apart); a row of a clip without ``source_offset`` (written before Earmark wrote it) has no known time in
its sound and is left out, named. NeMo's own reader is
nemo.collections.asr's manifest code (needs PyTorch); the fields are the ones its documentation lists."""

from __future__ import annotations

import json
from typing import Any

from core.annotations.imports.rows import Parsed, ParsedRow, RowError, decode, number, numbered_lines

FORMAT = "nemo"
CLIPS = "clips/"  # where core/export/formats/units.py puts clips, relative to the manifest


def read(name: str, data: bytes) -> Parsed:
    parsed = Parsed(name, FORMAT)
    for line_number, line in numbered_lines(decode(name, data)):
        try:
            parsed.rows.append(_row(line_number, line))
        except RowError as exc:
            parsed.problem(f"line {line_number}", str(exc))
    return parsed.refuse_if_unreadable("a NeMo manifest")


def _row(line_number: int, line: str) -> ParsedRow:
    try:
        item: Any = json.loads(line)
    except json.JSONDecodeError as exc:
        raise RowError(f"not a JSON object ({exc.msg}).") from None
    if not isinstance(item, dict):
        raise RowError("a NeMo manifest line is a JSON object.")
    if not item.get("audio_filepath"):
        raise RowError("audio_filepath is missing.")
    if "duration" not in item:
        raise RowError("duration is missing.")
    start = number(item.get("offset") or 0, "offset") + number(item.get("source_offset") or 0, "source_offset")
    end = start + number(item["duration"], "duration")
    sound_id = str(item["sound_id"]) if item.get("sound_id") else None
    if sound_id and "offset" not in item and "source_offset" not in item:
        return _whole_sound(line_number, str(item["audio_filepath"]), sound_id)
    tags = item.get("tags") or []
    if isinstance(tags, str):
        tags = tags.split(";")
    if item.get("label"):
        tags = [*tags, str(item["label"])]
    text = item.get("text") or item.get("pred_text")
    return ParsedRow(f"line {line_number}", str(item["audio_filepath"]), start, end,
                     tuple(str(t).strip() for t in tags if str(t).strip()), str(text) if text else None, sound_id=sound_id)


def _whole_sound(line_number: int, path: str, sound_id: str) -> ParsedRow:
    """Earmark's row of a sound without annotations (see the module's docstring): no region of its own."""
    if path.startswith(CLIPS):
        raise RowError(f"{path} is a clip without source_offset (an Earmark export older than that field): its time "
                       "in its sound is unknown; export the clips again.")
    return ParsedRow(f"line {line_number}", path, 0.0, None, (), None, sound_id=sound_id, sound_row=True)
