"""Subset export: sampling, filters, formats read back by their own parsers, the ZIP itself, missing files."""

from __future__ import annotations

import csv
import io
import json
import zipfile

import pytest
from praatio import textgrid

from core.annotations.service import AnnotationService
from core.catalogue.search import CatalogueQuery, parse_where
from core.catalogue.sounds import SoundService
from core.errors import NotFound, StorageError, ValidationError
from core.export.subset import (
    ExportRequest,
    check_count,
    choose,
    export_to_file,
    plan_export,
    stream_zip,
    write_zip,
)
from core.ingest.demo import load_demo
from tests.conftest import make_user

ALL = ("csv", "json", "audacity", "textgrid", "rttm")


@pytest.fixture
def demo(earmark):
    load_demo(earmark.db, earmark.storage, max_bytes=10**8)
    hal = make_user(earmark.db, "hal")
    with earmark.db.write() as session:
        sounds = sorted(SoundService(session, earmark.storage).list().items, key=lambda s: s.path)
        service = AnnotationService(session)
        service.create(hal, sounds[0].id, start_seconds=0.5, end_seconds=1.0, tags=["kick"], text="first")
        service.create(hal, sounds[0].id, start_seconds=0.75, end_seconds=1.25, tags=["kick", "loud"])  # overlaps
        service.create(hal, sounds[0].id, start_seconds=2.0, end_seconds=2.5, tags=[], text="a breath")
    return earmark, sounds


def paths(earmark, request):
    with earmark.db.read() as session:
        return [s.path for s in choose(session, request)]


def test_the_same_seed_gives_the_same_subset_and_another_seed_another(demo):
    earmark, _ = demo
    a = paths(earmark, ExportRequest(count=8, seed=1))
    assert a == paths(earmark, ExportRequest(count=8, seed=1)) and len(a) == 8
    assert a != paths(earmark, ExportRequest(count=8, seed=2))
    assert len(paths(earmark, ExportRequest(count=500, seed=1))) == 32  # more than available: all


def test_balance_gives_equal_numbers_per_value_and_cap_limits_them(demo):
    earmark, sounds = demo
    genders = {s.path: s.metadata_dict["gender"] for s in sounds}
    picked = paths(earmark, ExportRequest(count=10, seed=3, balance="gender"))
    assert sorted(genders[p] for p in picked) == ["f"] * 5 + ["m"] * 5
    capped = paths(earmark, ExportRequest(count=30, seed=3, balance="speaker_id", cap=2))
    assert len(capped) == 8 and all(sum(p.startswith(s) for p in capped) == 2 for s in ("id00001", "id00002", "id00003", "id00004"))


def test_filters_compose(demo):
    earmark, sounds = demo
    picked = paths(earmark, ExportRequest(CatalogueQuery(dataset="demo", tags=("demo",), where=(("gender", "m"), ("set", "dev"))), count=100))
    expected = sorted(s.path for s in sounds if s.metadata_dict["gender"] == "m" and s.metadata_dict["set"] == "dev")
    assert sorted(picked) == expected and len(expected) == 8
    with pytest.raises(NotFound, match="No sounds match"):
        plan_export(earmark.db, earmark.storage, ExportRequest(CatalogueQuery(where=(("gender", "x"),))))


@pytest.mark.parametrize("value", ["0", "-3", "ten", "1.5", ""])
def test_count_must_be_a_positive_whole_number(value):
    with pytest.raises(ValidationError) as err:
        check_count(value)
    assert err.value.field == "count"


def test_where_and_formats_are_checked(demo):
    earmark, _ = demo
    assert parse_where(["gender=f", "set = test"]) == (("gender", "f"), ("set", "test"))
    with pytest.raises(ValidationError, match="'gender' is not COLUMN=VALUE"):
        parse_where(["gender"])
    with pytest.raises(ValidationError, match="Unknown format 'elan'"):
        plan_export(earmark.db, earmark.storage, ExportRequest(formats=("elan",)))


