"""Which reader a file goes to: by its extension, and where that says too little (``.txt``, ``.json``, no
extension) by its first bytes; ``format`` given by the person overrides both. A Kaldi folder's parts (segments,
text, wav.scp) given together are one input, grouped by their folder."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePosixPath

from core.annotations.imports import audacity, eaf, kaldi, labelstudio, nemo, rttm, table, textgrid
from core.annotations.imports.rows import Parsed
from core.errors import ValidationError

READERS: dict[str, Callable[[str, bytes], Parsed]] = {
    rttm.FORMAT: rttm.read, textgrid.FORMAT: textgrid.read, audacity.FORMAT: audacity.read, eaf.FORMAT: eaf.read,
    table.FORMAT: table.read, labelstudio.FORMAT: labelstudio.read, nemo.FORMAT: nemo.read,
}
FORMATS = (*READERS, kaldi.FORMAT)
BY_SUFFIX = {".rttm": rttm.FORMAT, ".textgrid": textgrid.FORMAT, ".eaf": eaf.FORMAT, ".csv": table.FORMAT,
             ".tsv": table.FORMAT, ".jsonl": nemo.FORMAT, ".ndjson": nemo.FORMAT}
_AUDACITY_LINE = re.compile(r"^\s*\d+(\.\d*)?\s*\t\s*\d+(\.\d*)?(\t|\s*$)")


@dataclass(frozen=True)
class ImportFile:
    """One file to import: its name as given (a path, or an upload's file name) and its bytes."""

    name: str
    data: bytes


def check_format(value: str | None) -> str | None:
    if value in (None, ""):
        return None
    if value not in FORMATS:
        raise ValidationError("format", f"Unknown annotation format {value!r}: choose from {', '.join(FORMATS)}.")
    return value


def read_files(files: list[ImportFile], fmt: str | None = None) -> list[Parsed]:
    """Every file read by its reader (a file that is not its format at all raises, naming it)."""
    fmt = check_format(fmt)
    parts: dict[str, dict[str, bytes]] = {}
    parsed: list[Parsed] = []
    for file in files:
        path = PurePosixPath(file.name.replace("\\", "/"))
        if fmt in (None, kaldi.FORMAT) and path.name in kaldi.OTHER_PARTS:
            continue  # a Kaldi folder's speakers, features or durations: nothing to import
        if fmt in (None, kaldi.FORMAT) and path.name in kaldi.PARTS:
            folder = "" if str(path.parent) == "." else f"{path.parent}/"
            parts.setdefault(folder, {})[path.name] = file.data
            continue
        if fmt == kaldi.FORMAT:
            raise ValidationError("file", f"{file.name} is not part of a Kaldi folder (segments, text, wav.scp).")
        parsed.append(READERS[fmt or detect(file)](file.name, file.data))
    parsed += [kaldi.read(folder, found) for folder, found in parts.items()]
    return audacity.paired(parsed)


def detect(file: ImportFile) -> str:
    """The format of one file, or ValidationError asking for --format."""
    suffix = PurePosixPath(file.name).suffix.lower()
    if suffix in BY_SUFFIX:
        return BY_SUFFIX[suffix]
    head = file.data[:4096].replace(b"\x00", b"").decode("utf-8", "replace").lstrip("\ufeff \t\r\n")
    first = head.split("\n", 1)[0]
    if "ooTextFile" in first:
        return textgrid.FORMAT
    if "ANNOTATION_DOCUMENT" in head[:2000]:
        return eaf.FORMAT
    if head.startswith(("[", "{")):
        return _json_kind(file)
    if first.split() and first.split()[0].upper() in rttm.SEGMENT_TYPES | {"SPKR-INFO"}:
        return rttm.FORMAT
    if _AUDACITY_LINE.match(first):
        return audacity.FORMAT
    if suffix != ".txt" and first.count(",") >= 2:
        return table.FORMAT
    raise ValidationError("format", f"Cannot tell the annotation format of {file.name}: name it with --format (API: format), "
                                    f"one of {', '.join(FORMATS)}.")


def _json_kind(file: ImportFile) -> str:
    """One JSON document is Label Studio's (or Earmark's annotations.json); a JSON object a line is a NeMo manifest."""
    if file.data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"["):
        return labelstudio.FORMAT
    try:
        document = json.loads(file.data)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return nemo.FORMAT
    return nemo.FORMAT if isinstance(document, dict) and "audio_filepath" in document else labelstudio.FORMAT
