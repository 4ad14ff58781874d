"""Annotations in from other tools (issue 28, item 3): each format with good and bad rows, matching rows to sounds,
the rest of a file going in past a bad row, a file that is not its format refused whole with nothing written, and
importing the same file twice not doubling. On SQLite, and on PostgreSQL with EARMARK_TEST_DATABASE_URL."""

from __future__ import annotations

import io
import json
import threading

import pytest
from praatio import textgrid
from praatio.utilities.constants import Interval, Point
from pympi import Elan
from sqlalchemy import func, select

from core.annotations.imports.detect import ImportFile, detect, read_files
from core.annotations.imports.service import import_annotations
from core.annotations.service import AnnotationFilter, AnnotationService
from core.errors import NotFound, PermissionDenied, ValidationError
from core.ingest.pipeline import UploadOptions, ingest_audio
from core.store.models import Annotation, Sound, User
from core.store.paging import PageRequest
from tests.conftest import make_user, wav_bytes

PATHS = ("speaker1/a.wav", "speaker2/b.wav", "speaker2/c.flac")


@pytest.fixture
def corpus(local_earmark):
    """A dataset of three real sounds (decoded at ingest): 3 s each, c.flac in stereo."""
    owner = make_user(local_earmark.db, "vox", "dataset")
    options = UploadOptions(dataset="vox", max_bytes=10**8)
    ids = {}
    for path, freq in zip(PATHS, (300, 500, 700), strict=True):
        fmt = "FLAC" if path.endswith(".flac") else "WAV"
        data = wav_bytes(seconds=3.0, freq=freq, fmt=fmt, channels=2 if fmt == "FLAC" else 1)
        result = ingest_audio(local_earmark.db, local_earmark.storage, owner, path, io.BytesIO(data), options)
        ids[path] = result.sound_id
    return local_earmark, owner, ids


def annotations_of(db, user_name: str) -> list[tuple[str, float, float, tuple[str, ...], str | None, int | None]]:
    """(path, start, end, tags, text, channel) of the user's annotations, sorted."""
    with db.read() as session:
        user = session.scalar(select(User).where(User.user_name == user_name))
        if user is None:
            return []
        page = AnnotationService(session).list(PageRequest(page_size=1000), AnnotationFilter(created_by=user.id))
        paths = dict(session.execute(select(Sound.id, Sound.path)).all())
        return sorted((paths[a.sound_id], round(a.start_seconds, 6), round(a.end_seconds, 6), tuple(a.tag_names), a.text, a.channel)
                      for a in page.items)


def run(earmark, user, *files: tuple[str, bytes], **options):
    return import_annotations(earmark.db, user, "vox", [ImportFile(name, data) for name, data in files], **options)


RTTM = b"""SPEAKER a 1 0.500 1.000 <NA> <NA> alice <NA> <NA>
SPEAKER a 1 0.500 1.000 <NA> <NA> bob <NA> <NA>
SPKR-INFO a 1 <NA> <NA> <NA> unknown alice <NA> <NA>
SPEAKER speaker2/b 1 1.000 0.250 <NA> <NA> carol <NA> <NA>
SPEAKER a 1 abc 1.0 <NA> <NA> dave <NA> <NA>
SPEAKER nowhere 1 0.1 0.2 <NA> <NA> erin <NA> <NA>
SPEAKER a 1 2.5 1.0 <NA> <NA> frank <NA> <NA>
SPEAKER a 2 0.0 0.5 <NA> <NA> gina <NA> <NA>
"""


def test_rttm_good_rows_go_in_and_each_bad_row_is_named(corpus):
    earmark, _, _ = corpus
    hal = make_user(earmark.db, "hal")
    report = run(earmark, hal, ("diarization.rttm", RTTM))
    assert annotations_of(earmark.db, "hal") == [
        ("speaker1/a.wav", 0.5, 1.5, ("alice", "bob"), None, None),  # two lines of one segment: one annotation
        ("speaker2/b.wav", 1.0, 1.25, ("carol",), None, None),
    ]
    problems = [str(p) for p in report.problems]
    assert problems[0] == "diarization.rttm, line 5: the onset (field 4) must be a number, not 'abc'."
    assert problems[1].startswith("diarization.rttm, line 6: no sound of vox is 'nowhere'")
    assert problems[2].startswith("diarization.rttm, line 7: The segment ends at 3.500 s, past the end of the sound (3.000 s)")
    assert problems[3].startswith("diarization.rttm, line 8: channel must be from 0 to 0 for this sound")
    assert len(problems) == 4
    assert (report.imported, report.already) == (2, 0)
    assert report.line() == "1 file (rttm): 2 annotations imported as hal's, 0 already there, 4 rows left out"