def export(earmark, tmp_path, **kw):
    request = ExportRequest(**({"query": CatalogueQuery(dataset="demo"), "count": 32, "seed": 5, "formats": ALL} | kw))
    plan, told = export_to_file(earmark.db, earmark.storage, request, tmp_path / "out.zip")
    zf = zipfile.ZipFile(tmp_path / "out.zip")
    manifest = json.loads(zf.read("manifest.json"))
    # the caller (the command line) is told the ZIP's manifest but its list of files, which grows with the subset
    assert told == {k: v for k, v in manifest.items() if k != "files"} and list(manifest)[-1] == "files"
    return plan, manifest, zf


def test_the_zip_checks_out_and_follows_the_layout(demo, tmp_path):
    earmark, sounds = demo
    plan, manifest, zf = export(earmark, tmp_path)
    assert zf.testzip() is None and plan.name == manifest["name"] == "demo32.zip"
    audio = [i for i in zf.infolist() if i.filename.startswith("audio/")]
    assert sorted(i.filename for i in audio) == sorted(f"audio/{s.path}" for s in sounds)
    assert all(i.compress_type == zipfile.ZIP_STORED for i in audio)
    assert zf.read(f"audio/{sounds[0].path}") == earmark.storage.read_bytes(sounds[0].file.key)
    assert {f["sha256"] for f in manifest["files"]} == {s.sha256 for s in sounds}
    assert manifest["request"]["seed"] == 5 and manifest["count_included"] == 32 and manifest["missing"] == []
    assert zf.read("manifest.json").decode() == json.dumps(manifest, indent=2)  # as json.dumps lays it out, though streamed


def test_metadata_csv_follows_the_audiofolder_rules(demo, tmp_path):
    earmark, sounds = demo
    _, _, zf = export(earmark, tmp_path, count=6)
    rows = list(csv.DictReader(io.StringIO(zf.read("metadata.csv").decode())))
    header = next(csv.reader(io.StringIO(zf.read("metadata.csv").decode())))
    assert header[0] == "file_name" and len(header) == len(set(header))
    audio = {i.filename for i in zf.infolist() if i.filename.startswith("audio/")}
    assert {r["file_name"] for r in rows} == audio and len(rows) == 6  # one row per audio file, paths relative
    filtered = list(csv.DictReader(io.StringIO(zf.read("filtered_metadata.csv").decode())))
    assert {r["path"] for r in filtered} == {f"audio/{p[len('audio/'):]}" for p in audio}  # the original rows
    assert list(filtered[0]) == ["file_name", *sounds[0].metadata_dict]  # named as in metadata.csv, then the original
    assert {r["file_name"] for r in filtered} == audio


def test_every_filtered_metadata_row_names_its_file(earmark, tmp_path):
    """Issue 26: a sound without metadata beside sounds with a path column was a bare ``,,,`` row, saying
    nothing about whose it was."""
    from core.ingest.pipeline import UploadOptions, ingest_audio
    from tests.conftest import wav_bytes

    vox = make_user(earmark.db, "vox", "dataset")
    options = UploadOptions(dataset="lab", max_bytes=10**7)
    ingest_audio(earmark.db, earmark.storage, vox, "a.wav", io.BytesIO(wav_bytes(freq=300)), options, {"path": "a.wav", "speaker": "s1"})
    ingest_audio(earmark.db, earmark.storage, vox, "b.wav", io.BytesIO(wav_bytes(freq=500)), options)
    _, _, zf = export(earmark, tmp_path, query=CatalogueQuery(dataset="lab"), count=2)
    rows = sorted(csv.reader(io.StringIO(zf.read("filtered_metadata.csv").decode())))
    assert rows == sorted([["file_name", "path", "speaker"], ["audio/a.wav", "a.wav", "s1"], ["audio/b.wav", "", ""]])


def test_an_audacity_label_is_one_line_whatever_its_text_holds():
    from types import SimpleNamespace

    from core.export.subset import _label

    assert _label(SimpleNamespace(tag_names=[], text="two\r\nlines,\ta tab\rand a return")) == "two lines, a tab and a return"
    assert _label(SimpleNamespace(tag_names=["kick", "loud"], text="ignored")) == "kick;loud"
    assert _label(SimpleNamespace(tag_names=[], text=" \r\n ")) == "annotation"


