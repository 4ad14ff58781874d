"""Sounds: listing, fetching, creating by reference (the seed API's POST /sounds) and deleting.

Sounds with audio in storage are created by :mod:`core.ingest.pipeline`; this module owns everything else.
"""

from __future__ import annotations

import builtins
import math
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, delete, func, select
from sqlalchemy.orm import Session

from core.accounts.permissions import Action, require
from core.catalogue.files import FileService, live
from core.catalogue.tags import clean_tags
from core.errors import Conflict, NotFound, ValidationError
from core.store.db import Database
from core.store.models import Sound, SoundField, SoundTag, TagDefinition, User, utcnow
from core.store.paging import Page, PageRequest, children, paginate
from core.store.storage import Storage
from core.team import visibility

# The longest a sound may be said to last (a week): wherever a duration enters (POST /sounds, the API's schema)
# it is finite and within this, so no sum of them overflows and a segment's milliseconds fit their columns.
MAX_SOUND_SECONDS = 7 * 24 * 3600


@dataclass(frozen=True)
class SoundFilter:
    created_by: str | None = None
    dataset: str | None = None
    tags: tuple[str, ...] = ()
    # Who lists: in a dataset with assignments they see only what core/team/visibility.py shows them (None: all).
    viewer: User | None = None


def filtered(query: Select, filters: SoundFilter) -> Select:
    """``query`` over sounds, narrowed to live sounds matching ``filters`` (tags: all of them)."""
    return matching(query.where(live(Sound.expires_at)), filters)


def matching(query: Select, filters: SoundFilter) -> Select:
    """``query`` over sounds, narrowed to those matching ``filters``, expired or not."""
    if filters.created_by:
        query = query.where(Sound.created_by == filters.created_by)
    if filters.dataset:
        query = query.where(Sound.dataset == filters.dataset)
    for tag in clean_tags(filters.tags):
        query = query.where(select(SoundTag.sound_id).where(SoundTag.sound_id == Sound.id, SoundTag.tag == tag).exists())
    return query


def live_count(filters: SoundFilter) -> Select:
    """How many live sounds match ``filters``, counted as all matches less the expired ones: each count reads an
    index only (the expiry sits beside the dataset and the uploader in theirs), where "no expiry or an expiry
    ahead" in one condition makes SQLite visit every matching row (86 ms for a million sounds)."""
    every = matching(select(func.count()).select_from(Sound), filters)
    expired = every.where(Sound.expires_at <= utcnow())
    return select(every.scalar_subquery() - expired.scalar_subquery())


def _page_filters(filters: SoundFilter) -> dict[str, Any]:
    """The filters as a listing's ``next`` link repeats them."""
    return {"created_by": filters.created_by, "dataset": filters.dataset, "tags": list(filters.tags)}


def _check_duration(value: Any) -> float:
    try:
        duration = float(value)
    except (TypeError, ValueError):
        raise ValidationError("duration_seconds", "duration_seconds must be a number.") from None
    if not math.isfinite(duration):
        raise ValidationError("duration_seconds", "duration_seconds must be a finite number.")
    if not duration > 0:
        raise ValidationError("duration_seconds", "duration_seconds must be greater than 0.")
    if duration > MAX_SOUND_SECONDS:
        raise ValidationError("duration_seconds", f"duration_seconds must be at most {MAX_SOUND_SECONDS:,.0f} (a week).")
    return duration


