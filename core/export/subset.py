"""Subset export: a reproducible random (or balanced) subset of sounds as one ZIP.

Layout (README.md, "Downloading a subset"): ``audio/<original relative path>``, or ``audio/<dataset>/<original relative path>`` when the
subset spans several datasets (which may each hold the same path), ``filtered_metadata.csv`` (``file_name``, then the
original metadata columns, included rows only), ``metadata.csv`` (Hugging Face AudioFolder: ``file_name``), the annotations in the
formats asked for (``annotations.csv``, ``annotations.json``, ``labels/*.txt`` for Audacity, ``textgrid/*.TextGrid``
for Praat, ``annotations.rttm``), and ``manifest.json`` (filters, seed, counts, sha256 of every file, version,
time). Every table and annotation file names a sound by the same member name (:func:`member_names`), so each
refers to exactly one member, and no two members, label files, TextGrids or RTTM file ids share a name.

The ZIP is written member by member to any writable stream (a file, or an HTTP response), audio stored rather
than deflated, ZIP64 where needed. The subset is held as its ids and read a window of sounds at a time
(core/export/outline.py); objects are fetched from storage by a few threads ahead of the writer, each into a small
spool; the whole-subset tables grow on disk (core/export/spools.py): memory stays flat however large the subset. A
streamed ZIP whose reader goes away stops its writer, fetches and spools at once (:class:`ZipStream`). The same seed
and filters always give the same files.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
import json
import queue
import re
import shutil
import tempfile
import threading
import time
import zipfile
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any, BinaryIO, cast

from praatio import textgrid
from praatio.utilities.constants import Interval
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import __version__
from core.annotations.service import AnnotationService
from core.catalogue.metadata import to_csv
from core.catalogue.search import CatalogueQuery, describe
from core.errors import StorageError, ValidationError
from core.export import sampling
from core.export.sampling import Chosen
from core.export.spools import FileList, Joined, MetadataRows, SpooledZipFile
from core.store.db import Database, batched, one_of
from core.store.models import Annotation, Sound, StoredFile, User, utcnow
from core.store.sources import is_registered
from core.store.storage import CHUNK, Storage
from core.team.versions import Reviewed, Version, reviewed, version_of

if TYPE_CHECKING:
    from core.export.outline import Outline

FORMATS = ("csv", "json", "audacity", "textgrid", "rttm")
READ_AHEAD = 16  # objects fetched ahead of the writer (and threads fetching them)
SPOOL_IN_MEMORY = 1024 * 1024  # each fetched object: in memory up to this, then on disk
MAX_COUNT = 1_000_000
_UNSAFE_IN_RTTM = re.compile(r"[%\s]")
RTTM_NOTE = "regions without a tag are left out: RTTM has no field for a transcript"  # said in manifest.json


@dataclass(frozen=True)
class ExportRequest:
    query: CatalogueQuery = CatalogueQuery()  # the same filters as Browse
    viewer_id: str | None = None  # whose "annotated by me" the query means
    count: int = 10
    seed: int = 0
    balance: str | None = None  # a metadata column: equal numbers per value
    cap: int | None = None  # at most this many per value
    formats: tuple[str, ...] = ("csv",)
    on_missing: str = "skip"  # "skip": export the rest and list what is missing; "fail": stop
    suggestions: bool = False  # machine suggestions in the TextGrid, RTTM, Audacity (and ELAN, NeMo) files too
    # "gold": accepted sounds' reviewed version, the rest as annotated; "annotators": each annotator's own (core/team/versions.py)
    annotation_version: str = Version.GOLD.value

    def describe(self) -> dict[str, Any]:
        filters = {k: (dict(v) if k == "where" else list(v) if isinstance(v, tuple) else v)
                   for k, v in describe(self.query).items() if k not in ("sort", "descending")}
        return {"filters": filters, "count": self.count, "seed": self.seed, "balance": self.balance, "cap": self.cap,
                "formats": list(self.formats), "on_missing": self.on_missing, "suggestions": self.suggestions,
                "annotation_version": self.annotation_version}


def check_count(value: Any) -> int:
    try:
        count = int(str(value).strip())
    except ValueError:
        raise ValidationError("count", f"count must be a positive whole number, not {value!r}.") from None
    if not 1 <= count <= MAX_COUNT:
        raise ValidationError("count", f"count must be a positive whole number up to {MAX_COUNT:,}, not {count}.")
    return count


def check_request(request: ExportRequest) -> ExportRequest:
    check_count(request.count)
    unknown = [f for f in request.formats if f not in FORMATS]
    if unknown:
        raise ValidationError("formats", f"Unknown format {unknown[0]!r}: choose from {', '.join(FORMATS)}.")
    if request.on_missing not in ("skip", "fail"):
        raise ValidationError("on_missing", "on_missing must be skip or fail.")
    if request.cap is not None and request.cap < 1:
        raise ValidationError("cap", "The cap per group must be at least 1.")
    if request.annotation_version not in tuple(Version):
        raise ValidationError("annotation_version", f"annotation_version must be {' or '.join(Version)}.")
    return request


# -- choosing the subset ----------------------------------------------------------------------------------

def count_candidates(session: Session, request: ExportRequest) -> int:
    """How many sounds the request chooses from (its filters, audio present in the catalogue)."""
    return sampling.count_candidates(session, request.query, request.viewer_id)


def choose(session: Session, request: ExportRequest) -> list[Chosen]:
    """The subset: the first ``count`` matching sounds in the seed's order (the same seed, the same files),
    balanced across the values of ``balance`` if asked, capped per value; returned in (dataset, path) order. The
    database ranks the candidates (core/export/sampling.py); the chosen ones are read in batches as plain values,
    without their tags and metadata (:func:`core.export.sampling.described` reads those)."""
    pool = sampling.candidates(session, request.query, request.viewer_id)
    order = sampling.SeededOrder.of(request.seed)
    if request.balance:
        ids = sampling.balanced(session, pool, order, request.balance, request.count, request.cap)
    else:
        ids = sampling.first(session, pool, order, request.count)
    return sampling.load(session, ids)


# -- the plan --------------------------------------------------------------------------------------------

def member_names(sounds: list[Chosen], several: bool | None = None,
                 clashing: frozenset[str] | None = None) -> tuple[dict[str, str], dict[str, str]]:
    """Per sound id: its name in the ZIP under ``audio/``, and the stem its annotation files are named by.

    The name is the sound's path, or ``<dataset>/<path>`` when the sounds span several datasets (which may each
    hold the same path), so no two members share a name. The stem is the name without its extension
    (``labels/<stem>.txt``, ``textgrid/<stem>.TextGrid``, the RTTM file id) unless that would give two sounds one
    stem (``a.wav`` and ``a.flac``): those keep their extension (``labels/a.wav.txt``). A window of a larger subset
    (core/export/outline.py) is told ``several`` and its ``clashing`` sounds, which only the whole subset shows."""
    several = len({s.dataset for s in sounds}) > 1 if several is None else several
    names = {s.id: f"{s.dataset}/{s.path}" if several else s.path for s in sounds}
    stems = {sound_id: without_suffix(name) for sound_id, name in names.items()}
    if clashing is not None:
        stems.update({sound_id: names[sound_id] for sound_id in clashing if sound_id in names})
        return names, stems
    while clashes := _clashing(names, stems):
        stems.update({sound_id: names[sound_id] for sound_id in clashes})
    return names, stems


def without_suffix(name: str) -> str:
    """``str(PurePosixPath(name).with_suffix(""))`` for a relative POSIX path, without making a path object per
    sound (a quarter of a second for 10,000): the last component's final ``.ext`` removed, unless the dot starts
    or ends that component (``a/.wav`` and ``a/b.`` keep it)."""
    start = name.rfind("/") + 1
    dot = name.rfind(".", start)
    return name[:dot] if start < dot < len(name) - 1 else name


def _clashing(names: dict[str, str], stems: dict[str, str]) -> list[str]:
    """Sounds whose shortened stem another sound also has (names are distinct, so a full name clashes with none)."""
    counts = Counter(stems.values())
    return [sound_id for sound_id, stem in stems.items() if stem != names[sound_id] and counts[stem] > 1]


@dataclass
class Window:
    """Up to WINDOW sounds of a subset (core/export/outline.py) with their rows, each named as in the whole subset."""

    request: ExportRequest
    sounds: list[Chosen]
    annotations: dict[str, list[Annotation]]
    authors: dict[str, str]
    missing_ids: set[str] = field(default_factory=set)  # sounds whose audio is not in storage
    metadata: dict[str, dict[str, str]] = field(default_factory=dict)  # sound id -> its metadata fields
    tags: dict[str, list[str]] = field(default_factory=dict)  # sound id -> its tags
    names: dict[str, str] = field(default_factory=dict)  # sound id -> member name under audio/ (member_names)
    stems: dict[str, str] = field(default_factory=dict)  # sound id -> stem of its annotation files
    review: Reviewed = field(default_factory=Reviewed)  # accepted sounds and assignment states (core/team/versions.py)

    def __post_init__(self) -> None:
        if not self.names:
            self.names, self.stems = member_names(self.sounds)

    def file_name(self, sound: Chosen) -> str:
        """The sound's member in the ZIP, as every table names it."""
        return f"audio/{self.names[sound.id]}"

    @property
    def included(self) -> list[Chosen]:
        return [s for s in self.sounds if s.id not in self.missing_ids]


