"""Serving a stored object over HTTP: whole, or the single byte range a player asks for (206), read from storage
a chunk at a time so memory never holds the object."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import Response
from fastapi.responses import JSONResponse, StreamingResponse

from core.errors import EarmarkError
from core.store.storage import CHUNK, Storage


class RangeNotSatisfiable(EarmarkError):
    def __init__(self, size: int) -> None:
        super().__init__(f"The requested range is outside the object (size {size}).")
        self.size = size


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(first, last) byte of a single ``Range: bytes=a-b`` request; None for the whole object."""
    if not header or not header.startswith("bytes=") or "," in header:
        return None
    first, _, last = header[6:].partition("-")
    try:
        if first == "":
            start, end = max(0, size - int(last)), size - 1
        else:
            start, end = int(first), min(size - 1, int(last) if last else size - 1)
    except ValueError:
        return None
    if start > end or start >= size:
        raise RangeNotSatisfiable(size)
    return start, end


def chunks(storage: Storage, key: str, start: int, length: int) -> Iterator[bytes]:
    """An object's bytes ``start`` .. ``start + length``, a ranged read at a time (never the whole in memory)."""
    for offset in range(start, start + length, CHUNK):
        yield storage.read_range(key, offset, min(CHUNK, start + length - offset))


def ranged(storage: Storage, key: str, size: int, media_type: str, range_header: str | None,
           headers: dict[str, str]) -> Response:
    """The object at ``key``: a 206 with the range asked for, the whole of it, or a 416 for a range past its end."""
    try:
        wanted = byte_range(range_header, size)
    except RangeNotSatisfiable as exc:
        return JSONResponse({"error": str(exc)}, status_code=416, headers={"Content-Range": f"bytes */{exc.size}"})
    if wanted is None:
        return StreamingResponse(chunks(storage, key, 0, size), media_type=media_type,
                                 headers=headers | {"Accept-Ranges": "bytes", "Content-Length": str(size)})
    first, last = wanted
    return StreamingResponse(chunks(storage, key, first, last - first + 1), status_code=206, media_type=media_type,
                             headers=headers | {"Accept-Ranges": "bytes", "Content-Range": f"bytes {first}-{last}/{size}",
                                                "Content-Length": str(last - first + 1)})