def test_the_same_file_twice_does_not_double(corpus):
    earmark, _, _ = corpus
    hal = make_user(earmark.db, "hal")
    run(earmark, hal, ("diarization.rttm", RTTM))
    again = run(earmark, hal, ("diarization.rttm", RTTM))
    assert (again.imported, again.already) == (0, 2)
    assert len(annotations_of(earmark.db, "hal")) == 2
    with earmark.db.read() as session:  # the sounds' counts moved once
        assert session.scalar(select(Sound.annotation_count).where(Sound.path == "speaker1/a.wav")) == 1
    other = make_user(earmark.db, "ida")  # someone else's import is theirs, not a duplicate of hal's
    assert run(earmark, other, ("diarization.rttm", RTTM)).imported == 2


def test_two_identical_rows_in_one_file_are_one_annotation(corpus):
    earmark, _, _ = corpus
    hal = make_user(earmark.db, "hal")
    report = run(earmark, hal, ("a.txt", b"0.1\t0.2\tdog\n0.1\t0.2\tdog\n"))
    assert (report.imported, report.already) == (1, 1)


def test_a_file_that_is_not_its_format_is_refused_whole_with_nothing_written(corpus):
    earmark, _, _ = corpus
    hal = make_user(earmark.db, "hal")
    with pytest.raises(ValidationError, match=r"^notes.rttm is not an RTTM file: line 1: 'Dear' is not an RTTM segment type"):
        run(earmark, hal, ("good.rttm", RTTM), ("notes.rttm", b"Dear diary,\nnothing here.\n"))
    with pytest.raises(ValidationError, match=r"^grid.TextGrid is not a Praat TextGrid"):
        run(earmark, hal, ("grid.TextGrid", b"<html>not a grid</html>"))
    with pytest.raises(ValidationError, match=r"^x.eaf is not an ELAN document"):
        run(earmark, hal, ("x.eaf", b"\x89PNG\r\n"))
    with pytest.raises(ValidationError, match=r"^table.csv is not a CSV of annotations: its first line must name"):
        run(earmark, hal, ("table.csv", b"name,age\nann,3\n"))
    with pytest.raises(ValidationError, match=r"^ls.json is not JSON \(line 1"):
        run(earmark, hal, ("ls.json", b"[{oops"))
    with pytest.raises(ValidationError, match=r"^bin.rttm is not a text file"):
        run(earmark, hal, ("bin.rttm", b"\xff\xd8\xff\xe0 jpeg"))
    assert annotations_of(earmark.db, "hal") == []
    with earmark.db.read() as session:
        assert session.scalar(select(func.count()).select_from(Annotation)) == 0


def test_an_unknown_dataset_and_an_unknown_format_are_one_sentence(corpus):
    earmark, _, _ = corpus
    hal = make_user(earmark.db, "hal")
    with pytest.raises(NotFound, match="There is no dataset 'nope'"):
        import_annotations(earmark.db, hal, "nope", [ImportFile("a.rttm", RTTM)])
    with pytest.raises(ValidationError, match="Cannot tell the annotation format of notes: name it with --format"):
        run(earmark, hal, ("notes", b"hello\n"))
    with pytest.raises(ValidationError, match="Unknown annotation format 'elan'"):
        run(earmark, hal, ("a.rttm", RTTM), fmt="elan")


