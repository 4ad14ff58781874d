"""Training formats (core/export/formats): each read back by its own reader (pyarrow and datasets for Parquet,
webdataset for the tar shards, pympi for ELAN; NeMo, Kaldi and Lhotse checked against their documented layouts,
lhotse needing PyTorch), written to a folder and to S3 (moto's server), split or not, segments as offsets or as
lossless clips; machine suggestions left out unless asked, transcripts kept beside tags; bad --to and --formats
refused in one sentence."""

from __future__ import annotations

import glob
import gzip
import hashlib
import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import soundfile as sf

from core.annotations.service import AnnotationService
from core.cli import main
from core.errors import UnknownFormat
from core.export.formats import FormatOptions, Segments, export_formats, parse_formats
from core.export.splits import SplitRule
from core.export.subset import ExportRequest
from core.ingest.pipeline import UploadOptions, ingest_audio
from core.store import config
from tests.conftest import free_port, make_user, wav_bytes

ALL = "parquet,webdataset,nemo,lhotse,kaldi,eaf"
SPLIT = SplitRule((("train", 0.5), ("test", 0.5)), group_by=("speaker_id",), seed=3)


def _noise(seconds: float, rate: int, channels: int, fmt: str, subtype: str, seed: int) -> bytes:
    samples = 0.3 * np.random.default_rng(seed).uniform(-1, 1, (int(seconds * rate), channels))
    out = io.BytesIO()
    sf.write(out, samples, rate, format=fmt, subtype=subtype)
    return out.getvalue()


@pytest.fixture
def corpus(local_earmark):
    """Six sounds of three speakers (one a 24-bit stereo FLAC at 44.1 kHz); on the first, a tagged segment with a
    transcript, an overlapping tagged one and a machine suggestion; on the FLAC a tagged, transcribed segment."""
    earmark = local_earmark
    owner, person = make_user(earmark.db, "vox", "dataset"), make_user(earmark.db, "ann")
    ids: dict[str, str] = {}
    for i in range(6):
        flac = i == 5
        path = f"spk{i // 2}/{i:02d}." + ("flac" if flac else "wav")
        data = _noise(2.0, 44_100, 2, "FLAC", "PCM_24", i) if flac else wav_bytes(2.0, freq=200 + 50 * i)
        result = ingest_audio(earmark.db, earmark.storage, owner, path, io.BytesIO(data),
                              UploadOptions(dataset="vox", max_bytes=10**8), {"speaker_id": f"s{i // 2}", "gender": "fm"[i % 2]})
        assert result.sound_id, result
        ids[path] = result.sound_id
    first, flac = ids["spk0/00.wav"], ids["spk2/05.flac"]
    with earmark.db.write() as session:
        service = AnnotationService(session)
        service.create(person, first, start_seconds=0.2, end_seconds=0.8, tags=["word"], text="hello  world")
        service.create(person, first, start_seconds=0.5, end_seconds=1.0, tags=["noise"])
        bot = make_user_in(session, "bot-speech_activity")
        service.create(bot, first, start_seconds=1.2, end_seconds=1.6, tags=["machine"], text="a guess", source="speech_activity:v1")
        service.create(person, flac, start_seconds=0.25, end_seconds=0.75, tags=["speech"], text="stereo words")
    return earmark, ids


def make_user_in(session, name: str):
    from core.accounts.users import UserService

    return UserService(session).system_user(name, "featurebot")


def _export(earmark, to, formats=ALL, rule=SPLIT, **options):
    return export_formats(earmark.db, earmark.storage, earmark.settings, ExportRequest(count=100, seed=1), formats, str(to),
                          FormatOptions(**options), rule)


def _lines(path: Path) -> list[dict]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt") as f:
        return [json.loads(line) for line in f]