def test_annotation_formats_read_back(demo, tmp_path):
    earmark, sounds = demo
    _, _, zf = export(earmark, tmp_path)
    name = f"audio/{sounds[0].path}"
    table = list(csv.DictReader(io.StringIO(zf.read("annotations.csv").decode())))
    # DESIGN.md's columns first; then the review state (core/team/versions.py: "unassigned" outside team work)
    assert list(table[0]) == ["file_name", "start_seconds", "end_seconds", "tags", "text", "created_by", "annotation_id", "review_state"]
    assert {row["review_state"] for row in table} == {"unassigned"}
    assert [(r["file_name"], r["tags"], r["text"], r["created_by"]) for r in table] == [
        (name, "kick", "first", "hal"), (name, "kick;loud", "", "hal"), (name, "", "a breath", "hal")]
    regions = json.loads(zf.read("annotations.json"))
    assert regions[1]["labels"] == ["kick", "loud"] and (regions[1]["start"], regions[1]["end"]) == (0.75, 1.25)

    label_file = "labels/" + sounds[0].path.replace(".wav", ".txt")
    lines = [line.split("\t") for line in zf.read(label_file).decode().splitlines()]
    assert lines == [["0.500000", "1.000000", "kick"], ["0.750000", "1.250000", "kick;loud"], ["2.000000", "2.500000", "a breath"]]
    transcripts = zf.read("transcripts/" + sounds[0].path.replace(".wav", ".txt")).decode().splitlines()
    assert transcripts == ["0.500000\t1.000000\tfirst", "2.000000\t2.500000\ta breath"]  # the tagged segment's text kept

    grid_path = tmp_path / "g.TextGrid"
    grid_path.write_bytes(zf.read("textgrid/" + sounds[0].path.replace(".wav", ".TextGrid")))
    grid = textgrid.openTextgrid(str(grid_path), includeEmptyIntervals=False)
    assert sorted(grid.tierNames) == ["kick", "kick-2", "loud", "text"]  # overlapping kicks on two tiers
    assert [tuple(e) for e in grid.getTier("kick").entries] == [(0.5, 1.0, "kick")]
    assert [tuple(e) for e in grid.getTier("text").entries] == [(0.5, 1.0, "first"), (2.0, 2.5, "a breath")]  # beside "kick"
    assert grid.maxTimestamp == pytest.approx(sounds[0].duration_seconds)

    rttm = [line.split() for line in zf.read("annotations.rttm").decode().splitlines()]
    file_id = sounds[0].path.removesuffix(".wav")
    assert rttm[0] == ["SPEAKER", file_id, "1", "0.500", "0.500", "<NA>", "<NA>", "kick", "<NA>", "<NA>"]
    # a line per tag; "a breath", a transcript alone, is left out (RTTM has no text: trial item 21)
    assert [fields[7] for fields in rttm] == ["kick", "kick", "loud"] and all(len(fields) == 10 for fields in rttm)


@pytest.mark.parametrize("list_page", [1000, 1])  # fail checks first: by listing the dataset's folder, or one HEAD per file
def test_a_missing_file_is_listed_or_stops_the_export(demo, tmp_path, monkeypatch, list_page):
    import core.export.subset

    monkeypatch.setattr(core.export.subset, "LIST_PAGE", list_page)
    earmark, sounds = demo
    earmark.storage.delete(sounds[3].file.key)
    plan, manifest, zf = export(earmark, tmp_path)
    # believed present until its fetch failed while the ZIP streamed: named as it started, listed as missing
    assert manifest["missing"] == [sounds[3].path] and manifest["count_included"] == 31
    assert plan.name == "demo32.zip" == manifest["name"]
    assert f"audio/{sounds[3].path}" not in zf.namelist() and zf.testzip() is None
    with pytest.raises(StorageError, match=f"1 file\\(s\\) of the subset are missing from storage \\({sounds[3].path}\\)"):
        export(earmark, tmp_path, on_missing="fail")