def test_matching_by_path_stem_and_id_and_ambiguity(corpus):
    earmark, owner, ids = corpus
    ingest_audio(  # a second b: the stem 'b' alone is now ambiguous
        earmark.db, earmark.storage, owner, "speaker3/b.wav", io.BytesIO(wav_bytes(seconds=3.0, freq=900)),
                 UploadOptions(dataset="vox", max_bytes=10**8))
    hal = make_user(earmark.db, "hal")
    table = ("file,start,end,label,text\n"
             "/home/me/corpus/speaker1/a.wav,0,1,x,\n"  # an absolute path: its trailing part
             "audio/speaker2/c.flac,0,1,,said\n"  # an export's file_name
             f"{ids['speaker2/c.flac']},1,2,y,\n"  # a sound id
             "b,0,1,z,\n"  # two sounds named b
             "speaker3/b,0,1,w,\n"  # the stem with its folder: one sound
             "/data/upload/4/8f2c1a7e-a.wav,2,3,v,\n")  # Label Studio's upload name
    report = run(earmark, hal, ("t.csv", table.encode()))
    assert annotations_of(earmark.db, "hal") == [
        ("speaker1/a.wav", 0.0, 1.0, ("x",), None, None), ("speaker1/a.wav", 2.0, 3.0, ("v",), None, None),
        ("speaker2/c.flac", 0.0, 1.0, (), "said", None), ("speaker2/c.flac", 1.0, 2.0, ("y",), None, None),
        ("speaker3/b.wav", 0.0, 1.0, ("w",), None, None)]
    assert [str(p) for p in report.problems] == [
        "t.csv, line 5: 'b' could be more than one sound of vox (speaker2/b.wav, speaker3/b.wav, ...): name it by its path."]


def test_suggestions_come_in_as_a_named_featurebots_and_reviewed_ones_stay_out(corpus):
    earmark, owner, _ = corpus
    report = run(earmark, owner, ("a.txt", b"0.1\t0.6\tdog\n1.0\t1.5\tcat\n"), as_suggestions=True, bot="diarizer")
    assert report.imported == 2 and report.author == "bot-diarizer"
    with earmark.db.read() as session:
        bot = session.scalar(select(User).where(User.user_name == "bot-diarizer"))
        assert bot.user_type == "featurebot"
        made = session.scalars(select(Annotation).where(Annotation.created_by == bot.id).order_by(Annotation.start_seconds)).all()
        assert {a.source for a in made} == {"diarizer:import"}
        dog = made[0].id
    hal = make_user(earmark.db, "hal")
    with earmark.db.write() as session:
        AnnotationService(session).reject(hal, dog)
    again = run(earmark, owner, ("a.txt", b"0.1\t0.6\tdog\n1.0\t1.5\tcat\n"), as_suggestions=True, bot="diarizer")
    assert (again.imported, again.already) == (0, 2)  # the rejected one is not suggested again, the other is there
    assert [a[3] for a in annotations_of(earmark.db, "bot-diarizer")] == [("cat",)]


def test_suggestions_need_a_data_owner_and_a_plain_bot_name(corpus):
    earmark, owner, _ = corpus
    hal = make_user(earmark.db, "hal")
    with pytest.raises(PermissionDenied, match="import annotations as a featurebot's suggestions"):
        run(earmark, hal, ("a.txt", b"0.1\t0.6\tdog\n"), as_suggestions=True)
    with pytest.raises(ValidationError, match="featurebot's name"):
        run(earmark, owner, ("a.txt", b"0.1\t0.6\tdog\n"), as_suggestions=True, bot="x:y")
    with pytest.raises(ValidationError, match="bot-hal2 is a human account"):
        make_user(earmark.db, "bot-hal2")
        run(earmark, owner, ("a.txt", b"0.1\t0.6\tdog\n"), as_suggestions=True, bot="hal2")


