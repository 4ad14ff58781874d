"""Annotations: time segments of a sound with tags, text and/or a data_url.

Validation names the field; listing filters by time range (overlap) and by tags (all of them). Edits carry a
version so two people annotating the same sound never silently overwrite each other: a save is one conditional
``UPDATE ... WHERE version = :expected``, which exactly one of any number of concurrent saves wins on SQLite and
PostgreSQL alike. A sound's annotation count moves by SQL increments, never by a value read into Python.
"""

from __future__ import annotations

import builtins
import math
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, case, delete, select, update
from sqlalchemy.orm import Session, lazyload

from core.accounts.permissions import Action, require
from core.accounts.users import UserService
from core.catalogue.sounds import MAX_SOUND_SECONDS
from core.catalogue.tags import clean_tags
from core.errors import Conflict, NotFound, ValidationError
from core.store.db import batched, get_or_not_found, insert_for, one_of, rowcount
from core.store.models import (
    Annotation,
    AnnotationTag,
    ReviewedSuggestion,
    Sound,
    User,
    utcnow,
)
from core.store.paging import Page, PageRequest, children, paginate
from core.team import visibility

TIME_TOLERANCE = 1e-6  # float rounding at the end of a sound is not "past the end"
MAX_CHANNEL = 255  # the highest channel number an annotation may name where the sound's channels are not known


@dataclass(frozen=True)
class AnnotationFilter:
    sound_id: str | None = None
    created_by: str | None = None
    tags: tuple[str, ...] = ()
    time_range: tuple[float, float] | None = None
    # Who reads: in a dataset with assignments they see only what core/team/visibility.py shows them (None: all).
    viewer: User | None = None


TIME_RANGE = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*[,-]\s*(\d+(?:\.\d*)?|\.\d+)\s*$")


def parse_time_range(value: str | None) -> tuple[float, float] | None:
    """``"1.5,3"`` (the seed API's query form) or ``"1.5-3"`` (as people write it) into ``(1.5, 3.0)``."""
    if value in (None, ""):
        return None
    found = TIME_RANGE.match(str(value))
    if not found:
        raise ValidationError("time_range", "time_range must be two numbers, start,end or start-end (e.g. 1.5,3).")
    start, end = float(found.group(1)), float(found.group(2))
    if not (math.isfinite(start) and math.isfinite(end)) or end < start:
        raise ValidationError("time_range", "time_range must have its end at or after its start.")
    return start, end


