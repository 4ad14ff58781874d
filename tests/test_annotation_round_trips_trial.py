"""Round trips a user trial found wrong (items 4 and 21), beside tests/test_annotation_round_trips.py's: a NeMo
manifest of clips comes back at the clips' times in their sounds; a tag-only and a text-only region with the same
times come back from ELAN as two regions; the rows a training export writes for a sound nobody annotated (NeMo,
Kaldi) are counted as whole-file rows without text, not named as bad rows. Real audio, decoded by the exporters; on
SQLite, and on PostgreSQL with EARMARK_TEST_DATABASE_URL."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from sqlalchemy import select

from core.annotations.imports.detect import ImportFile
from core.annotations.imports.service import import_annotations
from core.annotations.service import AnnotationService
from core.catalogue.search import CatalogueQuery
from core.export.formats import FormatOptions, Segments, export_formats
from core.export.subset import ExportRequest, export_to_file
from core.ingest.pipeline import UploadOptions, ingest_audio
from core.store.models import Sound
from tests.conftest import make_user, wav_bytes
from tests.test_annotation_round_trips import ORIGINAL, back, same

# the same times, one region a tag alone and the other a transcript alone (by the same person)
PAIR = [("speaker2/c.flac", 0.5, 1.25, ("cough",), None), ("speaker2/c.flac", 0.5, 1.25, (), "excuse me")]
SOUNDS = (("speaker1/a.wav", 300), ("speaker2/b.wav", 500), ("speaker2/c.flac", 700), ("speaker3/d.wav", 900))
# the sound nobody annotates has a tag and a transcript of its own: a training export's row carries them, no region
UNANNOTATED = {"speaker3/d.wav": {"tags": ("read",), "extra": {"text": "a sentence from the metadata"}}}


@pytest.fixture
def annotated(local_earmark):
    """ORIGINAL and PAIR annotated by ann on four sounds of 3 s; speaker3/d.wav is not annotated."""
    owner = make_user(local_earmark.db, "vox", "dataset")
    ids = {path: ingest_audio(local_earmark.db, local_earmark.storage, owner, path,
                              io.BytesIO(wav_bytes(seconds=3.0, freq=freq, fmt="FLAC" if path.endswith(".flac") else "WAV")),
                              UploadOptions(dataset="vox", max_bytes=10**8, **UNANNOTATED.get(path, {}))).sound_id
           for path, freq in SOUNDS}
    ann = make_user(local_earmark.db, "ann")
    with local_earmark.db.write() as session:
        service = AnnotationService(session)
        for path, start, end, tags, text in ORIGINAL + PAIR:
            service.create(ann, ids[path], start_seconds=start, end_seconds=end, tags=list(tags), text=text)
    return local_earmark


def written(earmark, tmp_path, formats: str, segments: Segments = Segments.OFFSETS) -> dict[str, bytes]:
    """The dataset exported in ``formats``: its files but the audio, by their path under the export's folder."""
    out = tmp_path / f"{formats}-{segments.value}"
    export_formats(earmark.db, earmark.storage, earmark.settings, ExportRequest(CatalogueQuery(dataset="vox"), count=10),
                   formats, str(out), FormatOptions(segments=segments))
    return {f.relative_to(out).as_posix(): f.read_bytes() for f in out.rglob("*")
            if f.is_file() and f.relative_to(out).parts[0] not in ("audio", "clips")}


def test_a_nemo_manifest_of_clips_comes_back_at_the_clips_times(annotated, tmp_path):
    """Item 4: each clip's row carries its start in the sound (source_offset) beside sound_id; imported, every
    segment is back at its time (within 1 ms), with its tags and text, and the un-annotated sound's whole-file row
    is counted apart."""
    files = written(annotated, tmp_path, "nemo", Segments.CLIPS)
    rows = [json.loads(line) for line in files["nemo_manifest.json"].decode().splitlines()]
    clips = [row for row in rows if row["audio_filepath"].startswith("clips/")]
    assert len(clips) == len(ORIGINAL + PAIR) and all("offset" not in row for row in clips)
    assert sorted(row["source_offset"] for row in clips) == sorted(start for _, start, _, _, _ in ORIGINAL + PAIR)
    got, report = back(annotated, "back-clips", {"nemo_manifest.json": files["nemo_manifest.json"]})
    assert not report.problems, [str(p) for p in report.problems]
    same(got, ORIGINAL + PAIR)
    assert report.whole_without_text == 1 and report.line().endswith(
        "0 rows left out, 1 whole-sound row skipped (a sound's own tags and text, not a region)")


def test_a_kaldi_folder_of_clips_is_refused_row_by_row_saying_why_and_what_to_import_instead(annotated, tmp_path):
    """Kaldi has no field for where a clip starts in its sound: each clip's utterance is named as left out with
    that reason (not 'no sound is ...'), pointing at the NeMo manifest of the same export."""
    files = written(annotated, tmp_path, "kaldi", Segments.CLIPS)
    kaldi = {name: data for name, data in files.items() if name.startswith("kaldi/")}
    got, report = back(annotated, "back-kaldi-clips", kaldi)
    assert got == [] and len(report.problems) == len(kaldi["kaldi/text"].decode().splitlines())  # the units with words
    assert all("is a clip an export cut (--segments clips)" in str(p) and "NeMo manifest" in str(p) for p in report.problems)