def test_streaming_gives_the_same_zip_as_a_file(demo, tmp_path):
    earmark, _ = demo
    request = ExportRequest(CatalogueQuery(dataset="demo"), count=4, seed=9, formats=("csv",))
    streamed = zipfile.ZipFile(io.BytesIO(b"".join(stream_zip(plan_export(earmark.db, earmark.storage, request), earmark.storage))))
    plan, _ = export_to_file(earmark.db, earmark.storage, request, tmp_path / "f.zip")
    from_file = zipfile.ZipFile(tmp_path / "f.zip")
    assert streamed.testzip() is None
    assert [(i.filename, i.CRC) for i in streamed.infolist() if i.filename != "manifest.json"] == \
           [(i.filename, i.CRC) for i in from_file.infolist() if i.filename != "manifest.json"]


def test_zip_writes_to_an_unseekable_stream(demo):
    earmark, _ = demo

    class OneWay(io.RawIOBase):
        def __init__(self):
            self.data = bytearray()

        def writable(self):
            return True

        def write(self, b):
            self.data += b
            return len(b)

    out = OneWay()
    write_zip(plan_export(earmark.db, earmark.storage, ExportRequest(count=3, seed=1)), earmark.storage, out)
    assert zipfile.ZipFile(io.BytesIO(bytes(out.data))).testzip() is None


def test_exported_csvs_neutralise_formulas_and_keep_numbers(earmark, tmp_path):
    import io as _io

    from core.ingest.pipeline import UploadOptions, ingest_audio
    from tests.conftest import wav_bytes

    vox = make_user(earmark.db, "vox", "dataset")
    fields = {"speaker": "=HYPERLINK(\"http://evil/\",\"x\")", "gain": "-3.5"}
    sound_id = ingest_audio(earmark.db, earmark.storage, vox, "a.wav", _io.BytesIO(wav_bytes()),
                            UploadOptions(dataset="lab", max_bytes=10**7), fields).sound_id
    with earmark.db.write() as session:
        AnnotationService(session).create(vox, sound_id, start_seconds=0, end_seconds=0.5, tags=["x"], text="+cmd|' /C calc'!A0")
    _, _, zf = export(earmark, tmp_path, query=CatalogueQuery(dataset="lab"), count=1)
    rows = {name: list(csv.DictReader(_io.StringIO(zf.read(name).decode())))
            for name in ("filtered_metadata.csv", "metadata.csv", "annotations.csv")}
    for name in ("filtered_metadata.csv", "metadata.csv"):
        assert rows[name][0]["speaker"] == "'=HYPERLINK(\"http://evil/\",\"x\")" and rows[name][0]["gain"] == "-3.5"
    assert rows["annotations.csv"][0]["text"] == "'+cmd|' /C calc'!A0"


def test_metadata_column_names_are_spreadsheet_safe_like_the_values(earmark, tmp_path):
    """Column names come from uploaded tables and head filtered_metadata.csv and metadata.csv: a name that a
    spreadsheet would run is shown as text, with the same ``'`` as a value (issue 24); a name that would then
    clash with another column gets one more, so no column is lost."""
    import io as _io

    from core.ingest.pipeline import UploadOptions, ingest_audio
    from tests.conftest import wav_bytes

    vox = make_user(earmark.db, "vox", "dataset")
    fields = {'=HYPERLINK("http://evil/","x")': "a", "@SUM(1+1)": "b", "+cmd|' /C calc'!A0": "c", "-2": "d",
              "=clash": "e", "'=clash": "f", "speaker": "=1+1"}
    ingest_audio(earmark.db, earmark.storage, vox, "a.wav", _io.BytesIO(wav_bytes()), UploadOptions(dataset="lab", max_bytes=10**7),
                 fields)
    _, _, zf = export(earmark, tmp_path, query=CatalogueQuery(dataset="lab"), count=1)
    for name in ("filtered_metadata.csv", "metadata.csv"):
        [row] = list(csv.DictReader(_io.StringIO(zf.read(name).decode())))
        assert {k: v for k, v in row.items() if k not in ("file_name", "dataset", "tags", "duration_seconds")} == {
            "'=HYPERLINK(\"http://evil/\",\"x\")": "a", "'@SUM(1+1)": "b", "'+cmd|' /C calc'!A0": "c", "-2": "d",
            "''=clash": "e", "'=clash": "f", "speaker": "'=1+1"}, name
        assert row["file_name"] == "audio/a.wav"


