"""Identifiers that sort by creation time.

A 14-hex-digit microsecond timestamp followed by 16 hex digits of randomness: string order is creation order,
so ``WHERE id > :low_id ORDER BY id`` is keyset paging, and ids from several processes never collide.
"""

from __future__ import annotations

import secrets
import threading
import time

_lock = threading.Lock()
_last_micros = 0


def new_id() -> str:
    """A new id, strictly greater than any earlier one made by this process."""
    global _last_micros
    with _lock:
        micros = max(time.time_ns() // 1000, _last_micros + 1)
        _last_micros = micros
    return f"{micros:014x}{secrets.token_hex(8)}"


def id_time_micros(identifier: str) -> int:
    """The creation time (microseconds since the epoch) encoded in an id."""
    return int(identifier[:14], 16)
