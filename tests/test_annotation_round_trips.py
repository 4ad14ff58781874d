"""Round trips (issue 28, item 4): for every format that carries annotations, Earmark's export then an import gives
back the same annotations: times within 1 ms, tags and text, as far as the format carries them. The exports are
written by the product's own writers (core/export/subset.py's ZIP: annotations.csv, annotations.json, Audacity
labels and transcripts, TextGrid, RTTM; core/export/formats/: NeMo, Kaldi, ELAN .eaf, segments as offsets) from a
dataset of real, decoded audio, and imported back into the same dataset by another person, whose annotations are
compared with the original's. A machine suggestion is in the dataset too: the label formats leave it out, so it
does not come back. On SQLite, and on PostgreSQL with EARMARK_TEST_DATABASE_URL.

What a format cannot carry is said per format below: RTTM has no transcript field (a segment with only a
transcript is left out of it, as its manifest says) and no spaces in a label; Kaldi holds transcripts only (a
segment with tags alone has an empty transcript, refused on import as an annotation without tag or text)."""

from __future__ import annotations

import io
import zipfile

import pytest
from sqlalchemy import select

from core.accounts.users import UserService
from core.annotations.imports.detect import ImportFile
from core.annotations.imports.service import import_annotations
from core.annotations.service import AnnotationService
from core.catalogue.search import CatalogueQuery
from core.export.formats import export_formats
from core.export.subset import FORMATS, ExportRequest, export_to_file
from core.ingest.pipeline import UploadOptions, ingest_audio
from core.store.models import User
from tests.conftest import make_user, wav_bytes
from tests.test_core_annotation_imports import annotations_of

# (path, start, end, tags, text): what the person "ann" annotated
ORIGINAL = [
    ("speaker1/a.wav", 0.25, 1.5, ("alice", "speech"), "hello there"),  # tags and a transcript
    ("speaker1/a.wav", 1.0, 2.0, ("noise",), None),  # overlaps the first: a second tier in TextGrid and ELAN
    ("speaker1/a.wav", 2.125, 2.875, ("speech",), None),
    ("speaker2/b.wav", 0.5, 0.75, (), "just words"),  # a transcript alone
    ("speaker2/c.flac", 2.0, 2.999, ("music",), None),
]

SUGGESTION = ("speaker2/b.wav", 1.0, 2.0, ("speech",), None)  # by bot-vad, source vad:x


@pytest.fixture
def exported(local_earmark, tmp_path):
    """The dataset annotated by ann (and one suggestion by a bot), exported in every format; the files by format."""
    earmark = local_earmark
    owner = make_user(earmark.db, "vox", "dataset")
    ids = {}
    for path, freq in (("speaker1/a.wav", 300), ("speaker2/b.wav", 500), ("speaker2/c.flac", 700)):
        data = wav_bytes(seconds=3.0, freq=freq, fmt="FLAC" if path.endswith(".flac") else "WAV")
        ids[path] = ingest_audio(earmark.db, earmark.storage, owner, path, io.BytesIO(data),
                                 UploadOptions(dataset="vox", max_bytes=10**8)).sound_id
    ann = make_user(earmark.db, "ann")
    with earmark.db.write() as session:
        service = AnnotationService(session)
        for path, start, end, tags, text in ORIGINAL:
            service.create(ann, ids[path], start_seconds=start, end_seconds=end, tags=list(tags), text=text)
        bot = UserService(session).system_user("bot-vad", "featurebot")
        path, start, end, tags, _ = SUGGESTION
        service.create(bot, ids[path], start_seconds=start, end_seconds=end, tags=list(tags), source="vad:x")
    request = ExportRequest(CatalogueQuery(dataset="vox"), count=10, formats=FORMATS)
    export_to_file(earmark.db, earmark.storage, request, tmp_path / "vox.zip")
    with zipfile.ZipFile(tmp_path / "vox.zip") as zf:
        members = {name: zf.read(name) for name in zf.namelist() if not name.startswith("audio/")}
    out = tmp_path / "formats"
    export_formats(earmark.db, earmark.storage, earmark.settings, ExportRequest(CatalogueQuery(dataset="vox"), count=10),
                   "nemo,kaldi,eaf", str(out))
    members |= {f.relative_to(out).as_posix(): f.read_bytes() for f in out.rglob("*")
                if f.is_file() and not f.relative_to(out).as_posix().startswith("audio/")}
    return earmark, members


