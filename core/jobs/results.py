"""What a job wrote, to download: per sound, the suggestions and metadata fields the job's analyzer left there.

Read back from the catalogue rather than kept with the job, so what is downloaded is what is there now (a
suggestion accepted or rejected since is no longer the job's). Read a few hundred sounds at a time, so a job over
a million sounds is written out without holding it all.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.catalogue.metadata import to_csv
from core.jobs import analyzers
from core.jobs.queue import source_of
from core.jobs.states import ItemState
from core.store.models import Annotation, Job, JobItem, Sound, SoundField

CHUNK = 500
COLUMNS = ["sound_id", "dataset", "path", "start_seconds", "end_seconds", "tags", "text", "data_url"]


def sounds(session: Session, job: Job) -> Iterator[dict[str, Any]]:
    """Each done sound of the job: {sound_id, dataset, path, annotations: [...], fields: {...}}."""
    analyzer = analyzers.get(job.analyzer)
    source, prefix = source_of(analyzer, dict(job.params)), analyzer.field_prefix
    after = ""
    while True:
        ids = list(session.scalars(select(JobItem.sound_id).where(JobItem.job_id == job.id, JobItem.state == ItemState.DONE,
                                                                  JobItem.sound_id > after)
                                  .order_by(JobItem.sound_id).limit(CHUNK)))
        if not ids:
            return
        after = ids[-1]
        found = {s.id: s for s in session.scalars(select(Sound).where(Sound.id.in_(ids)))}
        notes: dict[str, list[Annotation]] = {}
        for note in session.scalars(select(Annotation).where(Annotation.sound_id.in_(ids), Annotation.source == source)
                                    .order_by(Annotation.start_seconds)):
            notes.setdefault(note.sound_id, []).append(note)
        fields: dict[str, dict[str, str]] = {}
        for row in session.scalars(select(SoundField).where(SoundField.sound_id.in_(ids), SoundField.name.startswith(prefix))):
            fields.setdefault(row.sound_id, {})[row.name] = row.value
        for sound_id in ids:
            if sound_id in found:
                sound = found[sound_id]
                yield {"sound_id": sound_id, "dataset": sound.dataset, "path": sound.path,
                       "annotations": [_annotation(a) for a in notes.get(sound_id, [])], "fields": fields.get(sound_id, {})}


def _annotation(note: Annotation) -> dict[str, Any]:
    return {"id": note.id, "start_seconds": round(note.start_seconds, 4), "end_seconds": round(note.end_seconds, 4),
            "tags": note.tag_names, "text": note.text, "data_url": note.data_url}


def as_csv(session: Session, job: Job) -> str:
    """One row per suggestion (sounds with none: one row), the analyzer's metadata fields as extra columns."""
    rows, names = [], set()
    for sound in sounds(session, job):
        names.update(sound["fields"])
        base = {"sound_id": sound["sound_id"], "dataset": sound["dataset"], "path": sound["path"], **sound["fields"]}
        for note in sound["annotations"] or [None]:
            rows.append(base | ({"start_seconds": note["start_seconds"], "end_seconds": note["end_seconds"],
                                 "tags": ",".join(note["tags"]), "text": note["text"] or "", "data_url": note["data_url"] or ""}
                                if note else {}))
    return to_csv(COLUMNS + sorted(names), rows)
