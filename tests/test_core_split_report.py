"""What a split export reports (core/export/splits.py's leakage report, shares and manifest; the command line's lines):
transcripts kept in the metadata compared across splits, examples naming files, each split's share met (and an
empty split named) for the ZIP and the training formats alike, and a manifest request that says what was exported."""

from __future__ import annotations

import io
import json

from core.catalogue.search import CatalogueQuery
from core.cli import main
from core.export.splits import SplitRule, assign, leakage, parse_shares
from core.ingest.pipeline import UploadOptions, ingest_audio
from tests.conftest import make_user, wav_bytes


def _sound(earmark, user, path, dataset, fields, freq):
    result = ingest_audio(earmark.db, earmark.storage, user, path, io.BytesIO(wav_bytes(seconds=0.3, freq=freq)),
                          UploadOptions(dataset=dataset, max_bytes=10**8), fields)
    assert result.status == "stored", result
    return result.sound_id


def _readers(earmark, dataset="read", speakers=4):
    """Every speaker reads the same two prompts (their metadata ``text``), and one more of their own: grouping by
    speaker keeps the voices apart but not the sentences (the leak a prompt-read corpus has)."""
    owner = make_user(earmark.db, "reader", "dataset")
    for s in range(speakers):
        for i, text in enumerate(["Hello  world", "the cat sat", f"only speaker {s}"]):
            _sound(earmark, owner, f"spk{s}/utt{i}.wav", dataset, {"speaker_id": f"spk{s}", "text": text}, 200 + 37 * s + 5 * i)
    return owner


def test_transcripts_in_the_metadata_leak_across_splits_and_the_examples_name_files(local_earmark):
    owner = _readers(local_earmark)
    # another dataset's sounds keep the sentence in 'sentence' (text empty: the next column is taken) and one is a
    # byte-identical copy of spk0/utt0
    _sound(local_earmark, owner, "b/x.wav", "other", {"speaker_id": "spk9", "text": " ", "sentence": "ONLY speaker 1"}, 900)
    _sound(local_earmark, owner, "b/copy.wav", "other", {"speaker_id": "spk8"}, 200)
    rule = SplitRule(parse_shares("train=0.5,test=0.5"), group_by=("speaker_id",), seed=3)
    with local_earmark.db.write() as session:
        placement = assign(session, CatalogueQuery(), rule)
    with local_earmark.db.read() as session:
        report = leakage(session, CatalogueQuery(), rule)
    splits_of = lambda speaker: placement.groups[(speaker,)]  # noqa: E731
    assert {splits_of(f"spk{s}") for s in range(4)} == {"train", "test"}, placement.groups  # both prompts span the splits
    transcripts = report["identical_transcripts_across_splits"]
    keys = {e["key"] for e in transcripts["examples"]}
    assert {"hello world", "the cat sat"} <= keys  # normalised: case and spaces
    expected = 2 + (splits_of("spk9") != splits_of("spk1"))
    assert transcripts["count"] == expected and ("only speaker 1" in keys) == (expected == 3)
    hello = next(e for e in transcripts["examples"] if e["key"] == "hello world")
    assert set(hello["files"]) == {"train", "test"} and all(f.startswith("read/spk") and f.endswith("/utt0.wav")
                                                           for f in hello["files"].values())
    audio = report["identical_audio_across_splits"]
    assert audio["count"] == (splits_of("spk8") != splits_of("spk0"))
    if audio["count"]:
        assert sorted(audio["examples"][0]["files"].values()) == ["other/b/copy.wav", "read/spk0/utt0.wav"]


def test_the_training_formats_split_lists_each_share_and_names_an_empty_split(local_earmark, tmp_path, capsys):
    """Two speakers for three splits: the formats export says each split's share beside the one asked and why test
    is empty, as the ZIP split export does (the same lines)."""
    _readers(local_earmark, speakers=2)
    for extra, to, empty in ((["--formats", "nemo"], "formats", "no folder written"), ([], "zips", "no ZIP written")):
        assert main(["export", "--dataset", "read", "--split", "train=0.5,dev=0.25,test=0.25", "--group-by", "speaker_id",
                     "--seed", "1", "--to", str(tmp_path / to), "--quiet", *extra]) == 0
        lines = capsys.readouterr().out.splitlines()
        assert lines[0].startswith("train: 3 ") and lines[0].endswith("(share 0.500 of 0.5 asked)"), lines
        assert lines[1].startswith("dev: 3 ") and lines[1].endswith("(share 0.500 of 0.25 asked)"), lines
        placed = ("the 2 groups placed now went to splits further behind their shares" if to == "formats"
                  else "no group was placed now; 6 sounds keep the splits earlier exports stored")
        assert lines[2] == f"test: empty, {empty} (share 0 of 0.25 asked: {placed})", lines
        assert lines[3].startswith("Leakage: 0 groups,")


def test_the_manifest_request_says_what_was_exported_and_what_earlier_splits_placed(local_earmark, tmp_path):
    """Not the unused --count (10) and the ZIP's formats only: every matching sound, the formats written and the
    rule; a second export with another rule says how many sounds kept the splits the first one stored."""
    _readers(local_earmark)  # 12 sounds
    assert main(["export", "--dataset", "read", "--split", "train=0.5,test=0.5", "--group-by", "speaker_id",
                 "--seed", "7", "--formats", "csv,nemo", "--to", str(tmp_path / "first"), "--quiet"]) == 0
    manifest = json.loads((tmp_path / "first" / "manifest.json").read_text())
    request = manifest["request"]
    assert request["count"] == 12 and request["formats"] == ["csv", "nemo"] and request["balance"] is None
    assert request["split"] == manifest["split"] and request["split"]["group_by"] == ["speaker_id"] and request["split"]["seed"] == 7
    assert manifest["placed_now"]["sounds"] == 12 and manifest["placed_earlier"] == {"sounds": 0}

    assert main(["export", "--dataset", "read", "--split", "train=0.5,test=0.5", "--group-by", "text",
                 "--seed", "1", "--to", str(tmp_path / "again"), "--quiet"]) == 0
    again = json.loads((tmp_path / "again" / "manifest.json").read_text())
    assert again["request"]["count"] == 12 and again["request"]["formats"] == ["csv"]
    assert again["request"]["split"]["group_by"] == ["text"] and again["request"]["split"]["seed"] == 1
    assert again["placed_now"]["sounds"] == 0 and again["placed_earlier"] == {"sounds": 12}  # placed by the first rule

    # without a split too, the request names the training formats written beside the ZIP's
    assert main(["export", "--dataset", "read", "--count", "3", "--seed", "2", "--formats", "csv,nemo",
                 "--to", str(tmp_path / "plain"), "--quiet"]) == 0
    plain = json.loads((tmp_path / "plain" / "manifest.json").read_text())["request"]
    assert plain["count"] == 3 and plain["formats"] == ["csv", "nemo"]