def back(earmark, user_name: str, files: dict[str, bytes]):
    """Import ``files`` as a new person; their annotations and the report."""
    person = make_user(earmark.db, user_name)
    report = import_annotations(earmark.db, person, "vox", [ImportFile(name, data) for name, data in sorted(files.items())])
    return annotations_of(earmark.db, user_name), report


def same(got, expected) -> None:
    """The same annotations: paths, tags and text equal, times within 1 ms."""
    assert len(got) == len(expected), (got, expected)
    for (path, start, end, tags, text, _channel), (e_path, e_start, e_end, e_tags, e_text) in zip(
            got, sorted(expected), strict=True):
        assert (path, tags, text) == (e_path, e_tags, e_text)
        assert abs(start - e_start) <= 0.001 and abs(end - e_end) <= 0.001, (path, start, end, e_start, e_end)


def of(members: dict[str, bytes], *prefixes: str) -> dict[str, bytes]:
    return {name: data for name, data in members.items() if name.startswith(prefixes)}


@pytest.mark.parametrize("name, prefixes", [
    ("csv", ("annotations.csv",)),
    ("labelstudio", ("annotations.json",)),
    ("textgrid", ("textgrid/",)),
    ("audacity", ("labels/", "transcripts/")),
    ("eaf", ("eaf/",)),
    ("nemo", ("nemo_manifest.json",)),
])
def test_formats_that_carry_tags_and_text_give_back_the_same_annotations(exported, name, prefixes):
    earmark, members = exported
    files = of(members, *prefixes)
    assert files, f"the export wrote no {name} files: {sorted(members)}"
    got, report = back(earmark, f"back-{name}", files)
    assert not report.problems, [str(p) for p in report.problems]
    # annotations.csv and .json list every annotation with its author, the bot's suggestion too; the label formats
    # leave it out (so it does not come back from them)
    expected = ORIGINAL + [SUGGESTION] if name in ("csv", "labelstudio") else ORIGINAL
    same(got, expected)
    assert {fmt for _, fmt, _ in report.files} == {name}
    again = import_annotations(earmark.db, report_user(earmark, f"back-{name}"), "vox",
                               [ImportFile(n, d) for n, d in sorted(files.items())])
    assert (again.imported, again.already) == (0, len(expected))  # the same files again: nothing doubles


def report_user(earmark, user_name: str):
    with earmark.db.read() as session:
        return session.scalar(select(User).where(User.user_name == user_name))


def test_rttm_gives_back_times_and_tags(exported):
    """RTTM carries times and labels: the tagged segments come back; the transcript-only one is not in the file
    (trial item 21: it came back as a stand-in tag 'annotation'), and the ZIP's manifest says so."""
    earmark, members = exported
    got, report = back(earmark, "back-rttm", of(members, "annotations.rttm"))
    assert not report.problems
    same(got, [(p, s, e, tags, None) for p, s, e, tags, _ in ORIGINAL if tags])
    assert b"annotation" not in members["annotations.rttm"]


def test_kaldi_gives_back_times_and_transcripts(exported):
    """A Kaldi folder carries transcripts: the segments with one come back with it; units without words are not in
    the folder (core/export/formats/kaldi.py), so nothing is left out."""
    earmark, members = exported
    files = of(members, "kaldi/")
    assert {"kaldi/segments", "kaldi/text", "kaldi/wav.scp"} <= set(files)
    got, report = back(earmark, "back-kaldi", files)
    same(got, [(p, s, e, (), text) for p, s, e, _, text in ORIGINAL if text])
    assert not report.problems



def test_the_author_importing_their_own_export_adds_nothing(exported):
    """ann's annotations exported and imported back by ann are hers already (channel 0 of a one-channel sound, as
    annotations.json writes "no channel", is no channel)."""
    earmark, members = exported
    ann = report_user(earmark, "ann")
    mine = len(ORIGINAL)
    for prefixes, expected in [
            (("annotations.json",), (1, mine)),  # the bot's suggestion listed there is new to ann: it becomes hers
            (("annotations.csv",), (0, mine + 1)), (("textgrid/",), (0, mine)), (("labels/", "transcripts/"), (0, mine)),
            (("eaf/",), (0, mine)), (("nemo_manifest.json",), (0, mine))]:
        files = of(members, *prefixes)
        report = import_annotations(earmark.db, ann, "vox", [ImportFile(n, d) for n, d in sorted(files.items())])
        assert (report.imported, report.already) == expected, prefixes
        assert not report.problems
