"""HTTP routes served by the Streamlit server itself (``st.App(..., routes=routes())``), under /api/v1.

Routes are thin: parse the request, call a core service, shape the answer; a core error becomes a JSON
``{"error": ...}`` with its status. The full API comes with the HTTP API issue.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import PurePosixPath
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from core import api, auth, openapi, tokens
from core.config import settings
from core.context import Earmark, open_earmark
from core.errors import EarmarkError, PermissionDenied
from core.files import FileService, media_type
from core.models import StoredFile
from core.storage import CHUNK
from core.users import UserService

API_PREFIX = "/api/v1"


@functools.cache
def _earmark() -> Earmark:
    return open_earmark(settings(), check_storage=False)


def _error(exc: EarmarkError) -> JSONResponse:
    return api.error_response(exc)


async def health(_request: Request) -> JSONResponse:
    """Whether the server is up (no authentication)."""
    return JSONResponse({"status": "ok"})


def file_link(app: Earmark, stored: StoredFile, user_id: str, ttl_seconds: int = 3600) -> str:
    """A signed, expiring link to download one stored file (an export, a sound's original audio)."""
    token = tokens.sign({"key": stored.key, "user": user_id}, auth.cookie_key(app.settings.cookie_key_path), ttl_seconds)
    return f"{API_PREFIX}/files/{token}"


def _file_for(app: Earmark, token: str) -> StoredFile:
    payload = tokens.verify(token, auth.cookie_key(app.settings.cookie_key_path))
    with app.db.read() as session:
        user = UserService(session).get(payload["user"])
        if not user.is_active:
            raise PermissionDenied("This account is deactivated.")
        return FileService(session, app.storage).by_key(payload["key"])


def _object(app: Earmark, key: str) -> Iterator[bytes]:
    with app.storage.open(key) as body:
        while chunk := body.read(CHUNK):
            yield chunk


async def download_file(request: Request) -> Response:
    """A file behind a signed, expiring link handed out by the pages."""
    app = _earmark()
    try:
        stored = await run_in_threadpool(_file_for, app, request.path_params["token"])
    except EarmarkError as exc:
        return _error(exc)
    headers = {"Content-Disposition": f"attachment; filename*=UTF-8''{quote(PurePosixPath(stored.original_filename).name)}",
               "Content-Length": str(stored.size)}
    return StreamingResponse(_object(app, stored.key), media_type=media_type(stored), headers=headers)


def routes() -> list[BaseRoute]:
    table: list[BaseRoute] = [
        Route(f"{API_PREFIX}/health", health, methods=["GET"]),
        Route(f"{API_PREFIX}/files/{{token}}", download_file, methods=["GET"]),
        *api.routes(_earmark),
    ]

    async def openapi_json(_request: Request) -> JSONResponse:
        """This description of the API (OpenAPI 3.1)."""
        return JSONResponse(openapi.spec(table))

    async def docs(_request: Request) -> HTMLResponse:
        """The API, as a page to read."""
        return HTMLResponse(openapi.page(openapi.spec(table)))

    table += [Route(f"{API_PREFIX}/openapi.json", openapi_json, methods=["GET"]), Route(f"{API_PREFIX}/docs", docs, methods=["GET"])]
    return table