@dataclass
class ExportPlan:
    """A subset chosen and outlined, nothing written yet: its sounds held as ids (core/export/outline.py), their
    rows read a window at a time as the ZIP is written (:func:`write_members`), so memory stays flat however large
    the subset (the whole subset's rows took 465 MB at 100,000 sounds: BENCHMARKS.md, issue 28)."""

    db: Database
    outline: Outline
    missing_in_catalogue: int = 0  # registered files their source's last listing did not find (left out)

    @property
    def request(self) -> ExportRequest:
        return self.outline.request

    @property
    def included(self) -> int:
        """How many files the ZIP is to hold: the chosen, less those the catalogue knows are gone."""
        return len(self.outline) - self.missing_in_catalogue

    @property
    def name(self) -> str:
        """``<dataset><N>.zip``, N the files to be included."""
        return f"{self.outline.base_name}{self.included}.zip"


def plan_export(db: Database, storage: Storage, request: ExportRequest) -> ExportPlan:
    """Choose the subset and outline it (core/export/outline.py); nothing is written yet, and every error comes
    now: bad requests (ValidationError), nothing matching (NotFound), and with ``on_missing="fail"`` the files
    missing from storage (StorageError, every file checked first).

    Otherwise the catalogue is believed (Earmark records every object it writes, and fsck finds one that was lost;
    a registered file's source was listed when last registered), so the ZIP starts at once instead of after a
    request per file (10,000 HEADs at 20 ms, 16 at a time, are 12 s), and a file whose fetch fails while the ZIP
    streams is left out and listed in its manifest."""
    from core.export.outline import outline  # outline.py builds on this module's windows

    return export_plan(db, outline(db, storage, request))