class SoundService:
    def __init__(self, session: Session, storage: Storage) -> None:
        self.session = session
        self.storage = storage

    def get(self, sound_id: str, viewer: User | None = None) -> Sound:
        """The live sound; with ``viewer``, only one they may see (core/team/visibility.py: a blind annotator opening
        a sound not assigned to them by its id is told it is not there, as for a sound that is not)."""
        sound = self.session.scalar(select(Sound).where(Sound.id == sound_id, live(Sound.expires_at)))
        if sound is None or (viewer is not None and not visibility.sees_sound(self.session, viewer, sound)):
            raise NotFound(f"No sound with id {sound_id!r}.")
        return sound

    def list(self, request: PageRequest = PageRequest(), filters: SoundFilter = SoundFilter()) -> Page[Sound]:
        query, count = self._listing(select(Sound), filters)
        return paginate(self.session, query, Sound.id, request, _page_filters(filters), count=count)

    def _listing(self, query: Select, filters: SoundFilter) -> tuple[Select, Select | None]:
        """The filtered listing and the statement counting it: the index-only live count, unless the viewer sees
        only some sounds (then the listing itself is counted)."""
        shown = visibility.sound_condition(self.session, filters.viewer) if filters.viewer is not None else None
        if shown is None:
            return filtered(query, filters), live_count(filters)
        return filtered(query, filters).where(shown), None

    def list_public(self, request: PageRequest, filters: SoundFilter) -> Page[dict[str, Any]]:
        """:meth:`list` already shaped by :func:`public_sound`, read as plain rows (what the API lists)."""
        query, count = self._listing(select(*Sound.__table__.columns), filters)
        page = paginate(self.session, query, Sound.id, request, _page_filters(filters), rows=True, count=count)
        ids = [row.id for row in page.items]
        tags = children(self.session, ids, SoundTag.sound_id, SoundTag.tag)
        fields = children(self.session, ids, SoundField.sound_id, SoundField.name, SoundField.value)
        page.items = [public_sound(row, sorted(tags[row.id]), dict(fields[row.id])) for row in page.items]
        return page

    def field_names(self, dataset: str | None = None) -> builtins.list[str]:
        """The metadata columns the sounds carry (of one dataset, or of all)."""
        query = select(SoundField.name).distinct().order_by(SoundField.name)
        if dataset:
            query = query.join(Sound, Sound.id == SoundField.sound_id).where(Sound.dataset == dataset)
        return list(self.session.scalars(query))

    def uploaders(self) -> dict[str, str]:
        """Who uploaded sounds: user id to user name."""
        rows = self.session.execute(select(User.id, User.user_name).where(User.id.in_(select(Sound.created_by).distinct()))
                                    .order_by(User.user_name)).all()
        return {user_id: name for user_id, name in rows}

    def datasets(self) -> builtins.list[tuple[str, int]]:
        rows = self.session.execute(select(Sound.dataset, func.count()).group_by(Sound.dataset).order_by(Sound.dataset))
        return [(name, count) for name, count in rows]

    def create_reference(
        self,
        actor: User,
        *,
        title: str,
        duration_seconds: float,
        audio_url: str | None = None,
        info_url: str | None = None,
        license_type: str | None = None,
        tags: builtins.list[str] | None = None,
        dataset: str | None = None,
    ) -> Sound:
        """A sound whose audio lives elsewhere (``audio_url``), as the seed API creates them."""
        require(actor, Action.UPLOAD)
        title = (title or "").strip()
        if not title:
            raise ValidationError("title", "The title must not be empty.")
        dataset = dataset or actor.user_name
        path = audio_url or title
        if self.session.scalar(select(Sound.id).where(Sound.dataset == dataset, Sound.path == path)):
            raise Conflict(f"Dataset {dataset!r} already has a sound at {path!r}.")
        sound = Sound(
            created_by=actor.id, dataset=dataset, path=path, title=title,
            duration_seconds=_check_duration(duration_seconds),
            audio_url=audio_url, info_url=info_url, license_type=license_type,
            tags=[SoundTag(tag=t) for t in clean_tags(tags or [])], fields=[],
        )
        self.session.add(sound)
        self.session.flush()
        return sound

    def delete(self, actor: User, sound_id: str) -> None:
        """Delete a sound, its annotations, its file row, and (once that is committed) its audio object."""
        sound = self.get(sound_id)
        require(actor, Action.DELETE_SOUND, owner_id=sound.created_by)
        self._remove(sound)

    def _remove(self, sound: Sound) -> None:
        if sound.file is not None:
            FileService(self.session, self.storage).remove(sound.file)
        else:
            self.session.delete(sound)
            self.session.flush()

    def delete_some_of_dataset(self, actor: User, dataset: str, limit: int) -> int:
        """Delete up to ``limit`` sounds of ``dataset`` (expired or not) as :meth:`delete` does; returns how many.
        Refused whole (PermissionDenied) unless ``actor`` may delete every sound of the dataset."""
        for owner in self.session.scalars(select(Sound.created_by).where(Sound.dataset == dataset).distinct()):
            require(actor, Action.DELETE_SOUND, owner_id=owner)
        sounds = list(self.session.scalars(select(Sound).where(Sound.dataset == dataset).order_by(Sound.id).limit(limit)))
        for sound in sounds:
            self._remove(sound)
        if not sounds:
            self.session.execute(delete(TagDefinition).where(TagDefinition.dataset == dataset))  # the vocabulary last
        return len(sounds)


def delete_dataset(db: Database, storage: Storage, actor: User, dataset: str, batch: int = 500) -> int:
    """Delete every sound of ``dataset`` with its annotations, files and derived objects, and its tag vocabulary,
    ``batch`` sounds a transaction (a big dataset does not hold the database's write lock for minutes); returns
    how many sounds. Only the objects the sounds' rows name are deleted: anything else under ``audio/<dataset>/``
    (objects Earmark did not write) stays."""
    with db.read() as session:
        if session.scalar(select(Sound.id).where(Sound.dataset == dataset).limit(1)) is None:
            raise NotFound(f"No dataset {dataset!r}.")
    deleted = 0
    while True:
        with db.write() as session:
            count = SoundService(session, storage).delete_some_of_dataset(actor, dataset, batch)
        deleted += count
        if not count:
            return deleted


def public_sound(sound: Any, tags: list[str] | None = None, metadata: dict[str, str] | None = None) -> dict[str, Any]:
    """A sound in the seed API's shape (links are paths under /api/v1), plus Earmark's audio facts. ``sound`` is a
    :class:`Sound` or a row of its columns (then with its ``tags`` and ``metadata`` given)."""
    return {
        "id": sound.id,
        "date_created": sound.date_created.isoformat(),
        "created_by": f"/users/{sound.created_by}",
        "info_url": sound.info_url,
        "audio_url": sound.audio_url or (f"/sounds/{sound.id}/audio" if sound.file_id else None),
        "license_type": sound.license_type,
        "title": sound.title,
        "duration_seconds": sound.duration_seconds,
        "tags": sound.tag_names if tags is None else tags,
        "dataset": sound.dataset,
        "path": sound.path,
        "sample_rate": sound.sample_rate,
        "channels": sound.channels,
        "format": sound.format,
        "sha256": sound.sha256,
        "metadata": sound.metadata_dict if metadata is None else metadata,
    }
