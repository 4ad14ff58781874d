"""Label Studio's JSON export of audio tasks, and Earmark's own annotations.json (core/export/subset.py), which uses
Label Studio's region fields.

Label Studio: a list of tasks, each ``{"data": {"audio": URL}, "annotations": [{"result": [...]}]}`` (``predictions``
too when asked); a result of ``type`` ``labels`` holds ``value: {start, end, channel, labels}`` and one of ``textarea``
(per region) ``value: {start, end, text: [...]}`` with the same region ``id``: the two make one annotation. An
uploaded file's URL (``/data/upload/3/8f2c1a7e-a.wav``) names it with Label Studio's 8-hex prefix, which matching
looks past (core/annotations/imports/matching.py). Earmark's annotations.json: a list of regions, each with
``file_name`` (or ``sound_id``), ``start``, ``end``, ``channel``, ``labels`` and ``text``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from core.annotations.imports.rows import Parsed, ParsedRow, RowError, decode, merged, number
from core.errors import ValidationError

FORMAT = "labelstudio"


def read(name: str, data: bytes) -> Parsed:
    try:
        document = json.loads(decode(name, data))
    except json.JSONDecodeError as exc:
        raise ValidationError("file", f"{name} is not JSON (line {exc.lineno}: {exc.msg}).") from None
    tasks = document if isinstance(document, list) else [document]
    if not all(isinstance(task, dict) for task in tasks):
        raise ValidationError("file", f"{name} is not a Label Studio export: it must be a list of tasks (JSON objects).")
    parsed = Parsed(name, FORMAT)
    for number_, task in enumerate(tasks, 1):
        for where, item in _regions(number_, task):
            try:
                parsed.rows.append(_row(where, item))
            except RowError as exc:
                parsed.problem(where, str(exc))
    parsed.rows = merged(parsed.rows, key=lambda r: (r.reference, r.sound_id, r.where))
    return parsed.refuse_if_unreadable("a Label Studio export")


def _regions(number_: int, task: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Each region of a task as (where, flat fields), results of one region id sharing their ``where``."""
    if "start" in task and ("file_name" in task or "sound_id" in task or "audio" in task):  # Earmark's annotations.json
        yield f"region {number_}", {"reference": task.get("file_name") or task.get("audio") or task.get("sound_id"),
                                    "sound_id": task.get("sound_id"), **task}
        return
    audio = _audio(task)
    results = [(f"task {task.get('id', number_)}", r) for a in task.get("annotations") or [] if isinstance(a, dict)
               for r in a.get("result") or []]
    if not results and "data" not in task:
        yield f"task {number_}", {}
        return
    for where, result in results:
        if not isinstance(result, dict) or not isinstance(result.get("value"), dict):
            yield where, {}
            continue
        if result.get("type") in ("choices", "rating", "number") and "start" not in result["value"]:
            continue  # about the whole task, not a region
        region = f"{where}, region {result.get('id', '?')}"
        yield region, {"reference": audio, **result["value"]}


def _audio(task: dict[str, Any]) -> str:
    data: dict[str, Any] = task["data"] if isinstance(task.get("data"), dict) else {}
    values = [v for v in data.values() if isinstance(v, str)]
    return str(data.get("audio") or data.get("audio_url") or (values[0] if values else ""))


def _row(where: str, item: dict[str, Any]) -> ParsedRow:
    reference = str(item.get("reference") or "")
    if not reference:
        raise RowError("it names no audio (Label Studio: data.audio; annotations.json: file_name or sound_id).")
    if "start" not in item or "end" not in item:
        raise RowError("a region needs start and end (seconds).")
    start, end = number(item["start"], "start"), number(item["end"], "end")
    labels = item.get("labels") or []
    text = item.get("text")
    if isinstance(text, list):
        text = " ".join(str(t) for t in text if t)
    channel = item.get("channel")
    if channel not in (None, "") and not (isinstance(channel, int) and channel >= 0):
        raise RowError(f"channel must be a whole number from 0, not {channel!r}.")
    if not isinstance(labels, list):
        raise RowError(f"labels must be a list, not {type(labels).__name__}.")
    return ParsedRow(where, reference, start, end, tuple(str(label) for label in labels), str(text) if text else None,
                     channel if channel not in (None, "") else None, item.get("sound_id") or None)