def test_a_subset_spanning_datasets_gives_every_member_its_own_name(earmark, tmp_path):
    from pathlib import PurePosixPath
    from urllib.parse import unquote

    from core.ingest.pipeline import UploadOptions, ingest_audio
    from tests.conftest import wav_bytes

    vox, hal = make_user(earmark.db, "vox", "dataset"), make_user(earmark.db, "hal")
    files = {"spk1/a.wav": wav_bytes(freq=300), "spk1/a.flac": wav_bytes(freq=310, fmt="FLAC"), "spk 2/b c.wav": wav_bytes(freq=320)}
    for n, dataset in enumerate(("one", "two")):  # the same paths in both datasets
        for path, data in files.items():
            data = data if n == 0 else wav_bytes(freq=400 + len(path), fmt="FLAC" if path.endswith(".flac") else "WAV")
            sound_id = ingest_audio(earmark.db, earmark.storage, vox, path, io.BytesIO(data), UploadOptions(dataset=dataset, max_bytes=10**7),
                                    {"speaker": path.split("/")[0]}).sound_id
            with earmark.db.write() as session:
                AnnotationService(session).create(hal, sound_id, start_seconds=0.1, end_seconds=0.4, tags=["x"], text=dataset)
    plan, manifest, zf = export(earmark, tmp_path, query=CatalogueQuery(), count=100)

    names = zf.namelist()
    assert len(names) == len(set(names)) and zf.testzip() is None
    audio = {n for n in names if n.startswith("audio/")}
    assert audio == {f"audio/{d}/{p}" for d in ("one", "two") for p in files}
    assert {f["file_name"] for f in manifest["files"]} == audio and len({f["sound_id"] for f in manifest["files"]}) == 6
    for table in ("metadata.csv", "filtered_metadata.csv"):
        assert sorted(r["file_name"] for r in csv.DictReader(io.StringIO(zf.read(table).decode()))) == sorted(audio)
    rows = list(csv.DictReader(io.StringIO(zf.read("annotations.csv").decode())))
    assert sorted(r["file_name"] for r in rows) == sorted(audio)  # one annotation each, on the right sound
    assert all(r["text"] == r["file_name"].split("/")[1] for r in rows)
    assert sorted(r["file_name"] for r in json.loads(zf.read("annotations.json"))) == sorted(audio)

    def member_of(stem: str) -> str:
        """The one audio member an annotation file's stem names (with or without its extension)."""
        found = [a for a in audio if a.removeprefix("audio/") == stem or str(PurePosixPath(a.removeprefix("audio/")).with_suffix("")) == stem]
        assert len(found) == 1, (stem, found)
        return found[0]

    labels = [n.removeprefix("labels/").removesuffix(".txt") for n in names if n.startswith("labels/")]
    grids = [n.removeprefix("textgrid/").removesuffix(".TextGrid") for n in names if n.startswith("textgrid/")]
    rttm_ids = {unquote(line.split()[1]) for line in zf.read("annotations.rttm").decode().splitlines()}
    for stems in (labels, grids, rttm_ids):
        assert sorted(member_of(stem) for stem in stems) == sorted(audio)
    assert "labels/one/spk1/a.wav.txt" in names and "labels/two/spk 2/b c.txt" in names  # a.wav and a.flac kept apart
    assert "one/spk%202/b%20c" in zf.read("annotations.rttm").decode()  # one whitespace-free field per file id


