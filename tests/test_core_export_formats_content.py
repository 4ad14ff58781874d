"""What the training-format files hold (core/export/formats), each read back by its reader: a sound's transcript
from its metadata where no annotation gives one; Kaldi's folder without utterances that have no words, naming its
audio by absolute path in a folder and relative on S3; Parquet's ``audio.path`` unique; WebDataset samples shuffled
within and across shards by the seed; and a target that already holds files refused, or an earlier export there
replaced with --overwrite, deleting only what that export's manifest lists."""

from __future__ import annotations

import glob
import hashlib
import io
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from core.annotations.service import AnnotationService
from core.catalogue.search import CatalogueQuery
from core.cli import main
from core.errors import Conflict
from core.export.formats import FormatOptions, export_formats
from core.export.splits import SplitRule
from core.export.subset import ExportRequest
from core.ingest.pipeline import UploadOptions, ingest_audio
from core.store import config
from tests.conftest import make_user, wav_bytes
from tests.test_core_export_formats import _lines, s3_target  # noqa: F401 (a fixture)

SPEAKERS, UTTERANCES = 4, 3


@pytest.fixture
def trial(local_earmark):
    """As the user trial's data: ``spk<i>/utt<j>.wav`` (every speaker's file names alike) with speaker_id and text
    columns; spk0/utt1.wav has no text, spk1/utt0.wav has a tag-only annotation and spk1/utt1.wav a transcribed one.
    A second dataset, ``quiet``, has no transcript anywhere."""
    earmark = local_earmark
    owner, person = make_user(earmark.db, "vox", "dataset"), make_user(earmark.db, "ann")
    ids: dict[str, str] = {}
    for i in range(SPEAKERS):
        for j in range(UTTERANCES):
            path = f"spk{i}/utt{j}.wav"
            text = "" if (i, j) == (0, 1) else f"sentence {i} {j}"
            result = ingest_audio(earmark.db, earmark.storage, owner, path, io.BytesIO(wav_bytes(0.5, freq=200 + 40 * (3 * i + j))),
                                  UploadOptions(dataset="vox", max_bytes=10**8), {"speaker_id": f"s{i}", "text": text})
            ids[path] = result.sound_id
    for j in range(2):
        result = ingest_audio(earmark.db, earmark.storage, owner, f"q/utt{j}.wav", io.BytesIO(wav_bytes(0.5, freq=900 + 50 * j)),
                              UploadOptions(dataset="quiet", max_bytes=10**8), {"speaker_id": "q"})
        ids[f"q/utt{j}.wav"] = result.sound_id
    with earmark.db.write() as session:
        service = AnnotationService(session)
        service.create(person, ids["spk1/utt0.wav"], start_seconds=0.1, end_seconds=0.3, tags=["noise"])
        service.create(person, ids["spk1/utt1.wav"], start_seconds=0.1, end_seconds=0.4, tags=["word"], text="own words")
    return earmark, ids


def _export(earmark, to, formats, dataset="vox", rule=None, seed=1, **options):
    request = ExportRequest(CatalogueQuery(dataset=dataset), count=100, seed=seed)
    return export_formats(earmark.db, earmark.storage, earmark.settings, request, formats, str(to), FormatOptions(**options), rule)


def test_a_sound_without_a_transcript_annotation_takes_its_metadata_text(trial, tmp_path):
    earmark, ids = trial
    _export(earmark, tmp_path / "out", "parquet,nemo,lhotse")
    rows = {r["sound_id"]: r for r in pq.read_table(glob.glob(f"{tmp_path}/out/parquet/*.parquet")).to_pylist()}
    assert rows[ids["spk2/utt0.wav"]]["text"] == "sentence 2 0" and rows[ids["spk2/utt0.wav"]]["metadata.text"] == "sentence 2 0"
    assert rows[ids["spk0/utt1.wav"]]["text"] == ""  # no text anywhere
    assert rows[ids["spk1/utt0.wav"]]["text"] == "sentence 1 0"  # its annotation has tags only
    assert rows[ids["spk1/utt1.wav"]]["text"] == "own words"  # the annotation's transcript wins
    nemo = {(line["sound_id"], line.get("offset")): line["text"] for line in _lines(tmp_path / "out" / "nemo_manifest.json")}
    assert nemo[(ids["spk3/utt2.wav"], None)] == "sentence 3 2"
    assert nemo[(ids["spk1/utt0.wav"], 0.1)] == ""  # a segment's text is its own: kept in NeMo without words
    assert nemo[(ids["spk0/utt1.wav"], None)] == ""
    lhotse = {s["custom"]["sound_id"]: s["text"] for s in _lines(tmp_path / "out" / "lhotse_supervisions.jsonl.gz")}
    assert lhotse[ids["spk3/utt2.wav"]] == "sentence 3 2"