def _split_of(manifest: dict, sound_id: str) -> str:
    for name, part in manifest["exports"].items():
        if any(f["name"].startswith(f"{name}/") for f in part["files"]):
            folder = Path(manifest["target"]) / name
            if any(line["sound_id"] == sound_id for line in _lines(folder / "nemo_manifest.json")):
                return name
    raise AssertionError(sound_id)


def test_every_format_is_read_back_by_its_reader_one_folder_per_split(corpus, tmp_path):
    earmark, ids = corpus
    manifest = _export(earmark, tmp_path / "out", ALL + ",csv")
    top = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert top["leakage"]["groups_across_splits"]["count"] == 0 and set(top["exports"]) == {"train", "test"}
    assert top == json.loads(json.dumps(manifest))
    for part in top["exports"].values():  # every file listed is there, with its size and sha256
        for entry in part["files"]:
            data = (tmp_path / "out" / entry["name"]).read_bytes()
            assert (len(data), hashlib.sha256(data).hexdigest()) == (entry["size"], entry["sha256"])
    assert zipfile.ZipFile(tmp_path / "out" / "train.zip").read("annotations.csv")  # the ZIP formats beside them

    sha = {}
    with earmark.db.read() as session:
        from core.store.models import Sound
        sha = {sound_id: session.get(Sound, sound_id).sha256 for sound_id in ids.values()}
    seen: dict[str, str] = {}
    for split in ("train", "test"):
        folder = tmp_path / "out" / split
        table = pq.read_table(sorted(glob.glob(f"{folder}/parquet/*.parquet")))
        assert table.schema.field("audio").type == pa.struct([("bytes", pa.binary()), ("path", pa.string())])
        assert json.loads(table.schema.metadata[b"huggingface"])["info"]["features"]["audio"] == {"_type": "Audio"}
        for row in table.to_pylist():  # the whole file's bytes, as stored
            assert hashlib.sha256(row["audio"]["bytes"]).hexdigest() == sha[row["sound_id"]]
            seen[row["sound_id"]] = split
        _read_with_datasets(folder, table.num_rows)
        _read_with_webdataset(folder, {r["sound_id"] for r in table.to_pylist()}, sha)
        _check_nemo(folder)
        _check_lhotse(folder)
        _check_kaldi(folder)
    assert set(seen) == set(ids.values())
    assert seen[ids["spk0/00.wav"]] == seen[ids["spk0/01.wav"]]  # a speaker stays in one split

    first = tmp_path / "out" / seen[ids["spk0/00.wav"]]
    segments = [line for line in _lines(first / "nemo_manifest.json") if line["sound_id"] == ids["spk0/00.wav"]]
    assert [(s["offset"], s["duration"], s["tags"], s["text"]) for s in segments] == [
        (0.2, 0.6, ["word"], "hello world"), (0.5, 0.5, ["noise"], "")]  # the suggestion left out, the transcript kept
    _check_eaf(first / "eaf" / "spk0" / "00.eaf", suggestions=False)


def _read_with_datasets(folder: Path, rows: int) -> None:
    """datasets reads the shards with their Audio feature (decoding would need torchcodec, which needs PyTorch)."""
    import datasets

    dataset = datasets.Dataset.from_parquet(sorted(glob.glob(f"{folder}/parquet/*.parquet")), cache_dir=str(folder.parent / ".hf"))
    assert isinstance(dataset.features["audio"], datasets.Audio) and len(dataset) == rows
    raw = dataset.cast_column("audio", datasets.Audio(decode=False))
    first = raw[0]["audio"]
    assert sf.info(io.BytesIO(first["bytes"])).frames > 0 and first["path"].endswith((".wav", ".flac"))


def _read_with_webdataset(folder: Path, sound_ids: set[str], sha: dict[str, str]) -> None:
    import webdataset as wds

    samples = list(wds.WebDataset(sorted(glob.glob(f"{folder}/webdataset/*.tar")), shardshuffle=False))
    assert {s["__key__"] for s in samples} == sound_ids
    for sample in samples:
        fields = json.loads(sample["json"])
        audio = sample.get("wav") or sample["flac"]
        assert hashlib.sha256(audio).hexdigest() == sha[sample["__key__"]] == sha[fields["sound_id"]]
        assert fields["metadata"]["speaker_id"].startswith("s") and fields["sampling_rate"] in (16_000, 44_100)


