"""The Annotate page's queue: the sounds to go through, their order, and moving along it.

A queue is a Browse filter (or an explicit list of ids); positions and neighbours are keyset queries on the
time-ordered ids, so a queue of a million sounds costs the same as one of ten.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.catalogue.search import CatalogueQuery, describe, narrowed, text_index
from core.catalogue.sounds import SoundFilter, filtered
from core.store.models import Annotation, Sound


@dataclass(frozen=True)
class Queue:
    filters: SoundFilter = SoundFilter()
    ids: tuple[str, ...] | None = None  # an explicit list
    catalogue: CatalogueQuery | None = None  # a Browse search ("annotate all these")
    viewer_id: str | None = None  # whose "annotated by me" the search means

    def describe(self) -> str:
        if self.ids is not None:
            return f"{len(self.ids)} chosen sounds"
        if self.catalogue is not None:
            shown = ", ".join(f"{k} {v}" for k, v in describe(self.catalogue).items() if k not in ("sort", "descending"))
            return f"Browse search: {shown or 'every sound'}"
        parts = [f"dataset {self.filters.dataset}" if self.filters.dataset else "all datasets"]
        if self.filters.tags:
            parts.append("tags " + ", ".join(self.filters.tags))
        return "; ".join(parts)


class QueueService:
    def __init__(self, session: Session) -> None:
        self.session = session

    def _ids(self, queue: Queue):
        query = filtered(select(Sound.id), queue.filters)
        if queue.catalogue is not None:
            query = narrowed(query, queue.catalogue, queue.viewer_id, text_index(self.session))
        if queue.ids is not None:
            query = query.where(Sound.id.in_(queue.ids))
        return query

    def first(self, queue: Queue) -> str | None:
        return self.session.scalar(self._ids(queue).order_by(Sound.id).limit(1))

    def position(self, queue: Queue, sound_id: str) -> tuple[int, int]:
        """(1-based position of ``sound_id``, length of the queue); position 0 if it is not in the queue."""
        total = self.session.scalar(select(func.count()).select_from(self._ids(queue).subquery())) or 0
        inside = self.session.scalar(self._ids(queue).where(Sound.id == sound_id))
        if inside is None:
            return 0, total
        before = self.session.scalar(select(func.count()).select_from(self._ids(queue).where(Sound.id < sound_id).subquery()))
        return (before or 0) + 1, total

    def next(self, queue: Queue, sound_id: str) -> str | None:
        return self.session.scalar(self._ids(queue).where(Sound.id > sound_id).order_by(Sound.id).limit(1))

    def previous(self, queue: Queue, sound_id: str) -> str | None:
        return self.session.scalar(self._ids(queue).where(Sound.id < sound_id).order_by(Sound.id.desc()).limit(1))

    def next_unannotated(self, queue: Queue, sound_id: str | None) -> str | None:
        """The next sound with no annotation at all, after ``sound_id`` and then from the start."""
        bare = self._ids(queue).where(~select(Annotation.id).where(Annotation.sound_id == Sound.id).exists())
        after = bare.where(Sound.id > sound_id) if sound_id else bare
        return self.session.scalar(after.order_by(Sound.id).limit(1)) or self.session.scalar(bare.order_by(Sound.id).limit(1))