def test_parquet_audio_path_is_the_sounds_path_in_the_export_unique(trial, tmp_path):
    earmark, ids = trial
    _export(earmark, tmp_path / "out", "parquet")
    rows = pq.read_table(glob.glob(f"{tmp_path}/out/parquet/*.parquet")).to_pylist()
    paths = [r["audio"]["path"] for r in rows]
    assert sorted(paths) == sorted(p for p in ids if p.startswith("spk")) and len(set(paths)) == len(rows)


def _kaldi(folder: Path) -> dict[str, list[str]]:
    return {f.name: f.read_text().splitlines() for f in (folder / "kaldi").iterdir()}


def test_kaldi_holds_only_utterances_with_words_and_names_audio_by_absolute_path(trial, tmp_path):
    earmark, ids = trial
    _export(earmark, tmp_path / "out", "kaldi")
    files = _kaldi(tmp_path / "out")
    utts = [line.split()[0] for line in files["utt2spk"]]
    assert [line.split()[0] for line in files["text"]] == utts == [line.split()[0] for line in files["segments"]]
    assert all(len(line.split()) > 1 for line in files["text"])
    assert len(utts) == SPEAKERS * UTTERANCES - 2  # spk0/utt1 (no text) and the tag-only segment out, spk1/utt1's own in
    assert not any(ids["spk0/utt1.wav"] in u for u in utts) and f"s1-{ids['spk1/utt0.wav']}" not in utts
    recordings = {line.split()[1] for line in files["segments"]}
    assert {line.split()[0] for line in files["wav.scp"]} == recordings  # no recording without an utterance
    for line in files["wav.scp"]:
        path = Path(line.split(" ", 1)[1])
        assert path.is_absolute() and path.is_file() and path.is_relative_to(tmp_path / "out"), line


def test_kaldi_without_any_transcript_keeps_every_utterance_and_writes_no_text(trial, tmp_path):
    earmark, ids = trial
    _export(earmark, tmp_path / "out", "kaldi,nemo", dataset="quiet")
    files = _kaldi(tmp_path / "out")
    assert "text" not in files and len(files["utt2spk"]) == 2 == len(files["wav.scp"])  # validate with --no-text
    assert [line["text"] for line in _lines(tmp_path / "out" / "nemo_manifest.json")] == ["", ""]


def _webdataset_order(folder: Path) -> list[list[str]]:
    import webdataset as wds

    return [[s["__key__"] for s in wds.WebDataset(str(shard), shardshuffle=False)]
            for shard in sorted(folder.glob("webdataset/*.tar"))]


def test_webdataset_samples_are_shuffled_within_and_across_shards_by_the_seed(trial, tmp_path):
    earmark, ids = trial
    path_of = {sound_id: path for path, sound_id in ids.items()}
    first = _export(earmark, tmp_path / "a", "webdataset,parquet", seed=5, shard_mb=1)
    order = _webdataset_order(tmp_path / "a")
    keys = [k for shard in order for k in shard]
    assert sorted(keys) == sorted(sound_id for path, sound_id in ids.items() if path.startswith("spk"))
    paths = [path_of[k] for k in keys]
    assert paths != sorted(paths)  # not in path order
    assert len({p.split("/")[0] for p in paths[:UTTERANCES]}) > 1  # the first samples are not one speaker's
    again = _export(earmark, tmp_path / "b", "webdataset", seed=5, shard_mb=1)
    assert _webdataset_order(tmp_path / "b") == order  # reproducible: the same samples in the same order ...
    assert [f["sha256"] for f in again["exports"][""]["files"]] == \
        [f["sha256"] for f in first["exports"][""]["files"] if f["name"].startswith("webdataset/")]  # ... byte for byte
    _export(earmark, tmp_path / "c", "webdataset", seed=6, shard_mb=1)
    assert _webdataset_order(tmp_path / "c") != order  # another seed, another order
    parquet = [r["path"] for r in pq.read_table(glob.glob(f"{tmp_path}/a/parquet/*.parquet")).to_pylist()]
    assert parquet == sorted(parquet)  # Parquet stays in path order