def _check_nemo(folder: Path) -> None:
    for line in _lines(folder / "nemo_manifest.json"):
        assert {"audio_filepath", "duration", "text"} <= set(line)
        info = sf.info(folder / line["audio_filepath"])  # relative to the manifest's folder, as NeMo resolves it
        assert line.get("offset", 0) + line["duration"] <= info.duration + 1e-6


def _check_lhotse(folder: Path) -> None:
    """lhotse.RecordingSet / SupervisionSet's fields (lhotse/audio/recording.py, lhotse/supervision.py)."""
    recordings = {r["id"]: r for r in _lines(folder / "lhotse_recordings.jsonl.gz")}
    for r in recordings.values():
        assert set(r) >= {"id", "sources", "sampling_rate", "num_samples", "duration"}
        (source,) = r["sources"]
        assert source["type"] == "file" and source["channels"] == list(range(sf.info(folder / source["source"]).channels))
        assert r["num_samples"] == sf.info(folder / source["source"]).frames and r["duration"] == pytest.approx(r["num_samples"] / r["sampling_rate"])
    for s in _lines(folder / "lhotse_supervisions.jsonl.gz"):
        assert set(s) >= {"id", "recording_id", "start", "duration", "text", "speaker"}
        assert s["start"] + s["duration"] <= recordings[s["recording_id"]]["duration"] + 1e-6


def _check_kaldi(folder: Path) -> None:
    """What utils/validate_data_dir.sh checks: every file sorted (C locale) and unique, the ids agreeing (``text``
    only when some unit has words: core/export/formats/kaldi.py)."""
    files = {name: (folder / "kaldi" / name).read_text().splitlines() for name in ("wav.scp", "segments", "utt2spk", "spk2utt", "text")
             if name != "text" or (folder / "kaldi" / name).exists()}
    for lines in files.values():
        assert lines == sorted(lines, key=lambda line: line.encode()) and len(set(lines)) == len(lines)
    utt2spk = dict(line.split() for line in files["utt2spk"])
    assert {spk: set(utts) for spk, *utts in (line.split() for line in files["spk2utt"])} == \
        {spk: {u for u, s in utt2spk.items() if s == spk} for spk in set(utt2spk.values())}
    assert all(utt.startswith(f"{spk}-") for utt, spk in utt2spk.items())
    assert [line.split()[0] for line in files.get("text", sorted(utt2spk))] == sorted(utt2spk)
    assert all(len(line.split()) > 1 for line in files.get("text", []))  # no utterance without words
    recordings = {rec: next(t for t in entry.split() if "/" in t) for rec, entry in (line.split(" ", 1) for line in files["wav.scp"])}
    for line in files["segments"]:
        utt, rec, start, end = line.split()
        assert utt in utt2spk and rec in recordings and 0 <= float(start) < float(end)
    for path in recordings.values():
        assert (folder / path).is_file()


def _check_eaf(path: Path, suggestions: bool) -> None:
    from pympi import Elan

    eaf = Elan.Eaf(str(path))
    assert eaf.get_annotation_data_for_tier("word (ann)") == [(200, 800, "word")]
    assert eaf.get_annotation_data_for_tier("text (ann)") == [(200, 800, "hello world")]  # the transcript beside its tag
    assert eaf.get_annotation_data_for_tier("noise (ann)") == [(500, 1000, "noise")]
    assert ("machine (speech_activity)" in eaf.tiers) is suggestions
    assert eaf.get_parameters_for_tier("word (ann)")["PARTICIPANT"] == "ann"
    (media,) = eaf.get_linked_files()
    assert (path.parent / media["RELATIVE_MEDIA_URL"]).is_file()


