"""The Annotate page's queue: the sounds to go through, their order, and moving along it.

A queue is a Browse filter (or an explicit list of ids); positions and neighbours are keyset queries on the
time-ordered ids, so a queue of a million sounds costs the same as one of ten.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.catalogue.search import CatalogueQuery, narrowed, text_index
from core.catalogue.sounds import SoundFilter, filtered
from core.catalogue.stats import human_duration
from core.store.models import Annotation, Sound, User
from core.team import visibility


@dataclass(frozen=True)
class Queue:
    filters: SoundFilter = SoundFilter()
    ids: tuple[str, ...] | None = None  # an explicit list
    catalogue: CatalogueQuery | None = None  # a Browse search ("annotate all these")
    viewer_id: str | None = None  # whose "annotated by me" the search means

    def describe(self, names: Mapping[str, str] | None = None) -> str:
        """The queue in words, as a person would say it: "dataset demo, tags espeak, not annotated".

        ``names`` maps user ids to user names (for "uploaded by"); QueueService.describe fills it in."""
        if self.ids is not None:
            return f"{len(self.ids)} chosen sounds"
        if self.catalogue is not None:
            return "Browse search: " + (", ".join(_catalogue_words(self.catalogue, names or {})) or "every sound")
        return ", ".join(_filter_words(self.filters, names or {}))


def _tags_words(tags: tuple[str, ...]) -> list[str]:
    shown = [t.strip() for t in tags if t.strip()]
    return [("tag " if len(shown) == 1 else "tags ") + ", ".join(shown)] if shown else []


def _filter_words(filters: SoundFilter, names: Mapping[str, str]) -> list[str]:
    words = [f"dataset {filters.dataset}" if filters.dataset else "all datasets", *_tags_words(filters.tags)]
    if filters.created_by:
        words.append(f"uploaded by {names.get(filters.created_by, filters.created_by)}")
    return words


def _catalogue_words(spec: CatalogueQuery, names: Mapping[str, str]) -> list[str]:
    words = [f"dataset {spec.dataset}"] if spec.dataset else []
    words += _tags_words(spec.tags)
    if spec.text.strip():
        words.append(f"title or path containing {spec.text.strip()!r}")
    if spec.created_by:
        words.append(f"uploaded by {names.get(spec.created_by, spec.created_by)}")
    words += [f"{name} = {value}" for name, value in spec.where]
    words += [f"{name} {op} {number:g}" for name, op, number in spec.ranges]
    if spec.min_duration and spec.max_duration:
        words.append(f"from {human_duration(spec.min_duration)} to {human_duration(spec.max_duration)} long")
    elif spec.min_duration:
        words.append(f"at least {human_duration(spec.min_duration)} long")
    elif spec.max_duration:
        words.append(f"at most {human_duration(spec.max_duration)} long")
    words += [{"yes": "annotated", "no": "not annotated", "mine": "annotated by me"}.get(spec.annotated, "")]
    return [w for w in words if w]


class QueueService:
    def __init__(self, session: Session, viewer: User | None = None) -> None:
        """``viewer``: the person stepping through the queue, who is offered only the sounds they may see
        (core/team/visibility.py: in a dataset with assigned work, a blind annotator's own); None: every sound."""
        self.session = session
        self.shown = visibility.sound_condition(session, viewer)  # a condition joined into each query, not a list of ids

    def _ids(self, queue: Queue):
        query = filtered(select(Sound.id), queue.filters)
        if self.shown is not None:
            query = query.where(self.shown)
        if queue.catalogue is not None:
            query = narrowed(query, queue.catalogue, queue.viewer_id, text_index(self.session))
        if queue.ids is not None:
            query = query.where(Sound.id.in_(queue.ids))
        return query

    def describe(self, queue: Queue) -> str:
        """``queue.describe()`` with the uploader's user name instead of their id."""
        uploader = queue.catalogue.created_by if queue.catalogue is not None else queue.filters.created_by
        name = self.session.scalar(select(User.user_name).where(User.id == uploader)) if uploader else None
        return queue.describe({uploader: name} if uploader and name else None)

    def around(self, sound_id: str, queue: Queue) -> Queue:
        """The queue a link to ``sound_id`` opens in: ``queue`` if the sound is in it, else the sound's dataset
        (a sound of another dataset, or one the queue's filters leave out, is shown where it belongs)."""
        if self.session.scalar(self._ids(queue).where(Sound.id == sound_id)) is not None:
            return queue
        dataset = self.session.scalar(select(Sound.dataset).where(Sound.id == sound_id))
        return queue if dataset is None else Queue(SoundFilter(dataset=dataset))

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
        """The next sound without people's annotations, after ``sound_id`` and then from the start.

        Machine suggestions (annotations with a ``source``) do not count: a sound an analyzer went over is still
        to be annotated until a person has. A ``NOT EXISTS`` per candidate on the sound's annotations (the
        ``sound_id`` index), walked in id order, so it stops at the first match whatever the catalogue's size."""
        people = select(Annotation.id).where(Annotation.sound_id == Sound.id, Annotation.source.is_(None))
        bare = self._ids(queue).where(~people.exists())
        after = bare.where(Sound.id > sound_id) if sound_id else bare
        return self.session.scalar(after.order_by(Sound.id).limit(1)) or self.session.scalar(bare.order_by(Sound.id).limit(1))
