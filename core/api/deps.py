"""What every route needs: the opened app, the caller (Basic or Bearer, as a dependency), paging, tags, and
the shape of a page of results."""

from __future__ import annotations

import asyncio
import functools
import weakref
from collections.abc import Callable, Coroutine, Mapping
from pathlib import PurePosixPath
from typing import Annotated, Any, NamedTuple
from urllib.parse import quote

import anyio
from fastapi import Depends, Request, Response, Security
from fastapi.routing import APIRoute
from fastapi.security import HTTPBasic, HTTPBearer
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from core.accounts import auth, credentials, throttle
from core.api.models import TAG_LIST, free_text
from core.context import Earmark, open_earmark
from core.errors import PermissionDenied
from core.store.config import settings
from core.store.models import User
from core.store.paging import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, Page, PageRequest

PREFIX = "/api/v1"
# Every stored file goes out with these: the browser must not guess another type (an .xml that is XHTML) and,
# should it render the file anyway, the page gets a unique origin with no script and no cookies.
SERVED_FILE_HEADERS = {"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "sandbox"}
LINK_FIELDS = ("created_by", "uploaded_by", "sound", "audio_url")  # the core shapes' paths, put under PREFIX by linked()
# What a page token may call: what the Annotate page's own scripts (the waveform component) need, a sound's views
# and its annotations. A page token sits in the page and whatever reads it: never user management, uploads,
# jobs, listings or the file registry. tests/test_core_api.py checks each of these is a route of the API.
PAGE_ROUTES = frozenset({
    ("GET", "/sounds/{sound_id}"), ("GET", "/sounds/{sound_id}/peaks"), ("GET", "/sounds/{sound_id}/spectrogram"),
    ("GET", "/sounds/{sound_id}/audio"), ("GET", "/sounds/{sound_id}/annotations"), ("POST", "/sounds/{sound_id}/annotations"),
    ("POST", "/sounds/{sound_id}/suggestions"), ("GET", "/annotations/{annotation_id}"), ("PATCH", "/annotations/{annotation_id}"),
    ("DELETE", "/annotations/{annotation_id}"), ("POST", "/annotations/{annotation_id}/accept"),
    ("POST", "/annotations/{annotation_id}/reject"), ("POST", "/sounds/{sound_id}/tags"),
    ("POST", "/my-work/{sound_id}/time"),  # the active seconds the waveform sends as the page leaves a sound
})
MAX_PAGE_NUMBER = 1_000_000  # OFFSET paging this deep is already slow: use low_id beyond it
HANDLER_SLOTS = 2  # measured in bench/api_load.py (see BENCHMARKS.md): 1-2 serve the most, 6 a fifth less
_slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, anyio.CapacityLimiter] = weakref.WeakKeyDictionary()


class Bounded(APIRoute):
    """A route whose handler (parsing, dependencies, the service call) runs only while one of HANDLER_SLOTS is
    free. The server is one Python process: fifty requests each on its own thread fight over the interpreter
    lock and every one of them gets slower; a few at a time, the rest waiting in the event loop, serve more
    and sooner. Streaming bodies are sent after the handler returns, outside the slot. Handlers marked
    :func:`unbounded` (decoding audio, reading storage) take no slot, so they never hold up quick ones.

    The caller is checked on the thread that runs the handler, just before it (see :func:`current_user`), and
    FastAPI sees a coroutine, so it checks the answer against the return type on the event loop: one trip to a
    worker thread per request instead of three (the check, the handler, the answer's check)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, _checking_caller(endpoint), **kwargs)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if getattr(self.endpoint, "unbounded", False):
            return handler

        async def bounded(request: Request) -> Response:
            loop = asyncio.get_running_loop()
            slots = _slots.get(loop) or _slots.setdefault(loop, anyio.CapacityLimiter(HANDLER_SLOTS))
            async with slots:
                return await handler(request)

        return bounded


def unbounded(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a route (below its ``@router`` line) whose handler mostly waits on decoding, storage or the network,
    which release the interpreter lock: it runs beside the HANDLER_SLOTS, so a long decode or a big upload
    never holds up the listing and annotating behind it."""
    endpoint.unbounded = True  # type: ignore[attr-defined]
    return endpoint


def _refuse_page_tokens_off_page_routes(request: Request, authorization: str | None) -> None:
    """The one check of what a page token may call: a route of PAGE_ROUTES, nothing else (403)."""
    if not credentials.is_page_token(authorization):
        return
    route = request.scope.get("route")
    if (request.method, getattr(route, "path", None)) not in PAGE_ROUTES:
        raise PermissionDenied("A page token works only for a page's own views and annotations: "
                               "use your password or an API token for the rest of the API.")


class Unchecked(NamedTuple):
    """An ``Authorization`` header not checked yet: what :func:`current_user` hands a :class:`Bounded` route,
    which checks it (:meth:`check`) on the thread that runs its handler, never calling the handler unchecked."""

    authorization: str | None
    address: str | None

    def check(self) -> User:
        """core.accounts' check of the header (page tokens included): a database read, maybe bcrypt."""
        app = earmark()
        return credentials.authenticate(app.db, self.authorization, self.address, page_key=lambda: auth.cookie_key(app.settings))


def _checked(values: dict[str, Any]) -> dict[str, Any]:
    """The handler's arguments with every :class:`Unchecked` caller checked (AuthenticationFailed otherwise)."""
    return {name: value.check() if isinstance(value, Unchecked) else value for name, value in values.items()}