def export_plan(db: Database, subset: Outline) -> ExportPlan:
    """The ZIP's plan of an outlined subset (with ``on_missing="fail"``, every file was found in storage)."""
    return ExportPlan(db, subset, 0 if subset.request.on_missing == "fail" else _missing_in_catalogue(db, subset.ids))


def _missing_in_catalogue(db: Database, ids: Iterable[bytes]) -> int:
    """Chosen files registered in place whose source's last listing did not find them (``missing_since``), as
    :func:`present_keys` leaves them out without asking storage; read in batches of ids, unless no file at all is
    marked missing (the usual case: one query instead of one per 5,000 chosen sounds)."""
    query = select(StoredFile.key).join(Sound, Sound.file_id == StoredFile.id).where(StoredFile.missing_since.is_not(None))
    with db.read() as session:
        if not session.scalar(select(query.exists())):
            return 0
        return sum(is_registered(key) for batch in batched(i.decode() for i in ids)
                   for key in session.scalars(query.where(one_of(session, Sound.id, batch))))


def plan_of(session: Session, request: ExportRequest, sounds: list[Chosen], names: dict[str, str] | None = None,
            stems: dict[str, str] | None = None) -> Window:
    """These chosen sounds (a window of a subset: core/export/outline.py) with their metadata, tags, annotations
    in the version asked, their authors' names and review facts."""
    ids = [s.id for s in sounds]
    metadata, tags = sampling.described(session, ids)
    review = reviewed(session, ids)
    annotations = {sound_id: version_of(items, sound_id, review, Version(request.annotation_version))
                   for sound_id, items in AnnotationService(session).of_sounds(ids).items()}
    author_ids = list({a.created_by for items in annotations.values() for a in items})
    authors = {user_id: name for batch in batched(author_ids)
               for user_id, name in session.execute(select(User.id, User.user_name).where(User.id.in_(batch)))}
    return Window(request, sounds, annotations, authors, set(), metadata, tags, names or {}, stems or {}, review)


