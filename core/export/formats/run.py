"""A training-format export from start to end: plan the subset (or place every matching sound in its split and
plan each split), then feed every asked writer from one pass over the audio, and put the manifest on top.

The pass fetches each sound once (core/export/subset.py's read-ahead: a few threads, each file spooled), reads
its facts (rate, length, format: as recorded at upload, or decoded for clips), checks it is the file stored (sha256), makes its units (core/export/formats/units.py) and hands them to the writers that carry audio
(Parquet, WebDataset, the audio files the other formats point at) before the next sound: memory holds a few
spooled files and a row group, not the export. The subset itself is held as ids (core/export/outline.py) and its
rows (metadata, tags, annotations) read 2,000 sounds at a time as the pass reaches them. The referencing formats (NeMo, Lhotse, Kaldi, ELAN) are written
after the pass from the units kept (a few hundred bytes each, no audio), and a ZIP of the subset's annotation
formats too if the formats name any (``<split>.zip``, the subset ZIP's layout).

Layout: ``<split>/`` per split (the top itself without a split), each with ``parquet/``, ``webdataset/``,
``audio/`` or ``clips/``, ``nemo_manifest.json``, ``lhotse_*.jsonl.gz``, ``kaldi/``, ``eaf/`` as asked, and
``manifest.json`` on top: the request, formats and options, every file written with its size and sha256, the
sounds missing from storage, and for a split export the rule, shares met and leakage report
(core/export/splits.py).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import IO, Any, Protocol

import soundfile as sf
from sqlalchemy import select

from core import __version__
from core.export.formats import eaf, existing, kaldi, lhotse, nemo
from core.export.formats.audiofiles import AudioFilesWriter
from core.export.formats.options import REFERENCING, FormatOptions, Segments, check_options, parse_formats
from core.export.formats.sources import SoundAudio
from core.export.formats.target import Target, Written, check_target, write_file
from core.export.formats.units import AudioInfo, Unit, audio_info, row_units, units_of
from core.export.formats.webdataset import WebDatasetWriter
from core.export.outline import Outline, outline
from core.export.sampling import Chosen
from core.export.splits import SplitRule, plan_split_zip
from core.export.subset import (
    ExportPlan,
    ExportRequest,
    SubsetTables,
    Window,
    export_plan,
    kept,
    open_zip,
    prefetched,
    write_members,
)
from core.store.config import Settings
from core.store.db import Database, batched, one_of
from core.store.models import Sound, utcnow
from core.store.storage import CHUNK, Storage


class _AudioWriter(Protocol):
    def add(self, units: list[Unit], audio: SoundAudio, metadata: dict[str, str]) -> None: ...
    def close(self) -> list[Written]: ...
    def abort(self) -> None: ...


@dataclass
class _Pass:
    """What one pass over a subset's audio leaves for the manifest and the referencing formats."""

    sounds: int = 0
    units: list[tuple[Unit, AudioInfo]] = field(default_factory=list)
    eaf: list[tuple[str, list[Any], str]] = field(default_factory=list)  # (stem, kept annotations, audio path) per sound
    authors: dict[str, str] = field(default_factory=dict)
    gone: list[Chosen] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # member names of the sounds missing from storage
    unreadable: list[str] = field(default_factory=list)  # files soundfile could not read, named in the manifest


