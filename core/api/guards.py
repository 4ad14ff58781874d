"""What stops a request before it reaches a route: writes from another site, callers without credentials
before their body is read, bodies over their limit while they stream in, and NUL characters in parameters."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import Scope

from core.api.deps import check_caller, client_address, earmark
from core.api.errors import error_response
from core.errors import EarmarkError, ValidationError


def _headers(scope: dict) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}


class SameOriginWrites:
    """Requests that change something (not GET, HEAD, OPTIONS) are refused when a browser says they come from
    another site: ``Sec-Fetch-Site`` other than same-origin, or an ``Origin`` that is not this server. A page
    elsewhere could otherwise post a form here with the Basic credentials the browser remembers. Scripts and
    the Python client send neither header and are not affected. Checked before the body is read."""

    SAFE = {"GET", "HEAD", "OPTIONS"}

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] not in self.SAFE and (refusal := self.refusal(scope)):
            await JSONResponse({"error": refusal}, status_code=403)(scope, receive, send)
            return
        await self.app(scope, receive, send)

    @staticmethod
    def refusal(scope: dict) -> str | None:
        headers = _headers(scope)
        fetch_site, origin = headers.get("sec-fetch-site"), headers.get("origin")
        if fetch_site is not None and fetch_site not in ("same-origin", "none"):
            return f"A {fetch_site} request may not change anything here: use this server's own pages, a script or the API client."
        # its host against ours (the scheme may differ behind a proxy that ends TLS)
        if origin is not None and urlsplit(origin).netloc.lower() != headers.get("host", "").lower():
            return f"A request from {origin} may not change anything here: use this server's own pages, a script or the API client."
        return None


def allowed_methods(scope: Scope) -> set[str]:
    """Every method some route of the API answers on this request's path (GET, HEAD, PATCH, DELETE ...): the
    table core.api.app keeps in the app's state."""
    path, root = scope["path"], scope.get("root_path", "")
    path = path[len(root):] if root and path.startswith(root) else path
    return {m for pattern, methods in scope["app"].state.methods_by_path for m in methods if pattern.match(path)}


class _TooLarge(HTTPException):
    """Raised while the body streams in (an HTTPException, so body parsers let it through to the 413 answer)."""

    def __init__(self, message: str) -> None:
        super().__init__(413, message)


class GuardedBodies:
    """Before a request body is read: who is calling (401 without reading it) and how big it may be (413 the
    moment it passes the limit, while it streams in): an anonymous 300 MB POST costs a header, not 300 MB.
    An upload may be EARMARK_MAX_UPLOAD_MB plus its form fields; anything else JSON_LIMIT_BYTES. The caller found
    here is handed to the routes' ``current_user`` dependency, so the credentials are checked once."""

    BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
    JSON_LIMIT_BYTES = 64 * 1024 * 1024
    FORM_SLACK_BYTES = 1024 * 1024

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] not in self.BODY_METHODS or scope["method"] not in allowed_methods(scope):
            await self.app(scope, receive, send)  # no route takes it here: a 404 or 405 without reading the body
            return
        headers = _headers(scope)
        app = earmark()
        try:
            user = await check_caller(headers.get("authorization"), client_address(scope))
        except EarmarkError as exc:
            await error_response(exc)(scope, receive, send)
            return
        scope.setdefault("state", {})["user"] = user
        upload = scope["path"].endswith("/data/upload")
        limit = app.settings.max_upload_bytes + self.FORM_SLACK_BYTES if upload else self.JSON_LIMIT_BYTES
        message = (f"The upload is larger than the {app.settings.max_upload_mb:,} MB limit (EARMARK_MAX_UPLOAD_MB)." if upload
                   else f"The request body is larger than the {limit // 2**20:,} MB this route takes.")
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await JSONResponse({"error": message}, status_code=413)(scope, receive, send)
            return
        received, started = 0, False

        async def counted() -> dict:
            nonlocal received
            arrived = await receive()
            received += len(arrived.get("body", b""))
            if received > limit:
                raise _TooLarge(message)
            return arrived

        async def watched(message: dict) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except _TooLarge:
            if started:
                raise
            await JSONResponse({"error": message}, status_code=413)(scope, receive, send)


async def no_nul_characters(request: Request) -> None:
    """A NUL character is in no name, path or search (and PostgreSQL refuses it in text): refuse it by name.
    Async: it does no I/O, so it runs on the event loop without a thread hop."""
    for name, value in [*request.query_params.multi_items(), *request.path_params.items()]:
        if "\x00" in value:
            raise ValidationError(name, f"{name} must not contain a NUL character.")