def test_two_imports_of_one_file_at_once_write_it_once(corpus):
    """The author's row is locked for the import: of two at once, the second finds the first's rows."""
    earmark, _, _ = corpus
    hal = make_user(earmark.db, "hal")
    reports, failures = [], []

    def one():
        try:
            reports.append(run(earmark, hal, ("diarization.rttm", RTTM)))
        except Exception as exc:  # noqa: BLE001 (reported below)
            failures.append(exc)

    threads = [threading.Thread(target=one) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not failures
    assert sorted(r.imported for r in reports) == [0, 2]
    assert len(annotations_of(earmark.db, "hal")) == 2


def test_an_import_waits_for_its_authors_other_write_and_then_sees_it(corpus):
    """Deterministic form of the test above: while another transaction holds hal's row (as a concurrent import of
    hal's does) and has written one of the file's annotations, the import waits; once that commits, the import
    finds the annotation there. Without the lock, PostgreSQL's import would read before the commit and write it
    a second time."""
    earmark, _, ids = corpus
    hal = make_user(earmark.db, "hal")
    reports = []
    importer = threading.Thread(target=lambda: reports.append(run(earmark, hal, ("diarization.rttm", RTTM))))
    with earmark.db.write() as session:
        session.execute(select(User.id).where(User.id == hal.id).with_for_update())
        AnnotationService(session).create(hal, ids["speaker1/a.wav"], start_seconds=0.5, end_seconds=1.5, tags=["alice", "bob"])
        importer.start()
        importer.join(1.0)
        assert importer.is_alive(), "the import did not wait for the other write of its author"
    importer.join(60)
    assert (reports[0].imported, reports[0].already) == (1, 1)
    assert len(annotations_of(earmark.db, "hal")) == 2


@pytest.mark.parametrize("name, head, expected", [
    ("x.rttm", b"", "rttm"), ("x.TextGrid", b"", "textgrid"), ("x.eaf", b"", "eaf"), ("x.csv", b"", "csv"),
    ("x.tsv", b"", "csv"), ("manifest.jsonl", b"", "nemo"), ("labels.txt", b"0.5\t1.0\tdog\n", "audacity"),
    ("out.txt", b"SPEAKER a 1 0 1 <NA> <NA> x <NA> <NA>\n", "rttm"), ("export.json", b'[{"data": {}}]', "labelstudio"),
    ("manifest.json", b'{"audio_filepath": "a.wav", "duration": 1}\n{"audio_filepath": "b.wav", "duration": 1}\n', "nemo"),
    ("manifest.json", b'{"audio_filepath": "a.wav", "duration": 1}', "nemo"),
    ("grid", b'File type = "ooTextFile"\n', "textgrid"), ("doc", b'<?xml version="1.0"?><ANNOTATION_DOCUMENT>', "eaf"),
])
def test_the_format_is_told_by_extension_and_content(name, head, expected):
    assert detect(ImportFile(name, head)) == expected


def test_label_studio_export_regions_with_their_transcripts(corpus):
    earmark, _, _ = corpus
    hal = make_user(earmark.db, "hal")
    export = [{"id": 7, "data": {"audio": "/data/upload/1/0a1b2c3d-a.wav"}, "annotations": [{"result": [
        {"id": "r1", "type": "labels", "from_name": "label", "to_name": "audio",
         "value": {"start": 0.25, "end": 1.5, "channel": 0, "labels": ["Speech"]}},
        {"id": "r1", "type": "textarea", "from_name": "transcription", "to_name": "audio",
         "value": {"start": 0.25, "end": 1.5, "channel": 0, "text": ["hello there"]}},
        {"id": "r2", "type": "labels", "value": {"start": 2.0, "labels": ["Noise"]}},
        {"id": "c", "type": "choices", "value": {"choices": ["clean"]}}]}]}]
    report = run(earmark, hal, ("project-1.json", json.dumps(export).encode()))
    # channel 0 of a one-channel sound is no channel of its own
    assert annotations_of(earmark.db, "hal") == [("speaker1/a.wav", 0.25, 1.5, ("speech",), "hello there", None)]
    assert [str(p) for p in report.problems] == ["project-1.json, task 7, region r2: a region needs start and end (seconds)."]


def test_nemo_manifest_with_offsets_and_a_bad_line(corpus):
    earmark, _, _ = corpus
    hal = make_user(earmark.db, "hal")
    manifest = (b'{"audio_filepath": "/corpus/speaker1/a.wav", "offset": 0.5, "duration": 1.25, "text": "hello"}\n'
                b'{"audio_filepath": "/corpus/speaker2/b.wav", "duration": 3.0, "text": "whole file"}\n'
                b'not json\n'
                b'{"audio_filepath": "/corpus/speaker2/b.wav", "duration": -1, "text": "x"}\n')
    report = run(earmark, hal, ("train_manifest.json", manifest))
    assert annotations_of(earmark.db, "hal") == [("speaker1/a.wav", 0.5, 1.75, (), "hello", None),
                                                 ("speaker2/b.wav", 0.0, 3.0, (), "whole file", None)]
    assert [str(p) for p in report.problems] == [
        "train_manifest.json, line 3: not a JSON object (Expecting value).",
        "train_manifest.json, line 4: duration must be a finite number of seconds, at least 0, not -1."]


def test_kaldi_folder_segments_text_and_wav_scp(corpus):
    earmark, _, _ = corpus
    hal = make_user(earmark.db, "hal")
    report = run(earmark, hal, ("data/train/segments", b"utt1 rec1 0.00 1.20\nutt2 rec2 0.5 1.0\nutt3 rec1 1.5\nutt4 recX 0 1\n"),
                 ("data/train/text", b"utt1 hello world\nutt2 good bye\nutt4 lost\n"),
                 ("data/train/wav.scp", b"rec1 /corpus/speaker1/a.wav\nrec2 sox /corpus/speaker2/b.wav -t wav - |\n"))
    assert annotations_of(earmark.db, "hal") == [("speaker1/a.wav", 0.0, 1.2, (), "hello world", None),
                                                 ("speaker2/b.wav", 0.5, 1.0, (), "good bye", None)]
    assert [str(p) for p in report.problems] == [
        "data/train/segments, line 3: a segments line is: utterance recording start end (4 fields), this one has 3.",
        "data/train/segments, line 4: recording 'recX' is not in wav.scp."]
    with pytest.raises(ValidationError, match="A Kaldi folder needs segments"):
        run(earmark, hal, ("data/dev/text", b"utt1 hi\n"))


def test_textgrid_tiers_with_good_and_bad_intervals(corpus, tmp_path):
    """A TextGrid made with praatio as a Praat user would: a words tier (tag 'words', each word its text), a
    speaker tier whose label repeats the name (a tag alone), an interval past the end of the 3 s sound, a point tier."""
    earmark, _, _ = corpus
    hal = make_user(earmark.db, "hal")
    grid = textgrid.Textgrid(0, 4.0)
    grid.addTier(textgrid.IntervalTier("words", [Interval(0.5, 1.0, "hello"), Interval(3.5, 4.0, "late")], 0, 4.0))
    grid.addTier(textgrid.IntervalTier("alice", [Interval(0.5, 1.0, "alice")], 0, 4.0))
    grid.addTier(textgrid.PointTier("clicks", [Point(1.5, "click")], 0, 4.0))
    grid.save(str(tmp_path / "a.TextGrid"), format="short_textgrid", includeBlankSpaces=True)
    report = run(earmark, hal, ("speaker1/a.TextGrid", (tmp_path / "a.TextGrid").read_bytes()))
    assert annotations_of(earmark.db, "hal") == [("speaker1/a.wav", 0.5, 1.0, ("alice", "words"), "hello", None)]
    assert [str(p) for p in report.problems] == [
        "speaker1/a.TextGrid, tier 'clicks': a point tier: its 1 points have no duration and are left out.",
        "speaker1/a.TextGrid, tier 'words', interval at 3.500 s: The segment ends at 4.000 s, past the end of the sound "
        "(3.000 s). (sound speaker1/a.wav)"]


def test_elan_tiers_with_a_reference_tier_and_a_bad_annotation(corpus):
    """An ELAN document made with pympi: a speaker tier, a transcript tier referring to it (its text on the
    speaker's segments), a media descriptor naming the file, an annotation past the end of the sound."""
    earmark, _, _ = corpus
    hal = make_user(earmark.db, "hal")
    eaf = Elan.Eaf()
    eaf.add_linked_file("file:///recordings/speaker2/b.wav", relpath="../speaker2/b.wav", mimetype="audio/x-wav")
    eaf.add_tier("bob")
    eaf.add_annotation("bob", 250, 1250, "bob")
    eaf.add_annotation("bob", 2500, 3500, "bob")
    eaf.add_linguistic_type("assoc", "Symbolic_Association")
    eaf.add_tier("transcript", ling="assoc", parent="bob")
    eaf.add_ref_annotation("transcript", "bob", 500, "good morning")
    report = run(earmark, hal, ("session.eaf", Elan.to_string(eaf, encoding="UTF-8")))
    assert annotations_of(earmark.db, "hal") == [("speaker2/b.wav", 0.25, 1.25, ("bob",), "good morning", None)]
    assert [p.where for p in report.problems] == ["tier 'bob', annotation at 2.500 s"]
    assert "past the end of the sound (3.000 s)" in report.problems[0].reason


def test_read_files_groups_kaldi_parts_by_folder():
    found = read_files([ImportFile("a/segments", b"u a 0 1\n"), ImportFile("a/text", b"u hi\n"),
                        ImportFile("b/segments", b"v b 0 1\n"), ImportFile("b/text", b"v yo\n")])
    assert [(p.file, [r.text for r in p.rows]) for p in found] == [("a/segments", ["hi"]), ("b/segments", ["yo"])]
