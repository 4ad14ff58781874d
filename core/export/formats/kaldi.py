"""A Kaldi data folder, ``kaldi/`` in the split's folder: ``wav.scp``, ``segments`` (when segments are offsets into
whole files), ``utt2spk``, ``spk2utt`` and ``text``, each sorted as utils/validate_data_dir.sh checks (``LC_ALL=C
sort``: byte order, which is Python's order of str for UTF-8).

Ids follow Kaldi's advice: an utterance id starts with its speaker id (``<speaker>-<unit key>``), so utt2spk is
sorted by speaker as well; a sound without a known speaker is its own speaker (its recording id). Whitespace in ids
and transcripts would split Kaldi's fields: ids have it replaced by ``_``, transcripts collapse it to single spaces.
The tables are kept in memory to be sorted: a line per unit, far less than the export's audio.

Units without text: validate_data_dir.sh wants ``text`` to list exactly utt2spk's utterances (and
utils/fix_data_dir.sh drops an utterance missing from any file), so an utterance with no words has no place in a
folder that has a ``text``. When some units have text, the folder holds only those (the others stay in NeMo,
Lhotse, Parquet and WebDataset); when none has, it holds every unit and no ``text`` file, as Kaldi's
speaker-recognition recipes do (validate with ``--no-text``).

``wav.scp``: Kaldi's recipes run from their own directory and their wav.scp files name audio by absolute path, so
written to a local folder each file is named by its absolute path; on S3 (or inside a download's ZIP) there is no
such path, and files are named relative to the split's folder (run Kaldi from there, or prefix the paths once
copied). A WAV file is named as it is, any other goes through a pipe (FLAC through ``flac -d``, the rest through
``sox``), its path shell-quoted, as Kaldi reads only WAV.
"""

from __future__ import annotations

import re
import shlex
from collections import defaultdict
from collections.abc import Iterable

from core.export.formats.target import LocalTarget, Target, Written, write_file
from core.export.formats.units import Unit

_SPACE = re.compile(r"\s+")


def _safe(text: str) -> str:
    return _SPACE.sub("_", text.strip()) or "_"


def rec_id(unit: Unit, offsets: bool) -> str:
    """Offsets: the sound's file is the recording; clips: each unit's file is a recording of its own."""
    return unit.sound.id if offsets else utt_id(unit)


def _speaker(unit: Unit) -> str:
    return _safe(unit.speaker) if unit.speaker else unit.sound.id


def utt_id(unit: Unit) -> str:
    return f"{_speaker(unit)}-{unit.key}"


def _wav_entry(path: str) -> str:
    lower = path.lower()
    if lower.endswith(".wav"):
        return path
    if lower.endswith(".flac"):
        return f"flac -c -d -s {shlex.quote(path)} |"
    return f"sox {shlex.quote(path)} -t wav - |"


def with_text(units: Iterable[Unit]) -> list[Unit]:
    """The units the folder holds (see the module's docstring): those with text, or all when none has."""
    units = list(units)
    worded = [unit for unit in units if unit.text.split()]
    return worded or units


def tables(units: Iterable[Unit], offsets: bool, audio_root: str = "") -> dict[str, list[str]]:
    """Each file's lines, sorted; ``segments`` only with offsets (then every utterance has a line there), ``text``
    only when units have text. ``audio_root``: what wav.scp puts before each path relative to the split's folder
    (the folder's absolute path and a ``/``, or nothing)."""
    wav: dict[str, str] = {}
    segments, utt2spk, text = [], [], []
    spk2utt: dict[str, list[str]] = defaultdict(list)
    for unit in with_text(units):
        rec, utt = rec_id(unit, offsets), utt_id(unit)
        wav[rec] = f"{rec} {_wav_entry(audio_root + unit.audio_path)}"
        if offsets:
            segments.append(f"{utt} {rec} {unit.start or 0.0:.3f} {unit.end:.3f}")
        utt2spk.append(f"{utt} {_speaker(unit)}")
        spk2utt[_speaker(unit)].append(utt)
        if unit.text.split():
            text.append(f"{utt} {' '.join(unit.text.split())}")
    files = {"wav.scp": sorted(wav.values()), "utt2spk": sorted(utt2spk),
             "spk2utt": [f"{spk} {' '.join(sorted(utts))}" for spk, utts in sorted(spk2utt.items())]}
    if text:
        files["text"] = sorted(text)
    if segments:
        files["segments"] = sorted(segments)
    return files


def audio_root(target: Target, folder: str) -> str:
    """What wav.scp's paths start with: the split folder's absolute path on a local folder, else nothing (relative
    to the split's folder: see the module's docstring)."""
    return f"{(target.root / folder).as_posix().rstrip('/')}/" if isinstance(target, LocalTarget) else ""


def write(target: Target, folder: str, units: Iterable[Unit], offsets: bool) -> list[Written]:
    return [write_file(target, f"{folder}kaldi/{name}", "".join(line + "\n" for line in lines))
            for name, lines in tables(units, offsets, audio_root(target, folder)).items()]