def _checking_caller(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """``endpoint`` as a coroutine that checks its caller first. A plain function runs with the check on one
    worker thread (FastAPI would send it to a thread of its own after the check's); a coroutine awaits the
    check on a worker thread, then runs on the event loop. Same signature, so FastAPI sees the endpoint's."""
    if asyncio.iscoroutinefunction(endpoint):
        @functools.wraps(endpoint)
        async def checked(**values: Any) -> Any:
            if any(isinstance(value, Unchecked) for value in values.values()):
                values = await run_in_threadpool(_checked, values)
            return await endpoint(**values)
    else:
        @functools.wraps(endpoint)
        async def checked(**values: Any) -> Any:
            return await run_in_threadpool(lambda: endpoint(**_checked(values)))
    checked.checks_caller = True  # type: ignore[attr-defined]
    return checked


_basic = HTTPBasic(auto_error=False, description="Your Earmark user name and password.")
_bearer = HTTPBearer(auto_error=False, description="An API token made on the Users page (em_...).")


@functools.cache
def earmark() -> Earmark:
    """The app's database and storage, opened once per process (tests clear the cache between apps)."""
    return open_earmark(settings(), check_storage=False)


async def current_user(request: Request, _basic_scheme: Any = Security(_basic), _bearer_scheme: Any = Security(_bearer)) -> User:
    """The caller, from ``Authorization`` (Basic or Bearer); 401 otherwise. The two schemes are declared so the
    OpenAPI document and its docs page offer both; the header itself is checked by core.accounts (for a request
    with a body, already before the body was read: see core.api.guards.GuardedBodies). Async, so a caller found
    already costs no thread hop. The check itself (a database read, bcrypt) runs on a worker thread: for a
    :class:`Bounded` route the one that runs its handler (an :class:`Unchecked` is handed on, checked there
    before the handler is called), else one of its own. No header at all is refused here, before anything, and
    a page token anywhere but PAGE_ROUTES."""
    authorization, address = request.headers.get("authorization"), client_address(request.scope)
    _refuse_page_tokens_off_page_routes(request, authorization)
    checked = getattr(request.state, "user", None)
    if checked is not None:
        return checked
    if authorization and getattr(request.scope.get("endpoint"), "checks_caller", False):
        return Unchecked(authorization, address)  # type: ignore[return-value]  # checked with the handler, on its thread
    return await check_caller(authorization, address)


def client_address(scope: Mapping[str, Any]) -> str | None:
    """The address a request's failed logins are counted against (core.accounts.throttle.client_address): the
    connection's own, or, when that is one of EARMARK_TRUSTED_PROXIES, the client it names in X-Forwarded-For
    (every such header, in order: a proxy may add its own rather than append to the one it received)."""
    peer = scope["client"][0] if scope.get("client") else None
    forwarded = [value.decode("latin-1") for name, value in scope.get("headers", ()) if name.lower() == b"x-forwarded-for"]
    return throttle.client_address(peer, forwarded, settings().trusted_proxies)


async def check_caller(authorization: str | None, address: str | None) -> User:
    """core.accounts' check of an ``Authorization`` header (page tokens included), on a worker thread: it reads
    the database and may run bcrypt. The routes' dependency and the body guard both ask here."""
    return await run_in_threadpool(Unchecked(authorization, address).check)


async def _opened() -> Earmark:
    """:func:`earmark` as a dependency: async, so FastAPI calls it on the event loop rather than sending it to
    a worker thread (each thread hop costs a wake-up and a turn at the interpreter lock)."""
    return earmark()


App = Annotated[Earmark, Depends(_opened)]
Caller = Annotated[User, Depends(current_user)]


class Paging(BaseModel):
    """The seed API's paging: ``page_size``, ``page_number`` or ``low_id`` (keyset, faster at any depth)."""

    page_size: int = Field(DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE, description="results per page")
    page_number: int = Field(1, ge=1, le=MAX_PAGE_NUMBER, description="page to view")
    low_id: str | None = free_text(64, "only ids after this one (keyset)")
    tags: str | None = TAG_LIST

    def request(self) -> PageRequest:
        return PageRequest(self.page_size, self.page_number, self.low_id or None)

    def tag_list(self) -> tuple[str, ...]:
        return split_tags(self.tags)



def attachment(filename: str) -> dict[str, str]:
    """Headers that make a browser save a stored file rather than show it (the name kept, UTF-8 safe)."""
    return SERVED_FILE_HEADERS | {"Content-Disposition": f"attachment; filename*=UTF-8''{quote(PurePosixPath(filename).name)}"}


def split_tags(value: str | None) -> tuple[str, ...]:
    return tuple(t for t in (value or "").split(",") if t.strip())


def linked(item: dict[str, Any]) -> dict[str, Any]:
    """Links in answers are paths under /api/v1."""
    for name in LINK_FIELDS:
        value = item.get(name)
        if isinstance(value, str) and value.startswith("/") and not value.startswith(PREFIX):
            item[name] = PREFIX + value
    return item


def page_of(page: Page, path: str, shape: Callable[[Any], dict[str, Any]] | None = None) -> dict[str, Any]:
    """A page as the API answers it; ``shape`` turns items into dicts unless they already are."""
    query = page.next_query()
    return {"items": [linked(shape(item) if shape else item) for item in page.items], "total_count": page.total_count,
            "next": f"{PREFIX}{path}?{query}" if query else None}