def test_suggestions_go_in_only_when_asked(corpus, tmp_path):
    earmark, ids = corpus
    request = ExportRequest(count=100, seed=1, suggestions=True)
    export_formats(earmark.db, earmark.storage, earmark.settings, request, "nemo,eaf,kaldi", str(tmp_path / "with"))
    lines = [line for line in _lines(tmp_path / "with" / "nemo_manifest.json") if line["sound_id"] == ids["spk0/00.wav"]]
    assert [line["tags"] for line in lines] == [["word"], ["noise"], ["machine"]]
    _check_eaf(tmp_path / "with" / "eaf" / "spk0" / "00.eaf", suggestions=True)
    assert "a guess" in (tmp_path / "with" / "kaldi" / "text").read_text()
    _export(earmark, tmp_path / "without", "kaldi", rule=None)
    assert "a guess" not in (tmp_path / "without" / "kaldi" / "text").read_text()


def test_clips_are_cut_losslessly_at_the_original_rate(corpus, tmp_path):
    earmark, ids = corpus
    manifest = _export(earmark, tmp_path / "out", "parquet,webdataset,nemo,lhotse,kaldi", rule=None, segments=Segments.CLIPS)
    assert manifest["exports"][""]["count_included"] == 6
    folder = tmp_path / "out"
    original, rate = sf.read(earmark.storage.open("audio/vox/spk2/05.flac"), dtype="int32", always_2d=True)
    (line,) = [line for line in _lines(folder / "nemo_manifest.json") if line["sound_id"] == ids["spk2/05.flac"]]
    assert "offset" not in line and line["audio_filepath"].startswith("clips/") and line["text"] == "stereo words"
    clip, clip_rate = sf.read(folder / line["audio_filepath"], dtype="int32", always_2d=True)
    info = sf.info(folder / line["audio_filepath"])
    assert (clip_rate, info.subtype, info.format, info.channels) == (44_100, "PCM_24", "FLAC", 2)
    assert np.array_equal(clip, original[int(0.25 * rate):int(0.75 * rate)])  # bit for bit
    rows = pq.read_table(folder / "parquet" / "shard-00000.parquet").to_pylist()
    row = next(r for r in rows if r["sound_id"] == ids["spk2/05.flac"])
    assert row["audio"]["bytes"] == (folder / line["audio_filepath"]).read_bytes() and row["text"] == "stereo words"
    assert len(rows) == 6 + 1  # the first sound's two segments, the FLAC's one, four whole sounds
    assert not (folder / "kaldi" / "segments").exists()  # clips are recordings of their own
    wav = dict(line.split(" ", 1) for line in (folder / "kaldi" / "wav.scp").read_text().splitlines())
    assert any(entry.startswith(f"flac -c -d -s {folder}/clips/") for entry in wav.values())  # absolute in a folder


def test_shards_close_at_their_size_and_a_missing_file_is_named_not_fatal(corpus, tmp_path):
    earmark, ids = corpus
    owner = make_user(earmark.db, "more", "dataset")
    big = ingest_audio(earmark.db, earmark.storage, owner, "aaa/big.wav", io.BytesIO(_noise(40.0, 16_000, 1, "WAV", "PCM_16", 5)),
                       UploadOptions(dataset="vox", max_bytes=10**8))  # 1.3 MB, first in (dataset, path) order
    ids["aaa/big.wav"] = big.sound_id
    earmark.storage.delete("audio/vox/spk1/03.wav")
    earmark.storage.put("audio/vox/spk1/02.wav", b"RIFF but not audio any more")  # damaged since it was stored
    manifest = _export(earmark, tmp_path / "out", "parquet,webdataset,nemo", rule=None, shard_mb=1)
    part = manifest["exports"][""]
    assert part["missing"] == ["spk1/03.wav"] and part["unreadable"] == ["spk1/02.wav"] and part["count_included"] == 5
    assert ids["spk1/02.wav"] not in (tmp_path / "out" / "nemo_manifest.json").read_text()
    tars = sorted(glob.glob(f"{tmp_path}/out/webdataset/*.tar"))
    assert len(tars) == 2 and Path(tars[0]).stat().st_size > 2**20 > Path(tars[1]).stat().st_size  # the big one closed the first
    assert len(glob.glob(f"{tmp_path}/out/parquet/*.parquet")) == 2
    import webdataset as wds

    keys = [s["__key__"] for s in wds.WebDataset(tars, shardshuffle=False)]
    assert sorted(keys) == sorted(v for k, v in ids.items() if k not in ("spk1/03.wav", "spk1/02.wav"))



