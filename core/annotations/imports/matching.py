"""Which sound of a dataset each row is on: by sound id, by the sound's path in the dataset, or by file-name stem
where that is unambiguous.

A row names its sound as its file does: ``audio/speaker1/a.wav`` (an Earmark export's file_name),
``/data/corpus/speaker1/a.wav`` (a NeMo manifest), ``speaker1/a`` (a TextGrid's or label track's own name),
``a`` (an RTTM file id), ``/data/upload/3/8f2c1a7e-a.wav`` (Label Studio). Each is tried from its longest
trailing part to its shortest (``audio/speaker1/a.wav``, ``speaker1/a.wav``, ``a.wav``), with and without its
extension; the longest part that names exactly one sound wins, and a part that names several (``a`` for
``s1/a.wav`` and ``s2/a.wav``) makes the row ambiguous, said with two of its candidates.

The dataset's sounds are read once, as (id, path) in a stream, keeping only paths whose parts some row asks for:
memory grows with the rows, not the dataset, and the time is one pass over the dataset's paths.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from urllib.parse import unquote, urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.store.db import batched, one_of
from core.store.models import Sound

_LABEL_STUDIO_PREFIX = re.compile(r"^[0-9a-f]{8}-(.+)$")  # Label Studio's name for an uploaded file

EXPORTED_CLIP = re.compile(r"(^|/)clips/[0-9a-f]{30}\.[A-Za-z0-9]+$")  # core/export/formats/units.py: clips/<annotation id>.<ext>


def _components(reference: str) -> list[str]:
    value = reference.strip().replace("\\", "/")
    if "://" in value or value.startswith("/data/"):
        value = unquote(urlsplit(value).path)
    return [part for part in value.split("/") if part not in ("", ".")]


def _stem(name: str) -> str:
    dot = name.rfind(".")
    return name[:dot] if dot > 0 else name


def keys(reference: str) -> Iterator[str]:
    """The names a reference may mean, most specific first."""
    parts = _components(reference)
    for i in range(len(parts)):
        tail = parts[i:]
        yield "/".join(tail)
        stemmed = "/".join([*tail[:-1], _stem(tail[-1])])
        yield stemmed
        renamed = _LABEL_STUDIO_PREFIX.match(tail[-1])
        if renamed:
            yield "/".join([*tail[:-1], renamed.group(1)])
            yield "/".join([*tail[:-1], _stem(renamed.group(1))])


def _path_keys(path: str) -> Iterator[str]:
    """The names that mean this path: each trailing part of it, with and without its extension."""
    parts = path.split("/")
    for i in range(len(parts)):
        tail = parts[i:]
        yield "/".join(tail)
        yield "/".join([*tail[:-1], _stem(tail[-1])])


class Matcher:
    """Sound ids for references, for one dataset."""

    def __init__(self, session: Session, dataset: str, references: Iterable[str], sound_ids: Iterable[str]) -> None:
        self.dataset = dataset
        references = set(references)
        wanted_ids = {s for s in sound_ids if s} | references
        self.ids: set[str] = set()
        for batch in batched(sorted(wanted_ids)):
            self.ids |= set(session.scalars(select(Sound.id).where(Sound.dataset == dataset, one_of(session, Sound.id, batch))))
        wanted = {key for reference in references for key in keys(reference)}
        self.found: dict[str, list[str]] = {}  # key -> ids of sounds it names (two are enough to be ambiguous)
        self.paths: dict[str, str] = {}
        self.exact: dict[str, str] = {}  # a path asked for exactly -> its sound (paths are unique in a dataset)
        self.size = 0
        for sound_id, path in session.execute(select(Sound.id, Sound.path).where(Sound.dataset == dataset)
                                              .execution_options(yield_per=10_000)):
            self.size += 1
            if path in wanted:
                self.exact[path] = sound_id
            for key in set(_path_keys(path)) & wanted:
                ids = self.found.setdefault(key, [])
                if len(ids) < 2:
                    ids.append(sound_id)
                    self.paths[sound_id] = path

    def sound(self, reference: str, sound_id: str | None = None) -> str:
        """The id of the sound meant, or LookupError with the reason in a sentence."""
        for candidate in (sound_id, reference):
            if candidate and candidate in self.ids:
                return candidate
        for key in keys(reference):
            if key in self.exact:
                return self.exact[key]
            ids = self.found.get(key)
            if not ids:
                continue
            if len(ids) == 1:
                return ids[0]
            raise LookupError(f"{reference!r} could be more than one sound of {self.dataset} "
                              f"({self.paths[ids[0]]}, {self.paths[ids[1]]}, ...): name it by its path.")
        shown = reference or sound_id
        if reference and EXPORTED_CLIP.search(reference.replace("\\", "/")):
            raise LookupError(f"{reference!r} is a clip an export cut (--segments clips), and this file does not say where "
                              "it starts in its sound: import the NeMo manifest of the same export (its source_offset "
                              "says it), or export with --segments offsets.")
        raise LookupError(f"no sound of {self.dataset} is {shown!r} (matched by sound id, path or file name).")