def refuse_missing(missing: list[str]) -> None:
    """StorageError naming (a few of) the subset's files missing from storage, by member name."""
    shown = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
    raise StorageError(f"{len(missing)} file(s) of the subset are missing from storage ({shown}); "
                       "export the rest instead, or restore them.")


LIST_PAGE = 1000  # keys per listing request


def present_keys(db: Database, storage: Storage, sounds: list[Chosen], check: bool = True, wanted: Mapping[str, int] | None = None,
             listed: dict[str, set[str]] | None = None) -> set[str]:
    """Which of the sounds' audio objects exist: one HEAD per file (16 at a time), or, where that takes more
    requests, one listing of each dataset's folder. A file registered in place (core.store.sources) is taken as
    its source's last listing found it (``missing_since``): a source may be far bigger than the subset, and a
    file gone since is left out when its fetch fails. ``sounds`` may be a window of a larger subset
    (core/export/outline.py): ``wanted`` then counts the whole subset's sounds per dataset (HEADs or a listing is
    decided for the whole), and ``listed`` keeps each listing for the next windows."""
    present = {s.audio.key for s in sounds if is_registered(s.audio.key) and s.audio.missing_since is None}
    if not check:
        return present | {s.audio.key for s in sounds if not is_registered(s.audio.key)}
    listed = {} if listed is None else listed
    by_dataset: dict[str, list[Chosen]] = defaultdict(list)
    for sound in sounds:
        if not is_registered(sound.audio.key):
            by_dataset[sound.dataset].append(sound)
    with db.read() as session:
        sizes = dict(session.execute(select(Sound.dataset, func.count()).where(Sound.dataset.in_(by_dataset))
                                     .group_by(Sound.dataset)).all())
    heads: list[Chosen] = []
    for dataset, members in by_dataset.items():
        if sizes.get(dataset, 0) / LIST_PAGE < (wanted or {}).get(dataset, len(members)) / 16:
            if dataset not in listed:
                listed[dataset] = {item.key for item in storage.list(f"audio/{dataset}/")}
            present |= listed[dataset] & {s.audio.key for s in members}
        else:
            heads += members
    with ThreadPoolExecutor(max_workers=16) as pool:
        present |= {s.audio.key for s, ok in zip(heads, pool.map(lambda s: storage.exists(s.audio.key), heads), strict=True) if ok}
    return present


# -- writing ---------------------------------------------------------------------------------------------

def _fetch(storage: Storage, key: str) -> IO[bytes]:
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115 (returned open: the caller closes it)
    with storage.open(key) as source:
        while chunk := source.read(CHUNK):
            spool.write(chunk)
    spool.seek(0)
    return spool


def prefetched(storage: Storage, sounds: list[Chosen]) -> Iterator[tuple[Chosen, IO[bytes] | None]]:
    """The sounds' audio in order, fetched by a few threads at most READ_AHEAD ahead of the consumer. A consumer
    that stops early (a download whose client went away) leaves no fetch running and no spool open."""
    with ThreadPoolExecutor(max_workers=READ_AHEAD, thread_name_prefix="export") as pool:
        pending: deque[tuple[Chosen, Future[IO[bytes]]]] = deque()
        queue = iter(sounds)
        try:
            for sound in queue:
                pending.append((sound, pool.submit(_fetch, storage, sound.audio.key)))
                if len(pending) >= READ_AHEAD:
                    break
            while pending:
                sound, future = pending.popleft()
                nxt = next(queue, None)
                if nxt is not None:
                    pending.append((nxt, pool.submit(_fetch, storage, nxt.audio.key)))
                try:
                    yield sound, future.result()
                except StorageError:
                    yield sound, None
        finally:
            for _, future in pending:
                if not future.cancel():
                    future.add_done_callback(_close_spool)


def _close_spool(future: Future[IO[bytes]]) -> None:
    if not future.cancelled() and future.exception() is None:
        future.result().close()