def _number(name: str, value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValidationError(name, f"{name} must be a number.") from None
    if not math.isfinite(number):
        raise ValidationError(name, f"{name} must be a finite number.")
    return number


def _duration(start: Any, duration: Any, end: Any) -> Any:
    """The duration, given directly or as an end time (what a person picks on a waveform)."""
    if end is None:
        return duration
    start_s, end_s = _number("start_seconds", start), _number("end_seconds", end)
    if end_s <= start_s:
        raise ValidationError("end_seconds", f"The end ({end_s:.3f} s) must come after the start ({start_s:.3f} s).")
    return round(end_s - start_s, 6)


def _check_segment(sound: Sound, start: Any, duration: Any) -> tuple[float, float]:
    start_s = _number("start_seconds", start)
    duration_s = _number("duration_seconds", duration)
    if start_s < 0:
        raise ValidationError("start_seconds", "start_seconds must not be negative.")
    if duration_s <= 0:
        raise ValidationError("duration_seconds", "duration_seconds must be greater than 0.")
    if start_s + duration_s > sound.duration_seconds + TIME_TOLERANCE:
        raise ValidationError(
            "duration_seconds",
            f"The segment ends at {start_s + duration_s:.3f} s, past the end of the sound ({sound.duration_seconds:.3f} s).",
        )
    return start_s, duration_s


def _check_channel(sound: Sound, channel: Any) -> int | None:
    if channel in (None, ""):
        return None
    try:
        value = int(channel)
    except (TypeError, ValueError):
        raise ValidationError("channel", "channel must be a whole number.") from None
    if sound.channels is None and not 0 <= value <= MAX_CHANNEL:
        raise ValidationError("channel", f"channel must be from 0 to {MAX_CHANNEL}.")
    if value < 0 or (sound.channels is not None and value >= sound.channels):
        raise ValidationError("channel", f"channel must be from 0 to {(sound.channels or 1) - 1} for this sound.")
    return value


class AnnotationService:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, annotation_id: str) -> Annotation:
        return get_or_not_found(self.session, Annotation, annotation_id, "annotation")

    def get_for(self, viewer: User, annotation_id: str) -> Annotation:
        """:meth:`get` for a reader, or a person changing it: an annotation hidden from ``viewer``
        (core/team/visibility.py) is not found, so a blind annotator reaches neither another person's region nor any
        region on a sound not assigned to them."""
        annotation = self.get(annotation_id)
        shown = visibility.annotation_condition(self.session, viewer)
        if shown is not None and self.session.scalar(select(Annotation.id).where(Annotation.id == annotation_id, shown)) is None:
            raise NotFound(f"No annotation with id {annotation_id!r}.")
        return annotation

    def _sound(self, sound_id: str) -> Sound:
        """The sound an annotation is on, without its metadata and tags (loaded only if asked for): annotating
        needs its duration and channels, and a sound may carry hundreds of metadata fields."""
        return get_or_not_found(self.session, Sound, sound_id, "sound", (lazyload(Sound.fields), lazyload(Sound.tags)))

    def _sound_for(self, actor: User, sound_id: str) -> Sound:
        """:meth:`_sound` for a person writing on it: a sound ``actor`` may not see (a blind annotator's sound not
        assigned to them, core/team/visibility.py) is not found, as for reads (core/catalogue/sounds.py ``get``)."""
        sound = self._sound(sound_id)
        if not visibility.sees_sound(self.session, actor, sound):
            raise NotFound(f"No sound with id {sound_id!r}.")
        return sound

    def list(self, request: PageRequest = PageRequest(), filters: AnnotationFilter = AnnotationFilter()) -> Page[Annotation]:
        return paginate(self.session, self._filtered(select(Annotation), filters), Annotation.id, request, _page_filters(filters))

    def list_public(self, request: PageRequest, filters: AnnotationFilter) -> Page[dict[str, Any]]:
        """:meth:`list` already shaped by :func:`public_annotation`, read as plain rows (what the API lists)."""
        query = self._filtered(select(*Annotation.__table__.columns), filters)
        page = paginate(self.session, query, Annotation.id, request, _page_filters(filters), rows=True)
        tags = children(self.session, [row.id for row in page.items], AnnotationTag.annotation_id, AnnotationTag.tag)
        page.items = [public_annotation(row, sorted(tags[row.id])) for row in page.items]
        return page

    def _filtered(self, query: Select, filters: AnnotationFilter) -> Select:
        if filters.sound_id:
            self._sound(filters.sound_id)  # NotFound for an unknown sound, not an empty page
            query = query.where(Annotation.sound_id == filters.sound_id)
        if filters.created_by:
            query = query.where(Annotation.created_by == filters.created_by)
        for tag in clean_tags(filters.tags):
            query = query.where(
                select(AnnotationTag.annotation_id)
                .where(AnnotationTag.annotation_id == Annotation.id, AnnotationTag.tag == tag)
                .exists()
            )
        if filters.time_range:
            start, end = filters.time_range
            query = query.where(Annotation.start_seconds < end, Annotation.end_seconds > start)
        if filters.viewer is not None and (shown := visibility.annotation_condition(self.session, filters.viewer)) is not None:
            query = query.where(shown)
        return query

    def of_sound(self, sound_id: str, viewer: User | None = None) -> builtins.list[Annotation]:
        """All annotations of one sound that ``viewer`` may see (None: all), in time order (read in keyset pages of
        1,000)."""
        found: list[Annotation] = []
        request: PageRequest | None = PageRequest(page_size=1000)
        while request is not None:
            page = self.list(request, AnnotationFilter(sound_id=sound_id, viewer=viewer))
            found += page.items
            request = PageRequest(1000, 1, page.items[-1].id) if page.next else None
        return sorted(found, key=lambda a: (a.start_seconds, a.id))

    def of_sounds(self, sound_ids: builtins.list[str]) -> dict[str, builtins.list[Annotation]]:
        """The annotations of many sounds (an export's), each sound's in time order like :meth:`of_sound`: one
        query per IN_BATCH sounds instead of one per sound."""
        found: dict[str, list[Annotation]] = {sound_id: [] for sound_id in sound_ids}
        for batch in batched(sound_ids):
            for annotation in self.session.scalars(select(Annotation).where(one_of(self.session, Annotation.sound_id, batch))):
                found[annotation.sound_id].append(annotation)
        for items in found.values():
            items.sort(key=lambda a: (a.start_seconds, a.id))
        return found

    def create(
        self,
        actor: User,
        sound_id: str,
        *,
        start_seconds: Any,
        duration_seconds: Any = None,
        end_seconds: Any = None,
        tags: builtins.list[str] | str | None = None,
        text: str | None = None,
        data_url: str | None = None,
        channel: Any = None,
        source: str | None = None,
        is_gold: bool = False,
    ) -> Annotation:
        """A new annotation; give ``duration_seconds`` (the seed API) or ``end_seconds``. ``source`` marks an
        analyzer's output (core.jobs.queue), so a re-run replaces it. ``is_gold``: part of the reviewed version of
        the sound, which only its reviewers may write (core/team/review.py)."""
        require(actor, Action.ANNOTATE)
        sound = self._sound(sound_id) if source is not None else self._sound_for(actor, sound_id)
        if is_gold:
            visibility.require_dataset(self.session, actor, Action.REVIEW, sound.dataset)
        annotation = _build(actor, sound, start_seconds=start_seconds, duration_seconds=duration_seconds,
                            end_seconds=end_seconds, tags=tags, text=text, data_url=data_url, channel=channel, source=source)
        annotation.is_gold = is_gold
        self.session.add(annotation)
        self.session.flush()
        self.add_to_count(sound.id, 1)
        return annotation

    def create_many(self, actor: User, sound_id: str, segments: builtins.list[dict[str, Any]], *, source: str | None = None) -> int:
        """Several annotations on one sound, each checked as ``create`` checks one, written in one flush (an
        analyzer's output: one insert statement for all of them rather than one each)."""
        require(actor, Action.ANNOTATE)
        sound = self._sound(sound_id) if source is not None else self._sound_for(actor, sound_id)
        made = [_build(actor, sound, source=source, **segment) for segment in segments]
        self.session.add_all(made)
        self.session.flush()
        self.add_to_count(sound.id, len(made))
        return len(made)

    def add_to_count(self, sound_id: str, change: int) -> None:
        """Move the sound's annotation count by ``change`` in SQL (concurrent creates all count). Public for the
        services that write annotation rows themselves (core/team/review.py's gold copies)."""
        self.session.execute(update(Sound).where(Sound.id == sound_id).values(
            annotation_count=case((Sound.annotation_count + change > 0, Sound.annotation_count + change), else_=0)))

    def update(self, actor: User, annotation_id: str, expected_version: int, **changes: Any) -> Annotation:
        """Change bounds, tags, text, data_url or channel; refused if someone saved it since ``expected_version``.

        The new values are checked against what was read, then written by one conditional UPDATE that matches
        only while the version is still ``expected_version``: a concurrent save that got there first makes it
        match nothing, and this one is refused (nothing written) rather than overwriting.
        """
        annotation = self.get_for(actor, annotation_id)
        require(actor, Action.EDIT_ANNOTATION, owner_id=annotation.created_by)
        if annotation.version != expected_version:
            raise self._stale(annotation)
        sound = self._sound(annotation.sound_id)
        new_start = changes.get("start_seconds", annotation.start_seconds)
        duration = _duration(new_start, changes.get("duration_seconds", annotation.duration_seconds), changes.get("end_seconds"))
        values: dict[str, Any] = dict(zip(("start_seconds", "duration_seconds"), _check_segment(sound, new_start, duration), strict=True))
        for name in ("text", "data_url"):
            values[name] = (changes[name] or "").strip() or None if name in changes else getattr(annotation, name)
        values["channel"] = _check_channel(sound, changes["channel"]) if "channel" in changes else annotation.channel
        wanted = clean_tags(changes["tags"]) if "tags" in changes else annotation.tag_names
        if not (wanted or values["text"] or values["data_url"]):
            raise ValidationError("tags", "An annotation needs at least one tag, a text or a data_url.")
        saved = self.session.execute(
            update(Annotation).where(Annotation.id == annotation.id, Annotation.version == expected_version)
            .values(**values, version=Annotation.version + 1, date_updated=utcnow(), updated_by=actor.id)
            .execution_options(synchronize_session=False))
        if rowcount(saved) != 1:
            self.session.refresh(annotation)
            raise self._stale(annotation)
        if "tags" in changes:  # this transaction now holds the annotation's row: no one else is changing its tags
            self._set_tags(annotation.id, wanted)
        self.session.refresh(annotation)
        return annotation

    def _stale(self, annotation: Annotation) -> Conflict:
        editor = self.session.get(User, annotation.updated_by or annotation.created_by)
        return Conflict(
            f"This annotation was changed by {editor.user_name if editor else 'someone'} at "
            f"{annotation.date_updated:%Y-%m-%d %H:%M:%S}; reload it before editing."
        )

    def _set_tags(self, annotation_id: str, wanted: builtins.list[str]) -> None:
        self.session.execute(delete(AnnotationTag).where(AnnotationTag.annotation_id == annotation_id,
                                                         AnnotationTag.tag.not_in(wanted)))
        if wanted:
            self.session.execute(insert_for(self.session, AnnotationTag).values(
                [{"annotation_id": annotation_id, "tag": t} for t in wanted]).on_conflict_do_nothing())
        self.session.expire_all()

    def _suggestion(self, actor: User, annotation_id: str) -> Annotation:
        require(actor, Action.ANNOTATE)
        annotation = self.get_for(actor, annotation_id)
        if annotation.source is None:
            raise Conflict("Only a machine suggestion can be accepted or rejected; this one is a person's annotation.")
        return annotation

    def accept(self, actor: User, annotation_id: str, **changes: Any) -> Annotation:
        """A featurebot's suggestion becomes the person's own annotation (optionally changed on the way).

        The suggestion is taken out first: of two people accepting it at once, one gets it, the other a Conflict."""
        suggestion = self._suggestion(actor, annotation_id)
        values = {"start_seconds": changes.get("start_seconds", suggestion.start_seconds),
                  "end_seconds": changes.get("end_seconds", suggestion.end_seconds),
                  "tags": changes.get("tags", suggestion.tag_names), "text": changes.get("text", suggestion.text),
                  "data_url": suggestion.data_url, "channel": suggestion.channel}
        self._take(actor, suggestion, "accepted")
        return self.create(actor, suggestion.sound_id, **values)

    def reject(self, actor: User, annotation_id: str) -> None:
        """Drop a featurebot's suggestion; a re-run of the same analyzer does not suggest it again."""
        self._take(actor, self._suggestion(actor, annotation_id), "rejected")

    def unreview(self, actor: User, sound_id: str, *, source: str, start_seconds: float, end_seconds: float,
                 tags: builtins.list[str] | None = None, text: str | None = None, accepted_id: str | None = None) -> Annotation:
        """Undo one's own review of a suggestion (the waveform's Ctrl+Z): the suggestion comes back as it was
        suggested, its verdict is forgotten, and the annotation its acceptance made (``accepted_id``) is deleted.

        The verdict row is deleted first, conditionally: of two undos at once one wins, the other is a NotFound."""
        require(actor, Action.ANNOTATE)
        self._sound_for(actor, sound_id)
        start_seconds, end_seconds = _number("start_seconds", start_seconds), _number("end_seconds", end_seconds)
        if not 0 <= start_seconds < end_seconds <= MAX_SOUND_SECONDS:  # a suggestion's bounds (their ms fit the table)
            raise ValidationError("end_seconds", "start_seconds and end_seconds must be a suggestion's bounds: "
                                                 f"0 <= start_seconds < end_seconds <= {MAX_SOUND_SECONDS:,.0f}.")
        start_ms, duration_ms = round(start_seconds * 1000), round((end_seconds - start_seconds) * 1000)
        mine = [] if actor.is_admin else [ReviewedSuggestion.reviewed_by == actor.id]
        forgotten = self.session.execute(delete(ReviewedSuggestion).where(
            ReviewedSuggestion.sound_id == sound_id, ReviewedSuggestion.source == source,
            ReviewedSuggestion.start_ms == start_ms, ReviewedSuggestion.duration_ms == duration_ms, *mine)
            .execution_options(synchronize_session=False))
        if rowcount(forgotten) != 1:
            raise NotFound("There is no review of yours of this suggestion to undo: it was undone already, or never made.")
        if accepted_id:
            accepted = self.get(accepted_id)
            if accepted.sound_id != sound_id or accepted.source is not None:
                raise ValidationError("accepted_id", "accepted_id must be the annotation this suggestion's acceptance made, "
                                                     "on the same sound.")
            self.delete(actor, accepted_id)
        bot = UserService(self.session).system_user(f"bot-{source.split(':')[0]}", "featurebot")
        return self.create(bot, sound_id, start_seconds=start_seconds, end_seconds=end_seconds, tags=tags, text=text, source=source)

    def _take(self, actor: User, suggestion: Annotation, verdict: str) -> None:
        """Delete the suggestion (Conflict if someone else just did) and remember the verdict."""
        self._remove(suggestion, "Someone else has just reviewed this suggestion; reload the sound.")
        self.session.execute(insert_for(self.session, ReviewedSuggestion).values(
            sound_id=suggestion.sound_id, source=suggestion.source, start_ms=round(suggestion.start_seconds * 1000),
            duration_ms=round(suggestion.duration_seconds * 1000), verdict=verdict, reviewed_by=actor.id,
            date_reviewed=utcnow()).on_conflict_do_nothing())

    def remove_source(self, sound_ids: builtins.list[str], source: str) -> int:
        """Delete what one analyzer with one set of parameters wrote on these sounds (before a re-run writes it
        anew), keeping each sound's annotation count: lowered by the rows this statement itself deleted."""
        gone = Counter(self.session.scalars(delete(Annotation).where(Annotation.sound_id.in_(sound_ids), Annotation.source == source)
                                            .returning(Annotation.sound_id)))
        for sound_id, count in gone.items():
            self.add_to_count(sound_id, -count)
        return sum(gone.values())

    def reviewed(self, sound_id: str, source: str) -> set[tuple[int, int]]:
        """(start, duration) in milliseconds of this analyzer's suggestions for the sound that people decided on."""
        return set(self.session.execute(select(ReviewedSuggestion.start_ms, ReviewedSuggestion.duration_ms).where(
            ReviewedSuggestion.sound_id == sound_id, ReviewedSuggestion.source == source)).all())

    def _remove(self, annotation: Annotation, gone: str = "This annotation has just been deleted by someone else.") -> None:
        """Delete the annotation and count it off its sound; Conflict(``gone``) if another transaction did first."""
        deleted = self.session.execute(delete(Annotation).where(Annotation.id == annotation.id)
                                       .execution_options(synchronize_session=False))
        if rowcount(deleted) != 1:
            raise Conflict(gone)
        self.session.expunge(annotation)
        self.add_to_count(annotation.sound_id, -1)

    def delete(self, actor: User, annotation_id: str) -> None:
        annotation = self.get_for(actor, annotation_id)
        require(actor, Action.EDIT_ANNOTATION, owner_id=annotation.created_by)
        self._remove(annotation)


