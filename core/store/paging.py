"""Paging with the seed API's semantics: ``page_size``, ``page_number``, ``low_id``, ``total_count``, ``next``.

``low_id`` is keyset paging (ids sort by creation time); ``page_number`` is kept for the seed API's clients.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from urllib.parse import urlencode

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from core.errors import ValidationError

T = TypeVar("T")
MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 100


@dataclass(frozen=True)
class PageRequest:
    page_size: int = DEFAULT_PAGE_SIZE
    page_number: int = 1
    low_id: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.page_size, int) or not 1 <= self.page_size <= MAX_PAGE_SIZE:
            raise ValidationError("page_size", f"page_size must be a whole number from 1 to {MAX_PAGE_SIZE}.")
        if not isinstance(self.page_number, int) or self.page_number < 1:
            raise ValidationError("page_number", "page_number must be a whole number of at least 1.")


@dataclass
class Page(Generic[T]):
    items: list[T]
    total_count: int
    next: PageRequest | None
    filters: dict[str, Any] = field(default_factory=dict)

    def next_query(self) -> str | None:
        """The query string of the next page (filters included), for ``next`` links."""
        if self.next is None:
            return None
        params = {k: v for k, v in self.filters.items() if v not in (None, "", [])}
        params = {k: ",".join(v) if isinstance(v, (list, tuple)) else v for k, v in params.items()}
        params["page_size"] = self.next.page_size
        if self.next.low_id:
            params["low_id"] = self.next.low_id
        else:
            params["page_number"] = self.next.page_number
        return urlencode(params)


def paginate(session: Session, query: Select, id_column: Any, request: PageRequest, filters: dict[str, Any], *,
             rows: bool = False, count: Select | None = None) -> Page:
    """Run ``query`` (already filtered) one page at a time, ordered by id.

    ``total_count`` counts everything the filters match (ignoring ``low_id``), as the seed API does. With
    ``rows``, the page holds plain rows of the selected columns instead of ORM objects: several times cheaper
    for a listing that is only shaped into JSON. ``count``: a cheaper statement giving the same total.
    """
    count = count if count is not None else select(func.count()).select_from(query.order_by(None).subquery())
    total = session.scalar(count) or 0
    paged = query.order_by(id_column)
    paged = paged.where(id_column > request.low_id) if request.low_id else paged.offset((request.page_number - 1) * request.page_size)
    limited = paged.limit(request.page_size + 1)
    found = list(session.execute(limited).all() if rows else session.scalars(limited))
    has_more = len(found) > request.page_size
    found = found[: request.page_size]
    nxt = None
    if has_more:
        nxt = PageRequest(request.page_size, 1, found[-1].id) if request.low_id else PageRequest(request.page_size, request.page_number + 1)
    return Page(found, total, nxt, filters)


def children(session: Session, ids: list[str], key: Any, *values: Any) -> dict[str, list[Any]]:
    """The ``values`` of every child row whose ``key`` is one of ``ids`` (a page's tags, fields...), in one query:
    per id, a list of values (one column) or of tuples (several)."""
    found: dict[str, list[Any]] = {i: [] for i in ids}
    if ids:
        for owner, *item in session.execute(select(key, *values).where(key.in_(ids))):
            found[owner].append(item[0] if len(values) == 1 else tuple(item))
    return found