def test_a_zip_written_a_window_at_a_time_is_the_zip_of_the_whole(demo, tmp_path, monkeypatch):
    """Issue 28: windows of 3 sounds give every member one window gives, byte for byte (the tables joined across
    windows, a.wav and a.flac in two windows keeping their extensions, metadata columns in the order the sounds
    first show them, a file gone from storage listed), and no window reads the rows of more than its 3 sounds."""
    from core.export import outline, sampling
    from core.ingest.pipeline import UploadOptions, ingest_audio
    from tests.conftest import wav_bytes

    earmark, sounds = demo
    vox, hal = make_user(earmark.db, "vox", "dataset"), make_user(earmark.db, "hal2")
    for n, (path, fields) in enumerate([("a.wav", {"mood": "calm"}), ("a.flac", {}), ("b.wav", {"file_name": "own.wav"})]):
        data = wav_bytes(freq=300 + 10 * n, fmt="FLAC" if path.endswith(".flac") else "WAV")
        sound_id = ingest_audio(earmark.db, earmark.storage, vox, path, io.BytesIO(data), UploadOptions(dataset="lab", max_bytes=10**7),
                                fields).sound_id
        with earmark.db.write() as session:
            AnnotationService(session).create(hal, sound_id, start_seconds=0.1, end_seconds=0.4, tags=["x"], text=path)
    earmark.storage.delete(sounds[30].file.key)
    request = ExportRequest(count=100, seed=3, formats=ALL)

    def written(name: str) -> dict[str, bytes]:
        with open(tmp_path / name, "wb") as out:
            write_zip(plan_export(earmark.db, earmark.storage, request), earmark.storage, out)
        with zipfile.ZipFile(tmp_path / name) as zf:
            assert zf.testzip() is None and len(zf.namelist()) == len(set(zf.namelist()))
            return {n: zf.read(n) for n in zf.namelist()}

    whole = written("whole.zip")
    monkeypatch.setattr(outline, "WINDOW", 3)
    loaded, load = [], sampling.load
    monkeypatch.setattr(sampling, "load", lambda session, ids: loaded.append(len(ids)) or load(session, ids))
    windowed = written("windowed.zip")
    assert max(loaded) <= 3 and sum(loaded) >= 35  # every sound's rows read, 3 at a time
    manifests = [json.loads(members.pop("manifest.json")) for members in (whole, windowed)]
    assert windowed == whole and [m.pop("created_at") for m in manifests] and manifests[0] == manifests[1]
    assert manifests[0]["missing"] == [f"demo/{sounds[30].path}"] and manifests[0]["count_included"] == 34 == len(manifests[0]["files"])
    assert {"labels/lab/a.wav.txt", "labels/lab/a.flac.txt", "labels/lab/b.txt"} <= set(windowed)
    header = next(csv.reader(io.StringIO(windowed["metadata.csv"].decode())))
    assert header[0] == "file_name" and header[-3:] == ["mood", "dataset", "tags"]  # lab's own column after demo's, then Earmark's
    rows = {r["file_name"]: r for r in csv.DictReader(io.StringIO(windowed["metadata.csv"].decode()))}
    assert rows["audio/lab/a.wav"]["mood"] == "calm" and rows["audio/lab/b.wav"]["dataset"] == "lab" and len(rows) == 34
    filtered = list(csv.DictReader(io.StringIO(windowed["filtered_metadata.csv"].decode())))
    assert filtered[-1]["file_name"] == "own.wav" and len(filtered) == 34  # an original file_name column wins there
    table = list(csv.DictReader(io.StringIO(windowed["annotations.csv"].decode())))
    assert len(table) == 3 + 3 and table[-1]["file_name"] == "audio/lab/b.wav"  # demo's three, then one per lab sound
    assert [r["file_name"] for r in json.loads(windowed["annotations.json"])] == [r["file_name"] for r in table]


def test_a_zip_whose_directory_waits_on_disk_is_the_zip_zipfile_writes():
    """core/export/spools.py's SpooledZipFile keeps the central directory in a temporary file: the same members
    give the same bytes as zipfile's own ZipFile (deflated and stored members, a Zip64 one, a comment)."""
    from core.export.spools import SpooledZipFile

    def written(make) -> bytes:
        out = io.BytesIO()
        with make(out) as zf:
            for n in range(50):
                info = zipfile.ZipInfo(f"audio/ü{n:03d}.wav", date_time=(2026, 12, 4, 16, 0, n))
                info.compress_type, info.comment = zipfile.ZIP_STORED if n % 2 else zipfile.ZIP_DEFLATED, b"c" * (n % 3)
                with zf.open(info, "w", force_zip64=n == 7) as member:
                    member.write(bytes([n]) * (n * 100))
            zf.comment = b"subset"
            if isinstance(zf, SpooledZipFile):  # 50 members listed, none of them held in memory
                assert len(zf.filelist) == 50 and list.__len__(zf.filelist) == 0 == dict.__len__(zf.NameToInfo)
        return out.getvalue()

    spooled = written(lambda out: SpooledZipFile(out, compression=zipfile.ZIP_DEFLATED, allowZip64=True))
    assert spooled == written(lambda out: zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True))
    with zipfile.ZipFile(io.BytesIO(spooled)) as zf:
        assert zf.testzip() is None and len(zf.namelist()) == 50 and zf.read("audio/ü049.wav") == bytes([49]) * 4900


