"""A dataset's tag vocabulary: the tags offered when annotating, with one colour per tag.

Tags in use on a dataset's annotations are always offered, even if nobody added them to the vocabulary. A
rename rewrites every annotation of the dataset that carries the tag (and bumps their versions, so a stale
edit elsewhere is caught), so only uploaders and administrators may rename. Adding and colouring are single
``INSERT ... ON CONFLICT`` statements: two people adding the same tag at once get one row and one Conflict.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from core.accounts.permissions import Action, require
from core.catalogue.tags import clean_tag
from core.errors import Conflict, NotFound, ValidationError
from core.store.db import insert_for
from core.store.models import (
    Annotation,
    AnnotationTag,
    Sound,
    TagDefinition,
    User,
    as_utc,
    utcnow,
)

PALETTE = ("#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#46c0c9", "#f032e6", "#9a6324",
           "#808000", "#000075", "#e6a800", "#008080")
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
_NEVER = dt.datetime.max.replace(tzinfo=dt.UTC)


def default_color(tag: str) -> str:
    """A stable colour for a tag nobody has coloured: the same tag always gets the same one."""
    return PALETTE[int(hashlib.sha1(tag.encode()).hexdigest(), 16) % len(PALETTE)]


def _check_color(color: str | None, tag: str) -> str:
    if not color:
        return default_color(tag)
    if not _COLOR.match(color):
        raise ValidationError("color", f"The colour {color!r} must look like #1f77b4.")
    return color.lower()


class Vocabulary:
    def __init__(self, session: Session) -> None:
        self.session = session

    def colors(self, dataset: str) -> dict[str, str]:
        """Every tag of the dataset (defined or in use), with its colour, in the order people made them.

        A tag's place is when it first appeared: its vocabulary row's creation or its first annotation's,
        whichever came first (ties by name), so the order, and the palette's digits that follow it, never change
        as tags are added, coloured or renamed. One statement per kind; the used tags come grouped, one row each."""
        defined = {d.tag: (d.date_created, d.color) for d in
                   self.session.scalars(select(TagDefinition).where(TagDefinition.dataset == dataset))}
        first_used = dict(self.session.execute(
            select(AnnotationTag.tag, func.min(Annotation.date_created))
            .join(Annotation, Annotation.id == AnnotationTag.annotation_id)
            .join(Sound, Sound.id == Annotation.sound_id).where(Sound.dataset == dataset)
            .group_by(AnnotationTag.tag)).all())

        def first_seen(tag: str) -> tuple[dt.datetime, str]:
            times = [as_utc(t) for t in (defined.get(tag, (None,))[0], first_used.get(tag)) if t is not None]
            return min(times, default=_NEVER), tag

        return {tag: defined[tag][1] if tag in defined else default_color(tag)
                for tag in sorted(set(defined) | set(first_used), key=first_seen)}

    def add(self, actor: User, dataset: str, tag: str, color: str | None = None) -> TagDefinition:
        require(actor, Action.ANNOTATE)
        name = clean_tag(tag)
        added = self.session.scalar(insert_for(self.session, TagDefinition).values(
            dataset=dataset, tag=name, color=_check_color(color, name), created_by=actor.id, date_created=utcnow(),
        ).on_conflict_do_nothing().returning(TagDefinition.tag))
        if added is None:
            raise Conflict(f"The tag {name!r} is already in the {dataset} vocabulary.")
        return self.session.get_one(TagDefinition, (dataset, name))

    def ensure(self, actor: User, dataset: str, tag: str) -> tuple[str, str]:
        """The tag in the dataset's vocabulary, added (with its default colour) if it is not there yet: a tag typed
        on the waveform stays in the palette, in its place and colour, even once no annotation has it.
        Idempotent under concurrency (an insert that does nothing on conflict); returns (tag, colour)."""
        require(actor, Action.ANNOTATE)
        name = clean_tag(tag)
        self.session.execute(insert_for(self.session, TagDefinition).values(
            dataset=dataset, tag=name, color=_check_color(None, name), created_by=actor.id, date_created=utcnow(),
        ).on_conflict_do_nothing())
        row = self.session.get(TagDefinition, (dataset, name))
        return name, row.color if row else default_color(name)

    def set_color(self, actor: User, dataset: str, tag: str, color: str) -> None:
        require(actor, Action.ANNOTATE)
        name = clean_tag(tag)
        chosen = _check_color(color, name)
        self.session.execute(insert_for(self.session, TagDefinition).values(
            dataset=dataset, tag=name, color=chosen, created_by=actor.id, date_created=utcnow(),
        ).on_conflict_do_update(index_elements=[TagDefinition.dataset, TagDefinition.tag], set_={"color": chosen}))
        self.session.expire_all()

    def rename(self, actor: User, dataset: str, old: str, new: str) -> int:
        """Rename a tag in the vocabulary and on every annotation of the dataset; returns annotations changed.

        Set-based: the annotations' versions go up in SQL (a stale edit elsewhere is then refused), the tag rows
        are replaced with statements that cannot collide with a concurrent tagging."""
        require(actor, Action.RENAME_TAGS)
        old_name, new_name = clean_tag(old), clean_tag(new)
        if old_name == new_name:
            return 0
        if old_name not in self.colors(dataset):
            raise NotFound(f"The {dataset} dataset has no tag {old_name!r}.")
        ids = list(self.session.scalars(
            select(AnnotationTag.annotation_id).join(Annotation, Annotation.id == AnnotationTag.annotation_id)
            .join(Sound, Sound.id == Annotation.sound_id).where(Sound.dataset == dataset, AnnotationTag.tag == old_name)))
        for chunk in (ids[i:i + 500] for i in range(0, len(ids), 500)):
            self.session.execute(update(Annotation).where(Annotation.id.in_(chunk)).values(
                version=Annotation.version + 1, date_updated=utcnow(), updated_by=actor.id))
            self.session.execute(insert_for(self.session, AnnotationTag).values(
                [{"annotation_id": a, "tag": new_name} for a in chunk]).on_conflict_do_nothing())
            self.session.execute(delete(AnnotationTag).where(AnnotationTag.annotation_id.in_(chunk), AnnotationTag.tag == old_name))
        gone = self.session.execute(delete(TagDefinition).where(TagDefinition.dataset == dataset, TagDefinition.tag == old_name)
                                    .returning(TagDefinition.color, TagDefinition.date_created)).first()
        if gone is not None:  # the renamed tag keeps its colour and its place in the order (its creation time)
            self.session.execute(insert_for(self.session, TagDefinition).values(
                dataset=dataset, tag=new_name, color=gone.color, created_by=actor.id, date_created=gone.date_created)
                .on_conflict_do_nothing())
        self.session.expire_all()
        return len(ids)