def test_on_missing_fail_checks_every_window_first_and_writes_nothing(corpus, tmp_path, monkeypatch):
    """Windows of two sounds: the missing file is in the second window, and the export stops before any shard."""
    from core.errors import StorageError
    from core.export import outline

    earmark, _ids = corpus
    monkeypatch.setattr(outline, "WINDOW", 2)
    earmark.storage.delete("audio/vox/spk1/03.wav")
    with pytest.raises(StorageError, match=r"1 file\(s\) of the subset are missing from storage \(spk1/03.wav\)"):
        export_formats(earmark.db, earmark.storage, earmark.settings, ExportRequest(count=100, seed=1, on_missing="fail"),
                       "parquet", str(tmp_path / "out"))
    assert not (tmp_path / "out" / "parquet").exists() and not (tmp_path / "out" / "manifest.json").exists()

# -- S3 -------------------------------------------------------------------------------------------------

@pytest.fixture
def s3_target(s3_server, monkeypatch):
    import boto3

    for name, value in {"AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s", "AWS_REGION": "us-east-1",
                        "EARMARK_S3_ENDPOINT_URL": s3_server}.items():
        monkeypatch.setenv(name, value)
    config.settings.cache_clear()
    client = boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s")
    bucket = f"exports-{free_port()}"
    client.create_bucket(Bucket=bucket)
    return client, bucket


def test_an_export_to_s3_is_streamed_in_parts_and_reads_back(corpus, s3_target, tmp_path):
    earmark, ids = corpus
    client, bucket = s3_target
    owner = make_user(earmark.db, "big", "dataset")
    big = ingest_audio(earmark.db, earmark.storage, owner, "long.wav", io.BytesIO(_noise(200.0, 32_000, 1, "WAV", "PCM_16", 9)),
                       UploadOptions(dataset="long", max_bytes=10**8), {"speaker_id": "s9"})  # 12.8 MB: a multipart shard
    earmark.settings = config.settings()
    manifest = export_formats(earmark.db, earmark.storage, earmark.settings, ExportRequest(count=100, seed=1),
                              "parquet,webdataset,nemo,csv", f"s3://{bucket}/runs/one", FormatOptions(), SPLIT)
    objects = {o["Key"]: o for o in client.list_objects_v2(Bucket=bucket)["Contents"]}
    assert "runs/one/manifest.json" in objects and {"runs/one/train.zip", "runs/one/test.zip"} <= set(objects)
    for part in manifest["exports"].values():
        for entry in part["files"]:
            data = client.get_object(Bucket=bucket, Key=f"runs/one/{entry['name']}")["Body"].read()
            assert hashlib.sha256(data).hexdigest() == entry["sha256"]
    split = next(name for name, part in manifest["exports"].items()
                 if any("nemo" in f["name"] for f in part["files"]) and
                 any(json.loads(line)["sound_id"] == big.sound_id for line in client.get_object(
                     Bucket=bucket, Key=f"runs/one/{name}/nemo_manifest.json")["Body"].read().decode().splitlines()))
    key = f"runs/one/{split}/parquet/shard-00000.parquet"
    assert "-" in objects[key]["ETag"]  # uploaded in parts
    table = pq.read_table(pa.BufferReader(client.get_object(Bucket=bucket, Key=key)["Body"].read()))
    assert big.sound_id in table.column("sound_id").to_pylist()
    tar = tmp_path / "shard.tar"
    tar.write_bytes(client.get_object(Bucket=bucket, Key=f"runs/one/{split}/webdataset/shard-000000.tar")["Body"].read())
    import webdataset as wds

    assert big.sound_id in {s["__key__"] for s in wds.WebDataset(str(tar), shardshuffle=False)}
    assert not client.list_multipart_uploads(Bucket=bucket).get("Uploads")  # none left open