def _build(actor: User, sound: Sound, *, start_seconds: Any, duration_seconds: Any = None, end_seconds: Any = None,
           tags: list[str] | str | None = None, text: str | None = None, data_url: str | None = None,
           channel: Any = None, source: str | None = None) -> Annotation:
    start, duration = _check_segment(sound, start_seconds, _duration(start_seconds, duration_seconds, end_seconds))
    tag_list = clean_tags(tags)
    text = (text or "").strip() or None
    data_url = (data_url or "").strip() or None
    if not (tag_list or text or data_url):
        raise ValidationError("tags", "An annotation needs at least one tag, a text or a data_url.")
    return Annotation(sound_id=sound.id, created_by=actor.id, start_seconds=start, duration_seconds=duration, text=text,
                      data_url=data_url, channel=_check_channel(sound, channel), source=source,
                      tags=[AnnotationTag(tag=t) for t in tag_list])


def _page_filters(filters: AnnotationFilter) -> dict[str, Any]:
    """The filters a ``next`` link carries."""
    return {"tags": list(filters.tags), "time_range": ",".join(map(str, filters.time_range)) if filters.time_range else None}


def public_annotation(annotation: Any, tags: list[str] | None = None) -> dict[str, Any]:
    """An annotation in the seed API's shape, plus Earmark's text, channel and version. ``annotation`` is an
    :class:`Annotation` or a row of its columns (then with its ``tags`` given)."""
    return {
        "id": annotation.id,
        "date_created": annotation.date_created.isoformat(),
        "created_by": f"/users/{annotation.created_by}",
        "sound": f"/sounds/{annotation.sound_id}",
        "start_seconds": annotation.start_seconds,
        "duration_seconds": annotation.duration_seconds,
        "end_seconds": round(annotation.start_seconds + annotation.duration_seconds, 6),  # without float noise
        "data_url": annotation.data_url,
        "tags": (annotation.tag_names if tags is None else tags) or None,
        "text": annotation.text,
        "channel": annotation.channel,
        "version": annotation.version,
        "source": annotation.source,  # the featurebot (analyzer:parameters) that suggested it; null for people's
        "is_gold": bool(annotation.is_gold),  # a reviewer's accepted version of the sound (core/team/review.py)
    }