def test_webdataset_shards_split_a_shuffled_export_when_full(trial, tmp_path):
    """Shards close past the shard size, and the shuffle spans them (sounds of 640 kB, shards of 1 MB: two a shard)."""
    earmark, ids = trial
    owner = make_user(earmark.db, "big", "dataset")
    for i in range(6):
        ingest_audio(earmark.db, earmark.storage, owner, f"spk{i // 3}/long{i}.wav", io.BytesIO(wav_bytes(20.0, freq=300 + 30 * i)),
                     UploadOptions(dataset="long", max_bytes=10**8), {"speaker_id": f"L{i // 3}"})
    _export(earmark, tmp_path / "out", "webdataset", dataset="long", seed=2, shard_mb=1)
    import webdataset as wds

    shards = [[json.loads(s["json"])["path"] for s in wds.WebDataset(str(shard), shardshuffle=False)]
              for shard in sorted((tmp_path / "out").glob("webdataset/*.tar"))]
    assert [len(shard) for shard in shards] == [2, 2, 2]
    flat = [path for shard in shards for path in shard]
    assert flat != sorted(flat) and shards[0] != sorted(flat)[:2], shards  # not in path order, across shards too


# -- a target that already holds files ------------------------------------------------------------------

SPLIT = SplitRule((("train", 0.5), ("dev", 0.25), ("test", 0.25)), group_by=("speaker_id",), seed=3)


def _into(earmark, to, formats, overwrite=False, rule=None):
    request = ExportRequest(CatalogueQuery(dataset="vox"), count=100, seed=1)
    return export_formats(earmark.db, earmark.storage, earmark.settings, request, formats, to, FormatOptions(), rule,
                          overwrite=overwrite)


