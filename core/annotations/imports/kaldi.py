"""A Kaldi data folder: ``segments`` (``utt rec start end``), ``text`` (``utt words...``) and ``wav.scp``
(``rec path``, or ``rec command ... |`` whose audio file is the command's argument with an audio extension), as
Kaldi's data-preparation docs and utils/validate_data_dir.sh describe. Each utterance becomes an annotation whose
text is its transcript; without ``segments`` an utterance is a whole recording (its id is a wav.scp entry).
``wav.scp`` maps recordings to files (without it the recording id itself is matched). An utterance id's last
``-``-separated part is offered as a sound id (core/export/formats/kaldi.py names a sound nobody annotated
``<speaker>-<sound id>``): such an utterance over its whole sound is Earmark's line for that sound, its text the
sound's metadata, and no region (rows.ParsedRow's ``sound_row``)."""

from __future__ import annotations

from collections.abc import Callable

from core.annotations.imports.rows import Parsed, ParsedRow, RowError, RowProblem, decode, number, numbered_lines
from core.errors import ValidationError

FORMAT = "kaldi"
PARTS = ("segments", "text", "wav.scp")  # the files of a folder this reader reads
# The folder's other files (speakers, features, durations): no annotations in them, left alone when a folder is given
OTHER_PARTS = ("utt2spk", "spk2utt", "spk2gender", "utt2dur", "utt2num_frames", "reco2dur", "reco2file_and_channel",
               "feats.scp", "cmvn.scp", "frame_shift", "utt2lang", "utt2uniq")
AUDIO_SUFFIXES = (".wav", ".flac", ".mp3", ".ogg", ".opus", ".aif", ".aiff", ".sph", ".m4a")


def read(folder: str, files: dict[str, bytes]) -> Parsed:
    """``files``: the folder's parts by base name (``segments``, ``text``, ``wav.scp``)."""
    parsed = Parsed(f"{folder}segments" if "segments" in files else f"{folder}text", FORMAT)
    if "segments" not in files and not ("text" in files and "wav.scp" in files):
        raise ValidationError("file", f"A Kaldi folder needs segments (with text), or text with wav.scp; {folder or 'this one'} "
                                      f"has only {', '.join(sorted(files))}.")
    recordings = _table(folder, "wav.scp", files, _audio_path, parsed) if "wav.scp" in files else {}
    texts = _table(folder, "text", files, lambda rest: rest, parsed) if "text" in files else {}
    if "segments" in files:
        for line_number, line in numbered_lines(decode(f"{folder}segments", files["segments"])):
            try:
                parsed.rows.append(_segment(line_number, line, recordings, texts))
            except RowError as exc:
                parsed.problem(f"line {line_number}", str(exc))
    else:
        for utterance, (where, text) in texts.items():
            if utterance not in recordings:
                parsed.problems.append(_text_problem(folder, where, f"utterance {utterance!r} is not a recording of wav.scp."))
                continue
            parsed.rows.append(ParsedRow(where, recordings[utterance][1], 0.0, None, (), text, sound_id=_sound_hint(utterance),
                                         sound_row=True))
    return parsed.refuse_if_unreadable("a Kaldi data folder")


def _text_problem(folder: str, where: str, reason: str) -> RowProblem:
    return RowProblem(f"{folder}text", where, reason)


def _table(folder: str, part: str, files: dict[str, bytes], value: Callable[[str], str], parsed: Parsed) -> dict[str, tuple[str, str]]:
    """``id rest`` lines as {id: (where, value(rest))}; a line that gives no value is a problem of that file."""
    table: dict[str, tuple[str, str]] = {}
    for line_number, line in numbered_lines(decode(f"{folder}{part}", files[part])):
        key, _, rest = line.strip().partition(" ")
        try:
            table[key] = (f"line {line_number}", value(rest.strip()))
        except RowError as exc:
            parsed.problems.append(RowProblem(f"{folder}{part}", f"line {line_number}", str(exc)))
    return table


def _audio_path(rest: str) -> str:
    if not rest:
        raise RowError("a wav.scp line is a recording id and its file.")
    if not rest.endswith("|"):
        return rest
    found = [token for token in rest.split() if token.lower().endswith(AUDIO_SUFFIXES)]
    if not found:
        raise RowError("this command names no audio file (an argument ending in .wav, .flac, ...).")
    return found[0]


def _segment(line_number: int, line: str, recordings: dict[str, tuple[str, str]], texts: dict[str, tuple[str, str]]) -> ParsedRow:
    fields = line.split()
    if len(fields) != 4:
        raise RowError(f"a segments line is: utterance recording start end (4 fields), this one has {len(fields)}.")
    utterance, recording = fields[0], fields[1]
    start, end = number(fields[2], "the start"), number(fields[3], "the end")
    if texts and utterance not in texts:
        raise RowError(f"utterance {utterance!r} has no line in text.")
    reference = recordings[recording][1] if recording in recordings else recording
    if recordings and recording not in recordings:
        raise RowError(f"recording {recording!r} is not in wav.scp.")
    return ParsedRow(f"line {line_number}", reference, start, end, (), texts[utterance][1] if utterance in texts else None,
                     sound_id=_sound_hint(utterance), sound_row=True)


def _sound_hint(utterance: str) -> str | None:
    """The sound id an Earmark utterance id ends with, if it is one (see the module's docstring)."""
    return utterance.rsplit("-", 1)[1] if "-" in utterance else None
