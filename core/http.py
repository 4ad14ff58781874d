"""HTTP routes served by the Streamlit server itself (``st.App(..., routes=routes())``), under /api/v1.

Routes are thin: parse the request, call a core service, shape the answer. This issue mounts the health
check; the full API comes with the HTTP API issue.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

API_PREFIX = "/api/v1"


async def health(_request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


def routes() -> list[BaseRoute]:
    return [Route(f"{API_PREFIX}/health", health, methods=["GET"])]
