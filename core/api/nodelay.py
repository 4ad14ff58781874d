"""Responses leave at once: TCP_NODELAY on every connection the server accepts.

Streamlit's server binds its listening socket as ``socket.socket(family)`` (protocol 0), and asyncio sets
TCP_NODELAY only on sockets whose protocol reads IPPROTO_TCP, so accepted connections keep Nagle's algorithm on.
The HTTP server writes a response's head and its body separately; on a kept-alive connection the body then
waits for the client's delayed ACK of the head: 40 ms added to every API request after a connection's first
(seen as ~60 ms per waveform view in Chromium, 15-20 ms with this). Only the check is widened: TCP sockets
of any protocol number get the option, as asyncio gives it to those it creates itself.
"""

from __future__ import annotations

import asyncio.base_events
import contextlib
import socket

_original = asyncio.base_events._set_nodelay  # type: ignore[attr-defined]  # private: not in typeshed


def _set_nodelay(sock: socket.socket) -> None:
    if sock.family in (socket.AF_INET, socket.AF_INET6) and sock.type == socket.SOCK_STREAM:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return
    _original(sock)


def install() -> None:
    """Give TCP_NODELAY to every TCP connection asyncio accepts from now on (idempotent)."""
    asyncio.base_events._set_nodelay = _set_nodelay  # type: ignore[attr-defined]  # private: not in typeshed