def write_zip(plan: ExportPlan, storage: Storage, out: BinaryIO, progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Write the ZIP to ``out`` (any writable stream); returns its manifest (:func:`write_members`)."""
    with open_zip(out) as zf:
        return write_members(zf, plan, storage, progress=progress)


def zip_of_folders(out: BinaryIO, parts: Iterable[tuple[str, Callable[[zipfile.ZipFile, str], dict[str, Any]]]],
                   summary: dict[str, Any]) -> dict[str, Any]:
    """One ZIP of a folder per part (``train/``; ``""``: the top itself), each written by its writer (given the ZIP
    and the folder, it returns what the manifest says of it), and ``manifest.json`` on top: ``summary`` with each
    part's entry under ``exports``. A split export (core/export/splits.py) and a training-format download
    (core/export/formats/zipped.py) are both this."""
    exports: dict[str, Any] = {}
    with open_zip(out) as zf:
        for name, write in parts:
            exports[name] = write(zf, f"{name}/" if name else "")
        manifest = summary | {"exports": exports}
        zf.writestr("manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False))
    return manifest


def open_zip(out: BinaryIO) -> SpooledZipFile:
    """A ZIP being written to ``out``: text deflated, audio stored (:func:`write_members`), Zip64 when needed, its
    central directory kept on disk until it is written (core/export/spools.py)."""
    return SpooledZipFile(out, compression=zipfile.ZIP_DEFLATED, allowZip64=True)


def write_members(zf: zipfile.ZipFile, plan: ExportPlan, storage: Storage, folder: str = "",
                  progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Write the subset into ``zf`` under ``folder`` (``train/``: several subsets in one ZIP, as a split export
    is), a window of sounds at a time: each window's audio and per-sound files (labels, TextGrids) go out as it
    is read, the whole-subset tables and the manifest grow on disk (core/export/spools.py) and go out last.
    Returns the manifest without its list of files (``manifest.json`` in the ZIP has it: it grows with the
    subset). The tables name each file as it is within the subset's folder."""
    tables, files, summary = SubsetTables(plan.request.formats), FileList(), _Summary()
    try:
        for window in plan.outline.windows(plan.db, storage):
            gone = set(window.missing_ids)  # and the sounds whose fetch fails now
            for sound, data in prefetched(storage, window.included):
                if data is None:
                    gone.add(sound.id)
                    continue
                with data:
                    files.add(_add_audio(zf, window, sound, data, folder))
                if progress:
                    progress(sound.path)
            written = [s for s in window.sounds if s.id not in gone]
            for name, text in tables.add(window, written):
                zf.writestr(folder + name, text)
            summary.add(window, written, [window.names[s.id] for s in window.sounds if s.id in gone])
        for name, table in tables.finish():
            put_member(zf, folder + name, table)
        manifest = _manifest(plan, summary, files.count)
        with files.manifest(manifest) as whole:
            put_member(zf, folder + "manifest.json", whole)
    finally:
        tables.close()
        files.close()
    return manifest


def put_member(zf: zipfile.ZipFile, name: str, data: IO[bytes]) -> None:
    """A member made from a file read to its end (deflated, as ``zf.writestr`` makes one), copied a chunk at a time."""
    info = zipfile.ZipInfo(name, date_time=time.localtime()[:6])
    info.compress_type, info.external_attr = zf.compression, 0o600 << 16  # as writestr's
    info.file_size = data.seek(0, io.SEEK_END)  # as writestr's too: zipfile then decides on Zip64 with its margin
    data.seek(0)
    with zf.open(info, "w") as member:
        shutil.copyfileobj(data, member, CHUNK)


def _add_audio(zf: zipfile.ZipFile, plan: Window, sound: Chosen, data: IO[bytes], folder: str = "") -> dict[str, Any]:
    info = zipfile.ZipInfo(folder + plan.file_name(sound), date_time=sound.date_created.timetuple()[:6])
    info.compress_type = zipfile.ZIP_STORED  # audio does not deflate; storing it is faster and seekable
    digest, size = hashlib.sha256(), 0
    with zf.open(info, "w", force_zip64=(sound.audio.size or 0) > 0x7FFFFFFF) as member:
        while chunk := data.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
            member.write(chunk)
    entry = {"file_name": plan.file_name(sound), "sound_id": sound.id, "size": size, "sha256": digest.hexdigest()}
    if sound.sha256 and sound.sha256 != entry["sha256"]:
        entry["warning"] = f"content differs from the sha256 recorded at upload ({sound.sha256})"
    return entry


@dataclass
class _Summary:
    """What the manifest counts of the windows written so far."""

    annotations: int = 0
    gold_sounds: int = 0
    missing: list[str] = field(default_factory=list)  # member names (under audio/) of the sounds left out

    def add(self, window: Window, written: list[Chosen], missing: list[str]) -> None:
        self.annotations += sum(len(window.annotations[s.id]) for s in written)
        self.gold_sounds += sum(1 for s in written if s.id in window.review.accepted)
        self.missing += missing


def _manifest(plan: ExportPlan, summary: _Summary, files: int) -> dict[str, Any]:
    """The manifest but its list of files (core/export/spools.py's FileList adds it)."""
    gold = plan.request.annotation_version == Version.GOLD
    return {
        "name": plan.name,  # as the file was named when it started (a file that failed since is in "missing")
        "app": "earmark", "version": __version__, "created_at": utcnow().isoformat(),
        "request": plan.request.describe(), "count_requested": plan.request.count, "count_included": files,
        "annotations": summary.annotations,
        # which version of the annotations this holds, and how many sounds carry a reviewer's accepted one
        "annotation_version": plan.request.annotation_version, "gold_sounds": summary.gold_sounds if gold else 0,
        "missing": summary.missing,
    } | ({"notes": {"annotations.rttm": RTTM_NOTE}} if "rttm" in plan.request.formats else {})


class SubsetTables:
    """A subset's files besides its audio, made a window at a time: the metadata tables and the annotation
    formats asked for. Per-sound files (``labels/``, ``transcripts/``, ``textgrid/``) are handed back by
    :meth:`add` to be written at once; the whole-subset tables grow on disk and come from :meth:`finish`, in the
    order the files were always written (metadata tables, then the formats as asked)."""

    _JOINED = {"annotations.csv": "csv", "annotations.json": "json", "annotations.rttm": "lines"}

    def __init__(self, formats: tuple[str, ...]) -> None:
        self.formats, self.metadata, self.joined = formats, MetadataRows(), dict[str, Joined]()

    def add(self, window: Window, sounds: list[Chosen]) -> Iterator[tuple[str, str]]:
        """Take the window's written ``sounds``; yields its per-sound files as (name, text)."""
        for s in sounds:
            self.metadata.add(window.file_name(s), window.metadata[s.id], s.dataset, window.tags[s.id], s.duration_seconds)
        for fmt in self.formats:
            for name, text in _WRITERS[fmt](window, sounds):
                if name in self._JOINED:
                    self.joined.setdefault(name, Joined(self._JOINED[name])).add(text)
                else:
                    yield name, text

    def finish(self) -> Iterator[tuple[str, IO[bytes]]]:
        """The whole-subset tables, each a file read from its start (valid until the next is asked for)."""
        yield from self.metadata.finish()
        for name, joined in self.joined.items():
            yield name, joined.finish()

    def close(self) -> None:
        self.metadata.close()
        for joined in self.joined.values():
            joined.file.close()


def _rows(plan: Window, sounds: list[Chosen]) -> Iterator[tuple[Chosen, Annotation]]:
    for sound in sounds:
        for annotation in plan.annotations[sound.id]:
            yield sound, annotation


def kept(annotations: list[Annotation], suggestions: bool) -> list[Annotation]:
    """People's annotations, and machine suggestions (``source`` set: core/jobs/queue.py) only if asked: the label
    formats carry no field saying which is which, and an unreviewed guess should not pass for a person's."""
    return annotations if suggestions else [a for a in annotations if a.source is None]


def _label(annotation: Annotation) -> str:
    """One Audacity label: the tags, else the text on one line (tabs, newlines and carriage returns would each
    break the line's three tab-separated fields)."""
    return ";".join(annotation.tag_names) or " ".join((annotation.text or "").split()) or "annotation"


def _annotations_csv(plan: Window, sounds: list[Chosen]) -> Iterator[tuple[str, str]]:
    header = ["file_name", "start_seconds", "end_seconds", "tags", "text", "created_by", "annotation_id", "review_state"]
    yield "annotations.csv", to_csv(header, [
        {"file_name": plan.file_name(s), "start_seconds": a.start_seconds, "end_seconds": round(a.end_seconds, 6),
         "tags": ";".join(a.tag_names), "text": a.text or "", "created_by": plan.authors.get(a.created_by, a.created_by),
         "annotation_id": a.id, "review_state": plan.review.state_of(a)} for s, a in _rows(plan, sounds)])


def _annotations_json(plan: Window, sounds: list[Chosen]) -> Iterator[tuple[str, str]]:
    """Label Studio's region fields (start, end, channel, labels) plus Earmark's own."""
    yield "annotations.json", json.dumps([
        {"file_name": plan.file_name(s), "sound_id": s.id, "id": a.id, "start": a.start_seconds, "end": round(a.end_seconds, 6),
         "channel": a.channel or 0, "labels": a.tag_names, "text": a.text, "data_url": a.data_url,
         "created_by": plan.authors.get(a.created_by, a.created_by), "version": a.version,
         "review_state": plan.review.state_of(a)} for s, a in _rows(plan, sounds)], indent=1)


def _audacity(plan: Window, sounds: list[Chosen]) -> Iterator[tuple[str, str]]:
    """Audacity label tracks: one ``labels/<stem>.txt`` per sound, ``start<TAB>end<TAB>label`` per line, and the
    transcripts as a second track, ``transcripts/<stem>.txt`` (a label holds one string: the tags there, the text
    here, so a tagged segment keeps its transcript)."""
    for sound in sounds:
        items = kept(plan.annotations[sound.id], plan.request.suggestions)
        lines = [f"{a.start_seconds:.6f}\t{a.end_seconds:.6f}\t{_label(a)}" for a in items]
        if lines:
            yield f"labels/{plan.stems[sound.id]}.txt", "\n".join(lines) + "\n"
        texts = [f"{a.start_seconds:.6f}\t{a.end_seconds:.6f}\t{' '.join((a.text or '').split())}" for a in items if (a.text or "").strip()]
        if texts:
            yield f"transcripts/{plan.stems[sound.id]}.txt", "\n".join(texts) + "\n"


def _tiers(annotations: list[Annotation]) -> dict[str, list[Interval]]:
    """One interval tier per tag, and the transcripts in tier ``text`` (beside the tags of the same segment);
    overlapping intervals of one tier go to tiers ``tag``, ``tag-2``, ..."""
    tiers: dict[str, list[Interval]] = {}
    for annotation in sorted(annotations, key=lambda a: a.start_seconds):
        for label, text in _tier_labels(annotation):
            number = 1
            while True:
                name = label if number == 1 else f"{label}-{number}"
                tier = tiers.setdefault(name, [])
                if not tier or tier[-1].end <= annotation.start_seconds:
                    tier.append(Interval(annotation.start_seconds, annotation.end_seconds, text))
                    break
                number += 1
    return tiers


def _tier_labels(annotation: Annotation) -> list[tuple[str, str]]:
    """(tier, interval text) pairs: each tag in its own tier, the transcript (or, with neither, "annotation") in ``text``."""
    pairs = [(tag, tag) for tag in annotation.tag_names]
    text = " ".join((annotation.text or "").split())
    if text or not pairs:
        pairs.append(("text", text or "annotation"))
    return pairs


def _textgrids(plan: Window, sounds: list[Chosen]) -> Iterator[tuple[str, str]]:
    """Praat TextGrids, written with praatio: ``textgrid/<stem>.TextGrid`` per annotated sound."""
    for sound in sounds:
        items = kept(plan.annotations[sound.id], plan.request.suggestions)
        if not items:
            continue
        grid = textgrid.Textgrid(0, sound.duration_seconds)
        for name, intervals in sorted(_tiers(items).items()):
            grid.addTier(textgrid.IntervalTier(name, intervals, 0, sound.duration_seconds))
        with tempfile.NamedTemporaryFile("r", suffix=".TextGrid") as tmp:
            grid.save(tmp.name, format="long_textgrid", includeBlankSpaces=True)
            yield f"textgrid/{plan.stems[sound.id]}.TextGrid", tmp.read()


def _rttm(plan: Window, sounds: list[Chosen]) -> Iterator[tuple[str, str]]:
    """NIST RTTM: ``SPEAKER <file> 1 <onset> <duration> <NA> <NA> <label> <NA> <NA>``, one line per tag; the
    file id is the sound's stem with whitespace and ``%`` percent-encoded (fields are split on whitespace, and
    the encoding keeps distinct stems distinct). A region without a tag is left out (RTTM_NOTE): RTTM has no
    field for its text, and a stand-in label would come back from an import as a tag nobody gave."""
    lines = []
    for sound, annotation in _rows(plan, sounds):
        if annotation.source is not None and not plan.request.suggestions:
            continue
        file_id = _UNSAFE_IN_RTTM.sub(lambda found: f"%{ord(found.group()):02X}", plan.stems[sound.id])
        for label in annotation.tag_names:
            lines.append(f"SPEAKER {file_id} 1 {annotation.start_seconds:.3f} {annotation.duration_seconds:.3f} "
                         f"<NA> <NA> {label.replace(' ', '_')} <NA> <NA>")
    yield "annotations.rttm", "\n".join(lines) + ("\n" if lines else "")


_WRITERS: dict[str, Callable[[Window, list[Chosen]], Iterator[tuple[str, str]]]] = {
    "csv": _annotations_csv, "json": _annotations_json, "audacity": _audacity, "textgrid": _textgrids, "rttm": _rttm}


# -- streaming for HTTP -----------------------------------------------------------------------------------

class _Stopped(Exception):
    """The reader of a streamed ZIP went away: the writer stops where it is."""


class ZipStream:
    """A ZIP as ~1 MB chunks (iterate over it), produced by a writer thread at most a few chunks ahead (flat
    memory). :meth:`stop` ends it at once: an HTTP response calls it when its client goes away, so the writer, its
    fetches and its spools are freed then, not when the garbage collector gets to an abandoned generator."""

    def __init__(self, write: Callable[[BinaryIO], Any]) -> None:
        self.write, self.stopped = write, threading.Event()

    def __iter__(self) -> Iterator[bytes]:
        return _chunks(self.write, self.stopped)

    def stop(self) -> None:
        self.stopped.set()


def stream_zip(plan: ExportPlan, storage: Storage) -> ZipStream:
    """The ZIP as a stream of chunks, for an HTTP response."""
    return ZipStream(lambda out: write_zip(plan, storage, out))


def _chunks(write: Callable[[BinaryIO], Any], stopped: threading.Event) -> Iterator[bytes]:
    """The writer thread's chunks until the ZIP ends, the writer fails (raised here) or ``stopped`` is set; closing
    this generator early sets it too."""
    out: queue.Queue[bytes | None | BaseException] = queue.Queue(maxsize=4)

    def produce() -> None:
        try:
            with _QueueWriter(out, stopped) as writer:
                write(cast(BinaryIO, writer))  # a raw writable file (io.RawIOBase)
            _hand_over(out, None, stopped)
        except _Stopped:
            pass
        except BaseException as exc:  # handed to the consumer, which raises it
            with contextlib.suppress(_Stopped):
                _hand_over(out, exc, stopped)

    threading.Thread(target=produce, daemon=True, name="zip").start()
    try:
        while True:
            try:
                item = out.get(timeout=0.25)
            except queue.Empty:
                if stopped.is_set():
                    return
                continue
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stopped.set()


def _hand_over(out: queue.Queue, item: bytes | None | BaseException, stopped: threading.Event) -> None:
    """Put ``item`` on the bounded queue, waiting while the reader is behind, unless the reader is gone."""
    while not stopped.is_set():
        try:
            out.put(item, timeout=0.25)
            return
        except queue.Full:
            continue
    raise _Stopped()


class _QueueWriter(io.RawIOBase):
    """Writes become items of a bounded queue of ~1 MB chunks: the writer waits while the reader is behind, and
    stops (raising _Stopped) once the reader is gone."""

    def __init__(self, out: queue.Queue, stopped: threading.Event, size: int = CHUNK) -> None:
        self.out, self.stopped, self.size, self.buffer = out, stopped, size, bytearray()

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        if self.stopped.is_set():
            raise _Stopped()
        self.buffer += data
        if len(self.buffer) >= self.size:
            _hand_over(self.out, bytes(self.buffer), self.stopped)
            self.buffer.clear()
        return len(data)

    def flush(self) -> None:
        if self.buffer:
            _hand_over(self.out, bytes(self.buffer), self.stopped)
            self.buffer.clear()

    def close(self) -> None:
        try:
            if not (self.closed or self.stopped.is_set()):
                self.flush()
        finally:
            super().close()


def export_to_file(db: Database, storage: Storage, request: ExportRequest, path, progress: Callable[[str], None] | None = None,
                   on_plan: Callable[[int], None] | None = None) -> tuple[ExportPlan, dict[str, Any]]:
    """Plan and write the ZIP to ``path`` (the command line); the plan, and the manifest without its list of files."""
    plan = plan_export(db, storage, request)
    if on_plan:
        on_plan(plan.included)
    with open(path, "wb") as out:
        manifest = write_zip(plan, storage, out, progress)
    return plan, manifest


def default_seed() -> int:
    return int(dt.datetime.now().timestamp() * 1000) % 1_000_000