def export_formats(db: Database, storage: Storage, settings: Settings, request: ExportRequest, formats: str | tuple[str, ...],
                   to: str, options: FormatOptions | None = None, rule: SplitRule | None = None,
                   progress: Callable[[str], None] | None = None, overwrite: bool = False) -> dict[str, Any]:
    """Write the subset ``request`` chooses (with ``rule``: every matching sound, split) in ``formats`` to ``to`` (a
    folder or ``s3://bucket/prefix``); returns the manifest also written as ``manifest.json`` on top. Everything a
    person typed is checked before anything is placed or written, and a target that holds files is refused unless
    ``overwrite`` replaces an earlier export there (core/export/formats/existing.py)."""
    zip_formats, training = parse_formats(formats)
    options = check_options(options or FormatOptions())
    target = check_target(to, settings)
    stale = existing.claim(target, overwrite)
    request = replace(request, formats=zip_formats)
    manifest: dict[str, Any] = {"app": "earmark", "version": __version__, "created_at": utcnow().isoformat(),
                                "target": target.url, "formats": [*zip_formats, *training], "options": options.describe()}
    if rule is None:
        subset = outline(db, storage, request)
        existing.clear(target, stale)
        manifest |= {"request": request.describe() | {"formats": manifest["formats"]}, "exports": {"": write_subset(db, subset, storage, target, "", training, options, progress)}}
    else:
        splits = plan_split_zip(db, storage, request, rule, manifest["formats"])
        existing.clear(target, stale)
        exports = {name: write_subset(db, splits.outline(name), storage, target, f"{name}/", training, options, progress)
                   for name in splits.sizes}
        manifest |= splits.summary | {"exports": exports}
    write_file(target, "manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False))
    return manifest


def write_subset(db: Database, subset: Outline, storage: Storage, target: Target, folder: str, training: tuple[str, ...],
                 options: FormatOptions, progress: Callable[[str], None] | None, inline_zip: bool = False) -> dict[str, Any]:
    """Write one subset under ``folder``, a window of sounds at a time (core/export/outline.py). The subset ZIP's
    annotation formats (``subset.request.formats``), asked for, are a ZIP of the subset beside the rest
    (``<split>.zip``: core/export/subset.py). ``inline_zip`` (a download that is itself a ZIP,
    core/export/formats/zipped.py): the audio files always, and the annotation formats' files beside them instead
    of a ZIP inside, made a window at a time as the subset ZIP makes them (its whole-subset tables last)."""
    zip_formats = subset.request.formats
    files: list[Written] = []
    writers = _audio_writers(subset.columns, target, folder, training, options, with_audio=inline_zip, seed=subset.request.seed)
    tables = SubsetTables(zip_formats) if zip_formats and inline_zip else None
    done = _Pass()
    try:
        for window in subset.windows(db, storage):
            _stream(db, window, storage, writers, training, options, progress, done)
            if tables:
                files += [write_file(target, folder + name, text) for name, text in tables.add(window, _written(window, done))]
        if tables:
            files += [_copied(target, folder + name, table) for name, table in tables.finish()]
    except BaseException:
        for writer in writers.values():
            writer.abort()
        raise
    finally:
        if tables:
            tables.close()
    for writer in writers.values():
        files += writer.close()
    files += _referencing(target, folder, training, options, done)
    if zip_formats and not inline_zip:
        files.append(_zip(export_plan(db, subset), storage, target, folder))
    return {"count_included": done.sounds - len(done.missing) - len(done.unreadable), "units": len(done.units) if done.units else None,
            "missing": done.missing, "unreadable": done.unreadable,
            "files": [{"name": f.name, "size": f.size, "sha256": f.sha256} for f in files]}


def _written(window: Window, done: _Pass) -> list[Chosen]:
    """The window's sounds whose audio was written (not missing from storage, not unreadable)."""
    gone, unreadable = {s.id for s in done.gone}, set(done.unreadable)
    return [s for s in window.sounds if s.id not in gone and window.names[s.id] not in unreadable]


def _copied(target: Target, name: str, data: IO[bytes]) -> Written:
    """A file of the target copied from ``data`` (read to its end) a chunk at a time."""
    with target.open(name) as out:
        shutil.copyfileobj(data, out, CHUNK)
    assert out.written is not None
    return out.written


def _audio_writers(columns: list[str], target: Target, folder: str, training: tuple[str, ...],
                   options: FormatOptions, with_audio: bool = False, seed: int = 0) -> dict[str, _AudioWriter]:
    shard = options.shard_mb * 1024 * 1024
    writers: dict[str, _AudioWriter] = {}
    if "parquet" in training:
        from core.export.formats.parquet import ParquetWriter  # pyarrow: 40 MB imported only by an export that writes Parquet

        writers["parquet"] = ParquetWriter(target, f"{folder}parquet/", columns, shard)
    if "webdataset" in training:
        writers["webdataset"] = WebDatasetWriter(target, f"{folder}webdataset/", shard, seed)  # shuffled by the seed
    if with_audio or any(f in training for f in REFERENCING):
        writers["audio"] = AudioFilesWriter(target, folder)
    return writers


def _stream(db: Database, plan: Window, storage: Storage, writers: dict[str, _AudioWriter], training: tuple[str, ...],
            options: FormatOptions, progress: Callable[[str], None] | None, done: _Pass) -> None:
    """One window's audio through the writers; what the referencing formats need is kept in ``done``."""
    gone = [s for s in plan.sounds if s.id in plan.missing_ids]
    referencing = any(f in training for f in REFERENCING)
    facts = {} if options.segments is Segments.CLIPS else _recorded(db, plan.included)
    done.sounds += len(plan.sounds)
    for sound, data in prefetched(storage, plan.included):
        if data is None:
            gone.append(sound)
            continue
        with data:
            info = facts.get(sound.id) or _decoded(data)
            if info is None or not _unchanged(sound, data):
                done.unreadable.append(plan.names[sound.id])
                continue
            audio = SoundAudio(data, info)
            for name, writer in writers.items():
                units = units_of(plan, sound, info, options) if name == "audio" else row_units(plan, sound, info, options)
                writer.add(units, audio, plan.metadata.get(sound.id, {}))
            if referencing:
                done.units += [(unit, info) for unit in units_of(plan, sound, info, options)]
            if "eaf" in training:
                done.eaf.append((plan.stems[sound.id], kept(plan.annotations.get(sound.id, []), plan.request.suggestions),
                                 f"audio/{plan.names[sound.id]}"))
        if progress:
            progress(sound.path)
    done.gone += gone
    done.missing += [plan.names[s.id] for s in gone]
    done.authors |= plan.authors


def _recorded(db: Database, sounds: list[Chosen]) -> dict[str, AudioInfo]:
    """Each sound's rate, length, channels and sample format as recorded when it was stored (core/ingest decoded its
    header then): reading every header again through soundfile's file-object callbacks cost 1.4 ms a file, more
    than the rest of a short sound's export. Clips decode their file anyway and take it from there."""
    facts: dict[str, AudioInfo] = {}
    columns = select(Sound.id, Sound.sample_rate, Sound.frames, Sound.channels, Sound.format, Sound.subtype)
    with db.read() as session:
        for batch in batched([s.id for s in sounds]):
            for sound_id, rate, frames, channels, fmt, subtype in session.execute(columns.where(one_of(session, Sound.id, batch))):
                if rate and frames is not None and channels and fmt and subtype:
                    facts[sound_id] = AudioInfo(rate, frames, channels, fmt, subtype)
    return facts


def _decoded(data: IO[bytes]) -> AudioInfo | None:
    try:
        return audio_info(data)
    except (sf.LibsndfileError, RuntimeError, TypeError):  # a file soundfile cannot read: named, the rest go on
        return None


def _unchanged(sound: Chosen, data: IO[bytes]) -> bool:
    """Whether the file is what was stored (its sha256 as recorded): a file damaged since is left out and named,
    not exported with facts that no longer hold."""
    if not sound.sha256:
        return True
    digest = hashlib.sha256()
    data.seek(0)
    while chunk := data.read(CHUNK):
        digest.update(chunk)
    data.seek(0)
    return digest.hexdigest() == sound.sha256


def _referencing(target: Target, folder: str, training: tuple[str, ...], options: FormatOptions, done: _Pass) -> list[Written]:
    files: list[Written] = []
    if "nemo" in training:
        files += nemo.write(target, folder, (unit for unit, _ in done.units))
    if "lhotse" in training:
        files += lhotse.write(target, folder, done.units)
    if "kaldi" in training:
        files += kaldi.write(target, folder, (unit for unit, _ in done.units), options.segments is Segments.OFFSETS)
    if "eaf" in training:
        files += eaf.write(target, folder, iter(done.eaf), done.authors)
    return files


def _zip(plan: ExportPlan, storage: Storage, target: Target, folder: str) -> Written:
    """The subset ZIP (its audio, metadata and annotation formats), ``<split>.zip`` beside the split's folder
    (``subset.zip`` alone), written a window at a time as the command line's ZIP is."""
    name = f"{folder.rstrip('/')}.zip" if folder else "subset.zip"
    with target.open(name) as out, open_zip(out) as zf:
        write_members(zf, plan, storage)
    assert out.written is not None
    return out.written