def test_a_subset_of_one_dataset_keeps_its_own_layout(demo, tmp_path):
    earmark, sounds = demo
    _, manifest, zf = export(earmark, tmp_path, count=3, seed=2)
    assert all(n.startswith("audio/id") for n in zf.namelist() if n.startswith("audio/"))  # no dataset folder
    path_of = {s.id: s.path for s in sounds}
    assert len(manifest["files"]) == 3 and all(f["file_name"] == f"audio/{path_of[f['sound_id']]}" for f in manifest["files"])


def _open_spools() -> int:
    """Temporary files this process holds open (spools rolled over to disk are unlinked at once)."""
    import os

    return sum("(deleted)" in os.readlink(f"/proc/self/fd/{fd}") for fd in os.listdir("/proc/self/fd")
               if os.path.exists(f"/proc/self/fd/{fd}"))


def _threads_gone(*names: str, within: float = 10.0) -> bool:
    """Whether every thread named ``names...`` has ended within ``within`` seconds: joined (it ends, or the time is
    up), not polled."""
    import threading
    import time

    deadline = time.monotonic() + within
    while alive := [t for t in threading.enumerate() if t.name.startswith(names)]:
        if time.monotonic() >= deadline:
            return False
        alive[0].join(max(0.0, deadline - time.monotonic()))
    return True


def test_a_dropped_download_frees_its_writer_fetches_and_spools(demo, monkeypatch):
    import asyncio

    import core.export.subset

    monkeypatch.setattr(core.export.subset, "SPOOL_IN_MEMORY", 1)  # every fetched file spooled to disk
    monkeypatch.setattr(core.export.subset, "CHUNK", 16 * 1024)  # many chunks: the writer is far ahead when dropped
    earmark, _ = demo
    plan = plan_export(earmark.db, earmark.storage, ExportRequest(CatalogueQuery(dataset="demo"), count=32, seed=1))
    assert _threads_gone("zip", "export") and (before := _open_spools()) is not None

    chunks = iter(stream_zip(plan, earmark.storage))  # as the HTTP response reads it: one chunk, then gone
    assert next(chunks).startswith(b"PK")
    chunks.close()
    assert _threads_gone("zip", "export") and _open_spools() == before

    from core.api.subsets import _streamed
    from core.export.links import LinkedExport

    sent: list[dict] = []

    async def serve() -> None:  # the API's response: its client disconnects after the first chunk
        first = asyncio.Event()

        async def send(message: dict) -> None:
            sent.append(message)
            if message.get("body"):
                first.set()

        async def receive() -> dict:
            await first.wait()
            return {"type": "http.disconnect"}

        response = _streamed(earmark, LinkedExport(ExportRequest(CatalogueQuery(dataset="demo"), count=32, seed=1)))
        await response({"type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"}}, receive, send)

    asyncio.run(serve())
    assert any(m.get("body") for m in sent) and not any(m.get("more_body") is False for m in sent)  # cut short
    assert _threads_gone("zip", "export") and _open_spools() == before  # at once: no garbage collection needed


@pytest.mark.parametrize("name", ["a.wav", "a/b.wav", "a/.wav", "a/b.", "a.b/c", "a.tar.gz", "x", ".hidden", "d.s/..wav",
                                  "a/b..wav", "a/b/c.flac", "über/ü.WAV", "id1/v.2/00001"])
def test_a_stem_is_the_name_without_its_last_suffix_as_pathlib_says(name):
    from pathlib import PurePosixPath

    from core.export.subset import without_suffix

    assert without_suffix(name) == str(PurePosixPath(name).with_suffix(""))
