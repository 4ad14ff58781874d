"""What the catalogue holds, in one query per figure (shown on Home, by `stats`, and by the API)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from sqlalchemy import case, func, literal, select
from sqlalchemy.orm import Session

from core.catalogue.files import UPLOAD_CATEGORIES, live
from core.catalogue.sounds import MAX_SOUND_SECONDS
from core.store.models import USER_TYPES, Annotation, Sound, StoredFile, User

OWN_KINDS = ("uploaded", "derived", "expired")  # what Earmark's own storage holds (not "registered")


@dataclass(frozen=True)
class Stats:
    sounds: int
    total_duration_seconds: float
    annotations: int
    datasets: int
    users: int
    users_by_type: dict[str, int]
    admins: int
    files: int
    storage_bytes: int  # every file in Earmark's own storage: the sum of the three below
    uploaded_bytes: int = 0  # uploaded files that have not expired
    derived_bytes: int = 0  # made by Earmark: waveform peaks, analyzer outputs
    expired_bytes: int = 0  # past their expiry, until ``purge`` removes them
    registered_bytes: int = 0  # files registered in place: read from their own bucket or folder, not stored here

    def as_dict(self) -> dict:
        return asdict(self)


def _counted_duration():
    """A sound's duration as the total counts it: within [0, MAX_SOUND_SECONDS], so no stored value (an absurd
    one written before durations were bounded, infinity or NaN on PostgreSQL) makes the sum overflow (PostgreSQL
    refuses the query then, SQLite answers inf) or poisons Home and ``stats`` for everyone."""
    duration = Sound.duration_seconds
    return case((duration > MAX_SOUND_SECONDS, literal(MAX_SOUND_SECONDS)), (duration >= 0, duration), else_=literal(0.0))


def catalogue_stats(session: Session) -> Stats:
    sounds, duration, datasets = session.execute(
        select(func.count(), func.coalesce(func.sum(_counted_duration()), 0.0), func.count(func.distinct(Sound.dataset)))
    ).one()
    by_type = dict.fromkeys(USER_TYPES, 0)
    by_type.update(dict(session.execute(select(User.user_type, func.count()).group_by(User.user_type)).all()))
    counted = _files_by_kind(session)
    kinds = {kind: size for kind, (_, size) in counted.items()}
    return Stats(
        sounds=sounds,
        total_duration_seconds=float(duration),
        annotations=session.scalar(select(func.count()).select_from(Annotation)) or 0,
        datasets=datasets,
        users=sum(by_type.values()),
        users_by_type=by_type,
        admins=session.scalar(select(func.count()).select_from(User).where(User.is_admin.is_(True))) or 0,
        files=sum(counted.get(kind, (0, 0))[0] for kind in OWN_KINDS),
        storage_bytes=sum(kinds.get(kind, 0) for kind in OWN_KINDS),
        uploaded_bytes=kinds.get("uploaded", 0), derived_bytes=kinds.get("derived", 0), expired_bytes=kinds.get("expired", 0),
        registered_bytes=kinds.get("registered", 0),
    )


def storage_by_kind(session: Session) -> dict[str, int]:
    """Bytes as ``uploaded`` (live uploads), ``derived`` (waveform peaks, analyzer outputs), ``expired`` (awaiting
    purge) and ``registered`` (files registered in place, which stay in the user's bucket or folder). Home's
    "Storage used" is the sum of OWN_KINDS, what Earmark's own storage holds; said without the parts, it read as a
    different figure from the Files tab's for the same data."""
    return {kind: size for kind, (_, size) in _files_by_kind(session).items()}


def _files_by_kind(session: Session) -> dict[str, tuple[int, int]]:
    """(files, bytes) per kind (:func:`storage_by_kind`), in one pass over stored_files."""
    kind = case((StoredFile.source.is_not(None), literal("registered")),
                (StoredFile.category.not_in(UPLOAD_CATEGORIES), literal("derived")),
                (live(StoredFile.expires_at), literal("uploaded")), else_=literal("expired"))
    rows = session.execute(select(kind, func.count(), func.coalesce(func.sum(StoredFile.size), 0)).group_by(kind)).all()
    return {name: (int(files), int(size)) for name, files, size in rows}


def storage_parts(stats: Stats) -> str:
    """What "Storage used" is made of, in words (Home, and the Files tab's note)."""
    parts = [f"{human_bytes(stats.uploaded_bytes)} uploaded files (Upload > Files)",
             f"{human_bytes(stats.derived_bytes)} made by Earmark (waveform peaks, analyzer outputs)"]
    if stats.expired_bytes:
        parts.append(f"{human_bytes(stats.expired_bytes)} expired, removed by the next purge")
    said = ", ".join(parts)
    if stats.registered_bytes:
        said += (f"; besides, {human_bytes(stats.registered_bytes)} of files registered in place, read where they are "
                 "and not stored here")
    return said


def human_bytes(size: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if size < 1024 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size} B"


def human_duration(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "unknown"
    if round(seconds, 1) < 60:
        return f"{seconds:.1f} s"
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min {secs:02d} s"
