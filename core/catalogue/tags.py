"""Tag names: one normal form everywhere (trimmed, lower-case, no separators that break exports)."""

from __future__ import annotations

from collections.abc import Iterable

from core.errors import ValidationError

MAX_TAG_LENGTH = 128


def clean_tag(tag: str) -> str:
    """The normal form of one tag; :class:`ValidationError` for an empty or unusable one."""
    value = " ".join(str(tag or "").split()).lower()
    if not value:
        raise ValidationError("tags", "A tag must not be empty.")
    if len(value) > MAX_TAG_LENGTH:
        raise ValidationError("tags", f"The tag {value[:20]!r}... is longer than {MAX_TAG_LENGTH} characters.")
    if any(ch in value for ch in ";,\t\n"):
        raise ValidationError("tags", f"The tag {value!r} must not contain ';' or ','.")
    return value


def clean_tags(tags: Iterable[str] | str | None) -> list[str]:
    """Tags from a list or a comma-separated string, normalised, duplicates dropped, order kept."""
    if tags is None:
        return []
    items = tags.split(",") if isinstance(tags, str) else list(tags)
    if isinstance(tags, str) and not tags.strip():
        return []
    out: list[str] = []
    for tag in items:
        value = clean_tag(tag)
        if value not in out:
            out.append(value)
    return out
