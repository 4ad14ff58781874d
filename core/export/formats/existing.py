"""What a target already holds before a training-format export writes to it.

Writing over an earlier export would leave its other files behind (a split that is now empty, a format not asked
for again), and a reader globbing ``*/parquet/*`` would mix the two: the stale split's sounds may now be in
another split. So a folder or S3 prefix that holds anything is refused before anything is placed or written,
naming what it holds. With ``overwrite`` the earlier export's own files, those its ``manifest.json`` lists (and
the manifest itself), are deleted, and only if nothing else is there: Earmark deletes only what it wrote. A local
folder's ``.export-`` files are the temporary files of a write cut short (core/export/formats/target.py), Earmark's
too. The API and the Download page write a ZIP of their own and never come here.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from core.errors import Conflict, StorageError
from core.export.formats.target import TEMPORARY, LocalTarget, S3Target
from core.store.storage import LocalStorage, Storage

MANIFEST = "manifest.json"
_NAMED = 3  # files named in a refusal; the rest counted


def claim(target: LocalTarget | S3Target, overwrite: bool) -> list[str]:
    """Refuse a target that holds files unless ``overwrite`` and they are an earlier export's; returns the files
    :func:`clear` deletes once the new export is planned (so a refused plan deletes nothing)."""
    storage = _storage(target)
    if storage is None:
        return []
    held = {info.key for info in storage.list()}
    if not held:
        return []
    listed = _listed(storage) if MANIFEST in held else None
    if not overwrite:
        besides = len(held) - 1
        what = f"an earlier export ({MANIFEST} and {besides:,} other file{'' if besides == 1 else 's'})" if listed is not None \
            else _files(held)
        raise Conflict(f"--to {target.url} already holds {what}: name an empty folder or prefix, or give --overwrite "
                       f"to replace an earlier export there.")
    if listed is None:
        reason = "no manifest.json of an earlier Earmark export" if MANIFEST not in held else \
            "a manifest.json that is not an Earmark export's"
        raise Conflict(f"--to {target.url} holds {_files(held)} and {reason}: --overwrite deletes only the files an "
                       f"earlier export's {MANIFEST} lists, so name an empty folder or prefix.")
    others = {name for name in held - listed if not _temporary(name)}
    if others:
        raise Conflict(f"--to {target.url} holds {_files(others, 'that its manifest.json does not list')}: "
                       f"Earmark deletes only what it wrote, so move them or name another folder or prefix.")
    return sorted(held)


def clear(target: LocalTarget | S3Target, names: list[str]) -> None:
    """Delete the earlier export's files :func:`claim` returned (a local folder emptied of them is removed)."""
    storage = _storage(target)
    if storage is None:
        return
    for name in names:
        storage.delete(name)


def _storage(target: LocalTarget | S3Target) -> Storage | None:
    """The target seen as a storage (for its listing and deletes); None: a folder that does not exist yet."""
    if isinstance(target, S3Target):
        return target.storage
    return LocalStorage(target.root) if target.root.is_dir() else None


def _listed(storage: Storage) -> set[str] | None:
    """The files the earlier export's manifest lists, the manifest too; None if it is not an Earmark export's. A
    training-format export lists each part's ``files`` (core/export/formats/run.py), a split export of ZIPs each
    split's ``file`` (core/export/splits.py)."""
    try:
        manifest = json.loads(storage.read_bytes(MANIFEST))
        names = {MANIFEST}
        for part in manifest["exports"].values():
            names |= {str(f["name"]) for f in part["files"]} if "files" in part else {str(part["file"])}
        return names
    except (ValueError, TypeError, KeyError, AttributeError, StorageError):
        return None


def _temporary(name: str) -> bool:
    return name.rsplit("/", 1)[-1].startswith(TEMPORARY)


def _files(names: Iterable[str], which: str = "") -> str:
    """``3 files (a, b, c)`` or ``1,204 files (a, b, c, ...)``, sorted, ``which`` after the count."""
    ordered = sorted(names)
    shown = ", ".join(ordered[:_NAMED]) + (", ..." if len(ordered) > _NAMED else "")
    count = f"{len(ordered):,} file{'s' if len(ordered) != 1 else ''}"
    return f"{count} {which} ({shown})" if which else f"{count} ({shown})"