# -- the command line -----------------------------------------------------------------------------------

def test_the_command_line_writes_a_folder_per_split(corpus, tmp_path, capsys):
    args = ["export", "--split", "train=0.5,test=0.5", "--group-by", "speaker_id", "--formats", "parquet,nemo,csv",
            "--to", str(tmp_path / "out"), "--seed", "3", "--quiet"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "Leakage: 0 groups," in out and f"to {tmp_path / 'out'}" in out
    assert (tmp_path / "out" / "train" / "parquet" / "shard-00000.parquet").is_file()
    assert (tmp_path / "out" / "test" / "nemo_manifest.json").is_file() and (tmp_path / "out" / "train.zip").is_file()
    assert json.loads((tmp_path / "out" / "manifest.json").read_text())["split"]["group_by"] == ["speaker_id"]


def test_bad_formats_and_targets_are_refused_in_one_sentence(corpus, tmp_path, capsys, s3_target):
    (tmp_path / "a-file").write_text("x")
    cases = {("--formats", "parquet,mp4", "--to", "out"): "Unknown format 'mp4' in --formats",
             ("--formats", "parquet"): "Say where to write parquet",
             ("--formats", "nemo", "--to", "ftp://host/x"): "not 'ftp://host/x'",
             ("--formats", "nemo", "--to", "s3://Bad_Bucket/x"): "'Bad_Bucket' is not an S3 bucket name",
             ("--formats", "nemo", "--to", "s3://no-such-bucket/x"): "bucket 'no-such-bucket' cannot be written to",
             ("--formats", "nemo", "--to", str(tmp_path / "a-file")): "is a file, not a folder",
             ("--formats", " , ", "--to", "out"): "Name at least one format"}
    for args, message in cases.items():
        assert main(["export", *args, "--quiet"]) == 1, args
        err = capsys.readouterr().err.strip()
        assert message in err and err.count("\n") == 0 and "Traceback" not in err, (args, err)
    assert not (tmp_path / "out").exists()  # nothing written for a refused request


def test_parse_formats_splits_zip_and_training_formats():
    assert parse_formats("csv, Parquet,nemo,csv") == (("csv",), ("parquet", "nemo"))
    with pytest.raises(UnknownFormat, match="choose from csv, json") as refused:
        parse_formats("arrow")
    assert refused.value.name == "arrow" and "--formats" not in str(refused.value)  # each edge names its own field


def test_a_subset_read_a_window_at_a_time_names_and_orders_it_as_a_whole(local_earmark, tmp_path, monkeypatch):
    """Windows of one sound (core/export/outline.py) give what one window gives: names with the dataset when the
    subset spans two, a.wav and a.flac keeping their extensions though they fall in different windows, the order
    Python sorts paths in ('B' before 'a', which a locale's collation would put after) and every metadata column."""
    from core.export import outline

    owner, person = make_user(local_earmark.db, "vox", "dataset"), make_user(local_earmark.db, "ann")
    ids = {}
    for i, (dataset, path, fields) in enumerate([("d1", "a.wav", {"speaker_id": "s1"}), ("d1", "a.flac", {"mood": "calm"}),
                                                 ("d1", "B.wav", {}), ("d1", "m/x.wav", {"speaker_id": "s2"}), ("d2", "a.wav", {})]):
        data = _noise(0.5, 16_000, 1, "FLAC" if path.endswith("flac") else "WAV", "PCM_16", i)
        ids[dataset, path] = ingest_audio(local_earmark.db, local_earmark.storage, owner, path, io.BytesIO(data),
                                          UploadOptions(dataset=dataset, max_bytes=10**8), fields).sound_id
    with local_earmark.db.write() as session:
        for key in (("d1", "a.wav"), ("d1", "a.flac")):
            AnnotationService(session).create(person, ids[key], start_seconds=0.1, end_seconds=0.3, tags=["word"])

    def export(folder: str) -> dict:
        return export_formats(local_earmark.db, local_earmark.storage, local_earmark.settings, ExportRequest(count=100, seed=4),
                              "parquet,nemo,eaf", str(tmp_path / folder))

    whole = export("whole")
    monkeypatch.setattr(outline, "WINDOW", 1)
    windowed = export("windowed")
    assert [f["name"] for f in windowed["exports"][""]["files"]] == [f["name"] for f in whole["exports"][""]["files"]]
    assert windowed["exports"][""]["count_included"] == 5
    paths = [json.loads(line)["audio_filepath"] for line in (tmp_path / "windowed" / "nemo_manifest.json").read_text().splitlines()]
    assert paths == ["audio/d1/B.wav", "audio/d1/a.flac", "audio/d1/a.wav", "audio/d1/m/x.wav", "audio/d2/a.wav"]
    assert sorted(p.name for p in (tmp_path / "windowed" / "eaf" / "d1").iterdir()) == ["a.flac.eaf", "a.wav.eaf"]
    table = pq.read_table(tmp_path / "windowed" / "parquet" / "shard-00000.parquet")
    assert table.column("path").to_pylist() == ["B.wav", "a.flac", "a.wav", "m/x.wav", "a.wav"]
    assert {"speaker_id", "mood"} <= set(table.column_names)
    assert table.column("mood").to_pylist() == [None, "calm", None, None, None]


def test_the_subset_zips_files_beside_training_formats_are_made_as_the_subset_zip_makes_them(corpus, tmp_path, monkeypatch):
    """Issue 28: beside training formats, the subset ZIP's files are made a window at a time as the subset ZIP
    makes them: with windows of 2 sounds, a download's members (core/export/formats/zipped.py) and a folder
    export's subset.zip hold the metadata and annotation files of the subset ZIP (written as one window) byte for
    byte."""
    from core.export import outline
    from core.export.formats.zipped import plan_formats_zip
    from core.export.subset import export_to_file

    earmark, _ = corpus
    zip_formats = ("csv", "json", "audacity", "textgrid", "rttm")
    request = ExportRequest(count=100, seed=1, formats=zip_formats)
    export_to_file(earmark.db, earmark.storage, request, tmp_path / "alone.zip")
    with zipfile.ZipFile(tmp_path / "alone.zip") as zf:
        alone = {n: zf.read(n) for n in zf.namelist() if not n.startswith("audio/") and n != "manifest.json"}
    assert {"annotations.rttm", "labels/spk0/00.txt", "transcripts/spk2/05.txt", "textgrid/spk2/05.TextGrid"} <= set(alone)

    monkeypatch.setattr(outline, "WINDOW", 2)
    formats = ",".join((*zip_formats, "nemo"))
    download = zipfile.ZipFile(io.BytesIO(b"".join(plan_formats_zip(earmark.db, earmark.storage, request, formats).stream())))
    assert {n: download.read(n) for n in alone} == alone and "nemo_manifest.json" in download.namelist()
    _export(earmark, tmp_path / "out", formats, rule=None)
    with zipfile.ZipFile(tmp_path / "out" / "subset.zip") as zf:
        assert {n: zf.read(n) for n in alone} == alone and len([n for n in zf.namelist() if n.startswith("audio/")]) == 6