def test_a_nemo_manifest_of_offsets_skips_the_whole_file_rows(annotated, tmp_path):
    """Item 21: importing Earmark's own NeMo export names no bad row; the un-annotated sound's row (with the sound's
    own tag) is counted, not made a region."""
    files = written(annotated, tmp_path, "nemo")
    [whole] = [row for row in map(json.loads, files["nemo_manifest.json"].decode().splitlines()) if "offset" not in row]
    assert whole["audio_filepath"] == "audio/speaker3/d.wav" and whole["tags"] == ["read"]
    got, report = back(annotated, "back-nemo", {"nemo_manifest.json": files["nemo_manifest.json"]})
    assert not report.problems, [str(p) for p in report.problems]
    same(got, ORIGINAL + PAIR)
    assert report.whole_without_text == 1


def test_elan_keeps_a_tag_only_and_a_text_only_region_with_the_same_times_apart(annotated, tmp_path):
    """Item 21: the two regions of PAIR come back as two, not merged into one with a tag and a text; a region with
    tags and a transcript (ORIGINAL's first) still comes back as one."""
    files = written(annotated, tmp_path, "eaf")
    assert set(files) >= {"eaf/speaker1/a.eaf", "eaf/speaker2/c.eaf"}
    got, report = back(annotated, "back-eaf", {n: d for n, d in files.items() if n.startswith("eaf/")})
    assert not report.problems, [str(p) for p in report.problems]
    same(got, ORIGINAL + PAIR)


def test_a_kaldi_folder_s_utterances_without_words_over_a_whole_file_are_skipped(annotated):
    """Item 21: a Kaldi folder as Earmark writes it for an un-annotated sound (a segment over the whole file, its
    text line its id alone, or the sound's metadata transcript under the utterance id <speaker>-<sound id>) is
    counted as a whole-file row without text, not made a region; a segment without words that is not the whole
    file is still named as a row left out; a whole-file transcript of another tool's naming is a region."""
    with annotated.db.read() as session:
        d = session.scalar(select(Sound.id).where(Sound.path == "speaker3/d.wav"))
    files = {"data/wav.scp": f"r1 speaker1/a.wav\n{d} speaker3/d.wav\nr5 speaker3/d.wav\n".encode(),
             "data/segments": f"u1 r1 0.250 1.500\nu2 r1 2.125 2.875\nu4 {d} 0.000 3.000\n"
                              f"speaker3-{d} {d} 0.000 3.000\nu5 r5 0.000 3.000\n".encode(),
             "data/text": f"u1 hello there\nu2\nu4\nspeaker3-{d} a sentence from the metadata\nu5 read aloud\n".encode()}
    got, report = back(annotated, "back-kaldi", files)
    assert got == [("speaker1/a.wav", 0.25, 1.5, (), "hello there", None),
                   ("speaker3/d.wav", 0.0, 3.0, (), "read aloud", None)]
    assert report.whole_without_text == 2
    assert [p.where for p in report.problems] == ["line 2"]
    assert "needs at least one tag, a text or a data_url" in report.problems[0].reason


def test_an_import_of_nothing_but_whole_file_rows_writes_nothing(annotated):
    """A NeMo manifest of un-annotated sounds only: nothing written, nothing left out, each row counted; a clip
    row without source_offset (an older export) is named, not put at 0."""
    person = make_user(annotated.db, "empty")
    manifest = (b'{"audio_filepath": "audio/speaker3/d.wav", "duration": 3.0, "text": ""}\n'
                b'{"audio_filepath": "clips/x.wav", "duration": 0.5, "text": "hi", "tags": [], "sound_id": "abc"}\n')
    report = import_annotations(annotated.db, person, "vox", [ImportFile("nemo_manifest.json", manifest)])
    assert (report.imported, report.whole_without_text) == (0, 1)
    assert [str(p) for p in report.problems] == [
        "nemo_manifest.json, line 2: clips/x.wav is a clip without source_offset (an Earmark export older than that "
        "field): its time in its sound is unknown; export the clips again."]


def test_rttm_leaves_out_regions_without_a_tag_and_its_manifest_says_so(annotated, tmp_path):
    """Item 21: a transcript-only region is not written to annotations.rttm (it came back from an import as the
    tag 'annotation'); the ZIP's manifest.json says regions without a tag are left out, and only when RTTM is in."""
    request = ExportRequest(CatalogueQuery(dataset="vox"), count=10, formats=("csv", "rttm"))
    export_to_file(annotated.db, annotated.storage, request, tmp_path / "vox.zip")
    with zipfile.ZipFile(tmp_path / "vox.zip") as zf:
        rttm, manifest = zf.read("annotations.rttm").decode(), json.loads(zf.read("manifest.json"))
    assert len(rttm.splitlines()) == sum(len(tags) for _, _, _, tags, _ in ORIGINAL + PAIR)
    assert " annotation " not in rttm and " cough " in rttm
    assert manifest["notes"] == {"annotations.rttm": "regions without a tag are left out: RTTM has no field for a transcript"}
    got, report = back(annotated, "back-rttm", {"annotations.rttm": rttm.encode()})
    assert not report.problems
    same(got, [(p, s, e, tags, None) for p, s, e, tags, _ in ORIGINAL + PAIR if tags])
    csv_only = ExportRequest(CatalogueQuery(dataset="vox"), count=10, formats=("csv",))
    export_to_file(annotated.db, annotated.storage, csv_only, tmp_path / "csv.zip")
    with zipfile.ZipFile(tmp_path / "csv.zip") as zf:
        assert "notes" not in json.loads(zf.read("manifest.json"))
