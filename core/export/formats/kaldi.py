"""A Kaldi data folder, ``kaldi/`` in the split's folder: ``wav.scp``, ``segments`` (when segments are offsets into
whole files), ``utt2spk``, ``spk2utt`` and ``text``, each sorted as utils/validate_data_dir.sh checks (``LC_ALL=C
sort``: byte order, which is Python's order of str for UTF-8).

Ids follow Kaldi's advice: an utterance id starts with its speaker id (``<speaker>-<unit key>``), so utt2spk is
sorted by speaker as well; a sound without a known speaker is its own speaker (its recording id). ``wav.scp`` names
each file relative to the split's folder: a WAV file as it is, any other as a pipe through ``sox`` (FLAC through
``flac -d``), as Kaldi reads only WAV. Whitespace in ids and transcripts would split Kaldi's fields: ids have it
replaced by ``_``, transcripts collapse it to single spaces. The tables are kept in memory to be sorted: a line
per unit, far less than the export's audio.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable

from core.export.formats.target import Target, Written, write_file
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
        return f"flac -c -d -s {path} |"
    return f"sox {path} -t wav - |"


def tables(units: Iterable[Unit], offsets: bool) -> dict[str, list[str]]:
    """Each file's lines, sorted; ``segments`` only with offsets (then every utterance has a line there)."""
    wav: dict[str, str] = {}
    segments, utt2spk, text = [], [], []
    spk2utt: dict[str, list[str]] = defaultdict(list)
    for unit in units:
        rec, utt = rec_id(unit, offsets), utt_id(unit)
        wav[rec] = f"{rec} {_wav_entry(unit.audio_path)}"
        if offsets:
            segments.append(f"{utt} {rec} {unit.start or 0.0:.3f} {unit.end:.3f}")
        utt2spk.append(f"{utt} {_speaker(unit)}")
        spk2utt[_speaker(unit)].append(utt)
        text.append(f"{utt} {' '.join(unit.text.split())}".rstrip())
    files = {"wav.scp": sorted(wav.values()), "utt2spk": sorted(utt2spk), "text": sorted(text),
             "spk2utt": [f"{spk} {' '.join(sorted(utts))}" for spk, utts in sorted(spk2utt.items())]}
    if segments:
        files["segments"] = sorted(segments)
    return files


def write(target: Target, folder: str, units: Iterable[Unit], offsets: bool) -> list[Written]:
    return [write_file(target, f"{folder}kaldi/{name}", "".join(line + "\n" for line in lines))
            for name, lines in tables(units, offsets).items()]