def _tree(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*") if p.is_file()}


def test_a_folder_holding_an_earlier_export_is_refused_then_replaced_with_overwrite(trial, tmp_path):
    earmark, ids = trial
    out = tmp_path / "out"
    _into(earmark, str(out), "parquet,webdataset,kaldi,eaf", rule=SPLIT)
    before = _tree(out)
    assert {"dev", "test", "train"} <= {name.split("/")[0] for name in before}
    with pytest.raises(Conflict) as refused:
        _into(earmark, str(out), "nemo")
    assert str(refused.value) == (f"--to {out} already holds an earlier export (manifest.json and {len(before) - 1:,} other "
                                  f"files): name an empty folder or prefix, or give --overwrite to replace an earlier export there.")
    assert _tree(out) == before  # nothing written, nothing deleted

    (out / "train" / "notes.txt").write_text("mine")  # a file Earmark did not write
    with pytest.raises(Conflict, match=r"holds 1 file that its manifest.json does not list \(train/notes.txt\): Earmark deletes only"):
        _into(earmark, str(out), "nemo", overwrite=True)
    assert _tree(out) == before | {"train/notes.txt": hashlib.sha256(b"mine").hexdigest()}
    (out / "train" / "notes.txt").unlink()

    manifest = _into(earmark, str(out), "nemo", overwrite=True)  # no split now: every split's folder goes
    after = _tree(out)
    assert set(after) == {"manifest.json", *(f["name"] for f in manifest["exports"][""]["files"])}
    assert not any((out / name).exists() for name in ("train", "dev", "test"))  # emptied folders removed


def test_a_folder_with_files_of_its_own_is_refused_even_with_overwrite(trial, tmp_path):
    earmark, ids = trial
    out = tmp_path / "mine"
    out.mkdir()
    for name in ("a.wav", "b.txt", "c.csv", "d.json"):
        (out / name).write_text(name)
    with pytest.raises(Conflict, match=rf"^--to {out} already holds 4 files \(a.wav, b.txt, c.csv, \.\.\.\): name an empty"):
        _into(earmark, str(out), "nemo")
    with pytest.raises(Conflict, match=r"holds 4 files \(a.wav, b.txt, c.csv, \.\.\.\) and no manifest.json of an earlier Earmark export"):
        _into(earmark, str(out), "nemo", overwrite=True)
    assert sorted(p.name for p in out.iterdir()) == ["a.wav", "b.txt", "c.csv", "d.json"]
    empty = tmp_path / "empty"
    empty.mkdir()
    assert _into(earmark, str(empty), "nemo")["exports"][""]["count_included"] == SPEAKERS * UTTERANCES  # an empty folder is fine


def test_an_s3_prefix_holding_an_export_is_refused_then_replaced_and_kaldi_paths_stay_relative(trial, s3_target):  # noqa: F811
    earmark, ids = trial
    client, bucket = s3_target
    earmark.settings = config.settings()
    client.put_object(Bucket=bucket, Key="runs/onething", Body=b"x")  # beside the prefix, not in it
    _into(earmark, f"s3://{bucket}/runs/one", "kaldi,nemo", rule=SPLIT)

    def keys() -> set[str]:
        return {o["Key"] for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket) for o in page.get("Contents", [])}

    before = keys()
    wav = client.get_object(Bucket=bucket, Key="runs/one/train/kaldi/wav.scp")["Body"].read().decode().splitlines()
    assert wav and all(line.split(" ", 1)[1].startswith("audio/") for line in wav)  # relative to the split's folder on S3
    with pytest.raises(Conflict, match=rf"^--to s3://{bucket}/runs/one already holds an earlier export \(manifest.json and "):
        _into(earmark, f"s3://{bucket}/runs/one", "nemo")
    assert keys() == before
    client.put_object(Bucket=bucket, Key="runs/one/dev/theirs.txt", Body=b"y")
    with pytest.raises(Conflict, match=r"1 file that its manifest.json does not list \(dev/theirs.txt\)"):
        _into(earmark, f"s3://{bucket}/runs/one", "nemo", overwrite=True)
    client.delete_object(Bucket=bucket, Key="runs/one/dev/theirs.txt")
    manifest = _into(earmark, f"s3://{bucket}/runs/one", "nemo", overwrite=True)
    assert keys() == {"runs/onething", "runs/one/manifest.json", *(f"runs/one/{f['name']}" for f in manifest["exports"][""]["files"])}


def test_the_command_line_refuses_a_used_folder_in_one_sentence_and_overwrites_when_told(trial, tmp_path, capsys):
    args = ["export", "--dataset", "vox", "--formats", "nemo", "--to", str(tmp_path / "out"), "--seed", "3", "--quiet"]
    assert main(args) == 0
    capsys.readouterr()
    assert main(args) != 0
    err = capsys.readouterr().err.strip()
    assert "already holds an earlier export (manifest.json and " in err and "--overwrite" in err and err.count("\n") == 0
    assert main([*args, "--overwrite"]) == 0


def test_a_split_export_of_zips_is_refused_a_used_folder_and_replaced_with_overwrite(trial, tmp_path, capsys):
    """The ZIP split export (--split --to DIR) is refused a folder holding files too; its manifest lists each
    split's ``file``: those ZIPs are what --overwrite deletes, for ZIPs again or for training formats."""
    out = tmp_path / "zips"
    split = ["export", "--dataset", "vox", "--split", "train=0.5,test=0.5", "--group-by", "speaker_id", "--to", str(out),
             "--seed", "3", "--quiet"]
    assert main(split) == 0
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json", "test.zip", "train.zip"]
    capsys.readouterr()
    assert main(split) != 0
    assert capsys.readouterr().err.strip().endswith(f"--to {out} already holds an earlier export (manifest.json and 2 other files): "
                                                    "name an empty folder or prefix, or give --overwrite to replace an earlier export there.")
    assert main([*split, "--overwrite"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json", "test.zip", "train.zip"]
    assert main(["export", "--dataset", "vox", "--formats", "nemo", "--to", str(out), "--seed", "3", "--quiet", "--overwrite"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["audio", "manifest.json", "nemo_manifest.json"]
