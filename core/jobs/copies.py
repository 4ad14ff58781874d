"""A sound's copies, as the duplicates analyzer grouped them (core/jobs/analyzers/duplicates.py): "copies of this"
on Browse. Read from the fields it wrote (``duplicates.group`` is indexed with its value, ix_sound_fields_name_value),
so what is shown is what a filter or an export sees."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, select
from sqlalchemy.orm import Session, aliased

from core.catalogue.files import live
from core.jobs.analyzers.duplicates import PREFIX
from core.store.models import Sound, SoundField

GROUP, OF, OFFSET = PREFIX + "group", PREFIX + "of", PREFIX + "offset_seconds"


@dataclass(frozen=True)
class Copy:
    sound_id: str
    dataset: str
    path: str
    of: str | None  # the earliest sound it copies (None: the group's earliest sound)
    offset_seconds: float | None  # where its start is in ``of``


def copies_of(session: Session, sound_id: str, limit: int = 50) -> list[Copy]:
    """The other live sounds in ``sound_id``'s group, earliest first; none if it is in no group."""
    group = session.scalar(select(SoundField.value).where(SoundField.sound_id == sound_id, SoundField.name == GROUP))
    if group is None:
        return []
    of, offset = aliased(SoundField), aliased(SoundField)
    rows = session.execute(
        select(Sound.id, Sound.dataset, Sound.path, of.value, offset.value)
        .join(SoundField, and_(SoundField.sound_id == Sound.id, SoundField.name == GROUP, SoundField.value == group))
        .outerjoin(of, and_(of.sound_id == Sound.id, of.name == OF))
        .outerjoin(offset, and_(offset.sound_id == Sound.id, offset.name == OFFSET))
        .where(Sound.id != sound_id, live(Sound.expires_at)).order_by(Sound.id).limit(limit))
    return [Copy(i, dataset, path, source, float(at) if at is not None else None) for i, dataset, path, source, at in rows]
