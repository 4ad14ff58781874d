"""The FastAPI application mounted at /api/v1 in the same ``st.App`` as the pages: its routers, its guards
(core.api.guards) and its error answers (core.api.errors), an unknown route a JSON 404. The OpenAPI document and
the docs page are FastAPI's, made from these routes.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException
from starlette.routing import BaseRoute, Mount, Route

from core import __version__
from core.api import agreement as agreement_routes
from core.api import annotation_imports, files, guards, jobs, sounds, subsets, team, users
from core.api import annotations as annotation_routes  # not `annotations`: the __future__ import
from core.api.deps import PREFIX, App, Caller
from core.api.errors import error_response, validation_message
from core.api.models import AUTHENTICATED, Health, Totals
from core.catalogue.stats import catalogue_stats
from core.errors import EarmarkError

DESCRIPTION = """Audio dataset annotation: users, sounds, annotations, files, jobs and subsets.

Every route but `/health` needs HTTP Basic (your Earmark user name and password) or `Authorization: Bearer <token>`
(make tokens on the Users page). Errors are JSON `{"error": "..."}`. A Python client: `earmark_client.Client` (`pip install` the repository)."""


async def _validation_failed(_request: Request, exc: RequestValidationError) -> JSONResponse:
    return JSONResponse({"error": validation_message(exc.errors()[0])}, status_code=400)


async def _earmark_error(_request: Request, exc: EarmarkError) -> JSONResponse:
    return error_response(exc)


async def _http_error(request: Request, exc: HTTPException) -> JSONResponse:
    headers = dict(exc.headers or {})
    if exc.status_code == 405:  # Starlette names the methods of the first route on the path; there may be more
        headers["Allow"] = ", ".join(sorted(guards.allowed_methods(request.scope)))
    message = {404: f"There is no {request.method} {request.url.path} in this API (see {PREFIX}/docs).",
               405: f"{request.method} is not allowed on {request.url.path} (only {headers.get('Allow')})."
               }.get(exc.status_code, str(exc.detail))
    return JSONResponse({"error": message}, status_code=exc.status_code, headers=headers or None)


def _methods_by_path(api: FastAPI, routers: tuple[APIRouter, ...]) -> list[tuple[re.Pattern[str], frozenset[str]]]:
    """Each route's path pattern and methods, read once from the routes themselves."""
    found = [*api.router.routes, *(route for router in routers for route in router.routes)]
    return [(route.path_regex, frozenset(route.methods)) for route in found if isinstance(route, Route) and route.methods]


SWAGGER_UI = Path(__file__).with_name("static") / "swagger-ui"  # swagger-ui-dist, served here (see its README.md)
ICON = Path(__file__).resolve().parent.parent / "ui" / "earmark-icon.png"


def create_app() -> FastAPI:
    api = FastAPI(dependencies=[Depends(guards.no_nul_characters)], title="Earmark API", version=__version__, description=DESCRIPTION, redirect_slashes=False,
                  docs_url=None, openapi_url="/openapi.json", redoc_url=None)
    # Starlette types a handler as taking any Exception; it calls each with the class it is registered for.
    api.add_exception_handler(RequestValidationError, _validation_failed)  # type: ignore[arg-type]
    api.add_exception_handler(EarmarkError, _earmark_error)  # type: ignore[arg-type]
    api.add_exception_handler(HTTPException, _http_error)  # type: ignore[arg-type]
    api.add_middleware(guards.GuardedBodies)
    api.add_middleware(guards.SameOriginWrites)  # added last: runs first, before credentials are even looked at

    @api.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        """The API's docs page, its script and style served from this server, not a CDN: it works offline."""
        return get_swagger_ui_html(openapi_url=f"{PREFIX}/openapi.json", title="Earmark API",
                                   swagger_js_url=f"{PREFIX}/docs-assets/swagger-ui-bundle.js",
                                   swagger_css_url=f"{PREFIX}/docs-assets/swagger-ui.css", swagger_favicon_url=f"{PREFIX}/docs-assets/icon.png")

    @api.get("/docs-assets/icon.png", include_in_schema=False)
    def docs_icon() -> FileResponse:
        return FileResponse(ICON, media_type="image/png")

    api.mount("/docs-assets", StaticFiles(directory=SWAGGER_UI), name="docs-assets")

    @api.get("/health", summary="Whether the server is up (no authentication)", tags=["stats"], response_model=Health)
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @api.get("/", summary="High-level stats: totalSounds, totalAnnotations, totalUsers", tags=["stats"], response_model=Totals,
             responses=AUTHENTICATED)
    def stats(app: App, user: Caller) -> dict[str, int]:
        with app.db.read() as session:
            figures = catalogue_stats(session)
        return {"totalSounds": figures.sounds, "totalAnnotations": figures.annotations, "totalUsers": figures.users}

    routers: tuple[APIRouter, ...] = (users.router, sounds.router, annotation_routes.router, files.router, files.uploads, files.links, jobs.router,
               subsets.router, subsets.links, team.router, annotation_imports.router)
    routers += (agreement_routes.router,)
    for router in routers:
        api.include_router(router)
    api.state.methods_by_path = _methods_by_path(api, routers)
    api.openapi = functools.partial(_document, api, api.openapi)  # type: ignore[method-assign]
    return api


def _document(api: FastAPI, generate: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """FastAPI's document, less the 422 it adds to every route that takes input: this server never answers 422
    (a request that does not fit is a 400, documented on each route with the error body)."""
    document = generate()
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            operation.get("responses", {}).pop("422", None)
    schemas = document.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    return document


class _Prefix(Mount):
    """A mount that takes every path under its prefix, even one with a newline in it (``%0A``), which
    Starlette's pattern (``.*``, without DOTALL) lets through to the pages' plain-text 404: the API answers
    those with its JSON error too."""

    def __init__(self, path: str, app: FastAPI) -> None:
        super().__init__(path, app=app)
        self.path_regex = re.compile(self.path_regex.pattern, re.DOTALL)


def routes() -> list[BaseRoute]:
    """What ``st.App(routes=...)`` mounts: the API at /api/v1, on the pages' port."""
    return [_Prefix(PREFIX, create_app())]
