"""The FastAPI application mounted at /api/v1 in the same ``st.App`` as the pages, and how errors look.

Every error is JSON ``{"error": "one sentence"}``: a core error with its status (400 bad input, 401 no or wrong
credentials, 403 the role forbids it, 404, 409 a stale edit), a request that does not fit its declared types
a 400 naming the field, an unknown route a 404. The OpenAPI document and the docs page are FastAPI's, made
from these routes.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.routing import BaseRoute, Mount

from core import __version__
from core.accounts import credentials
from core.api import annotations, files, jobs, sounds, subsets, users
from core.api.deps import PREFIX, App, Caller, earmark
from core.catalogue.stats import catalogue_stats
from core.errors import (
    AuthenticationFailed,
    Conflict,
    EarmarkError,
    NotFound,
    PermissionDenied,
    TooManyAttempts,
    ValidationError,
)

STATUS = ((TooManyAttempts, 429), (AuthenticationFailed, 401), (PermissionDenied, 403), (NotFound, 404), (Conflict, 409), (EarmarkError, 400))
DESCRIPTION = """Audio dataset annotation: users, sounds, annotations, files, jobs and subsets.

Every route but `/health` needs HTTP Basic (your Earmark user name and password) or `Authorization: Bearer <token>`
(make tokens on the Users page). Errors are JSON `{"error": "..."}`. A Python client: `core.client.Client`."""
# pydantic's error types, said as the end of "<field> must ..."
PHRASES = {"int_parsing": "be a whole number", "int_type": "be a whole number", "int_from_float": "be a whole number", "float_parsing": "be a number",
           "finite_number": "be a finite number", "bool_parsing": "be true or false", "list_type": "be a list",
           "dict_type": "be a JSON object", "string_type": "be text", "missing": "be given",
           "string_too_long": "be at most {max_length} characters long", "greater_than_equal": "be at least {ge}",
           "less_than_equal": "be at most {le}", "greater_than": "be more than {gt}", "literal_error": "be one of {expected}",
           "extra_forbidden": "not be sent (it cannot be changed here)"}

RANGES = ("greater_than_equal", "less_than_equal", "greater_than")  # the value was read; show it as a number


def error_response(exc: EarmarkError) -> JSONResponse:
    status = next(code for kind, code in STATUS if isinstance(exc, kind))
    headers = {"WWW-Authenticate": 'Basic realm="earmark"'} if status == 401 else None
    if isinstance(exc, TooManyAttempts):
        headers = {"Retry-After": str(exc.retry_after)}
    return JSONResponse({"error": str(exc)}, status_code=status, headers=headers)


def _field(location: tuple[Any, ...]) -> str:
    """``("body", "sound_ids", 0)`` -> ``sound_ids[0]``; the part of the request is left out."""
    parts = [p for p in location if p not in ("body", "query", "path", "header", "form")]
    name = ""
    for part in parts:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name or "body"


def validation_message(error: dict[str, Any]) -> str:
    """One sentence naming the field and what it must be, from pydantic's first error."""
    kind, field = error["type"], _field(tuple(error["loc"]))
    if kind == "json_invalid":
        return f"The request body is not JSON ({error.get('ctx', {}).get('error', 'invalid')})."
    if kind == "model_attributes_type" or (kind == "dict_type" and field == "body"):
        if isinstance(error.get("input"), (bytes, str)):  # not sent as JSON: FastAPI parses only application/json
            return "The request body is not JSON: send a JSON object with Content-Type: application/json."
        return "The request body must be a JSON object."
    phrase = PHRASES.get(kind)
    said = f"{field} must {phrase.format(**error.get('ctx', {}))}" if phrase else f"{field}: {error['msg']}"
    if "input" in error and kind not in ("missing", "extra_forbidden") and not isinstance(error["input"], (dict, list)):
        shown = str(error["input"]) if kind in RANGES else repr(error["input"])
        said += f", not {shown[:60] + '...' if len(shown) > 60 else shown}"
    return said + "."


async def _validation_failed(_request: Request, exc: RequestValidationError) -> JSONResponse:
    return JSONResponse({"error": validation_message(exc.errors()[0])}, status_code=400)


async def _earmark_error(_request: Request, exc: EarmarkError) -> JSONResponse:
    return error_response(exc)


async def _http_error(request: Request, exc: HTTPException) -> JSONResponse:
    message = {404: f"There is no {request.method} {request.url.path} in this API (see {PREFIX}/docs).",
               405: f"{request.method} is not allowed on {request.url.path}."}.get(exc.status_code, str(exc.detail))
    return JSONResponse({"error": message}, status_code=exc.status_code, headers=exc.headers)


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
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        fetch_site, origin = headers.get("sec-fetch-site"), headers.get("origin")
        if fetch_site is not None and fetch_site not in ("same-origin", "none"):
            return f"A {fetch_site} request may not change anything here: use this server's own pages, a script or the API client."
        if origin is not None:  # its host against ours (the scheme may differ behind a proxy that ends TLS)
            if urlsplit(origin).netloc.lower() != headers.get("host", "").lower():
                return f"A request from {origin} may not change anything here: use this server's own pages, a script or the API client."
        return None


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
        if scope["type"] != "http" or scope["method"] not in self.BODY_METHODS:
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        app = earmark()
        try:
            address = scope["client"][0] if scope.get("client") else None
            user = await run_in_threadpool(credentials.authenticate, app.db, headers.get("authorization"), address)
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


def no_nul_characters(request: Request) -> None:
    """A NUL character is in no name, path or search (and PostgreSQL refuses it in text): refuse it by name."""
    for name, value in [*request.query_params.multi_items(), *request.path_params.items()]:
        if "\x00" in value:
            raise ValidationError(name, f"{name} must not contain a NUL character.")


def create_app() -> FastAPI:
    api = FastAPI(dependencies=[Depends(no_nul_characters)], title="Earmark API", version=__version__, description=DESCRIPTION, redirect_slashes=False,
                  docs_url="/docs", openapi_url="/openapi.json", redoc_url=None)
    api.add_exception_handler(RequestValidationError, _validation_failed)
    api.add_exception_handler(EarmarkError, _earmark_error)
    api.add_exception_handler(HTTPException, _http_error)
    api.add_middleware(GuardedBodies)
    api.add_middleware(SameOriginWrites)  # added last: runs first, before credentials are even looked at

    @api.get("/health", summary="Whether the server is up (no authentication)", tags=["stats"])
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @api.get("/", summary="High-level stats: totalSounds, totalAnnotations, totalUsers", tags=["stats"])
    def stats(app: App, user: Caller) -> dict[str, int]:
        with app.db.read() as session:
            figures = catalogue_stats(session)
        return {"totalSounds": figures.sounds, "totalAnnotations": figures.annotations, "totalUsers": figures.users}

    for router in (users.router, sounds.router, annotations.router, files.router, files.uploads, jobs.router, subsets.router):
        api.include_router(router)
    return api


def routes() -> list[BaseRoute]:
    """What ``st.App(routes=...)`` mounts: the API at /api/v1, on the pages' port."""
    return [Mount(PREFIX, app=create_app())]
