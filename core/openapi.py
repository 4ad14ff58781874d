"""The API's description, made from the route table itself (so it cannot drift from the routes): OpenAPI 3.1 at
/api/v1/openapi.json, and the same as a readable page at /api/v1/docs."""

from __future__ import annotations

import html
import re
from typing import Any

from starlette.routing import Route

from core import __version__

PARAMETERS = {
    "page_size": "results per page (1-1000)", "page_number": "page to view", "low_id": "only ids after this one (keyset)",
    "tags": "comma-separated; all of them", "time_range": "start,end in seconds; overlapping annotations",
    "user_type": "human, dataset or featurebot", "user_name": "part of the user name", "created_by": "user id",
    "dataset": "dataset name", "purpose": "training or ingestion", "category": "audio, data, text, archive or video",
    "limit": "maximum files to return", "offset": "files to skip", "metadata": "true: the record instead of the content",
    "count": "how many sounds (default 10)", "seed": "random seed", "where": "COLUMN=VALUE, may repeat",
    "balance": "metadata column to balance on", "cap": "at most this many per value", "formats": "csv,json,audacity,textgrid,rttm",
    "start": "seconds (with end: just that part, as WAV)", "end": "seconds",
    "sort": "date, name, duration or annotations (then page with the cursor in next)", "descending": "true: largest first",
}
QUERY = {
    "/users": ["page_size", "page_number", "low_id", "user_type", "user_name"],
    "/sounds": ["page_size", "page_number", "low_id", "created_by", "dataset", "tags", "sort", "descending"],
    "/annotations": ["page_size", "page_number", "low_id", "tags"],
    "/sounds/{sound_id}/annotations": ["page_size", "page_number", "low_id", "time_range", "tags"],
    "/users/{user_id}/sounds": ["page_size", "page_number", "low_id", "tags"],
    "/users/{user_id}/annotations": ["page_size", "page_number", "low_id", "tags"],
    "/sounds/{sound_id}/audio": ["start", "end"],
    "/data/files": ["purpose", "category", "limit", "offset"],
    "/data/files/{path}": ["metadata"],
    "/download": ["count", "dataset", "tags", "where", "seed", "balance", "cap", "formats"],
}


def _summary(route: Route) -> str:
    endpoint = getattr(route.endpoint, "__wrapped_handler__", route.endpoint)
    doc = (endpoint.__doc__ or endpoint.__name__.replace("_", " ")).strip().splitlines()[0]
    return doc.rstrip(".")


def spec(routes: list[Route], prefix: str = "/api/v1") -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for route in routes:
        if not isinstance(route, Route) or not route.path.startswith(prefix):
            continue
        path = re.sub(r"\{(\w+):path\}", r"{\1}", route.path)
        local = path[len(prefix):] or "/"
        for method in sorted(m for m in (route.methods or ()) if m != "HEAD" or route.methods == {"HEAD"}):
            params = [{"name": p, "in": "path", "required": True, "schema": {"type": "string"}} for p in re.findall(r"\{(\w+)\}", path)]
            params += [{"name": q, "in": "query", "description": PARAMETERS[q], "schema": {"type": "string"}} for q in QUERY.get(local, [])
                       if method == "GET"]
            operation = {"summary": _summary(route), "parameters": params,
                         "responses": {"200": {"description": "OK"}, "400": {"description": "bad input, {\"error\": ...}"},
                                       "401": {"description": "no or wrong credentials"}, "403": {"description": "not allowed"},
                                       "404": {"description": "not found"}}}
            if path.endswith("/health") or "/files/{token}" in path:
                operation["security"] = []
            paths.setdefault(path, {})[method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": "Earmark API", "version": __version__,
                 "description": "Audio dataset annotation: users, sounds, annotations, files, subsets."},
        "components": {"securitySchemes": {"basic": {"type": "http", "scheme": "basic"},
                                           "token": {"type": "http", "scheme": "bearer"}}},
        "security": [{"basic": []}, {"token": []}],
        "paths": paths,
    }


def page(document: dict[str, Any]) -> str:
    rows = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            params = ", ".join(f"<code>{html.escape(p['name'])}</code>" for p in operation["parameters"]) or "&ndash;"
            rows.append(f"<tr><td><b>{method.upper()}</b></td><td><code>{html.escape(path)}</code></td>"
                        f"<td>{html.escape(operation['summary'])}</td><td>{params}</td></tr>")
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>Earmark API</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:70em}}td{{padding:.3em .8em;border-bottom:1px solid #ddd;vertical-align:top}}</style>
</head><body><h1>Earmark API {html.escape(document['info']['version'])}</h1>
<p>Every route but <code>/health</code> needs HTTP Basic (your Earmark user name and password) or
<code>Authorization: Bearer &lt;token&gt;</code> (make tokens on the Users page). Errors are JSON <code>{{"error": "..."}}</code>.
Machine-readable: <a href="openapi.json">openapi.json</a>. A Python client: <code>core.client.Client</code>.</p>
<table><tr><th>method</th><th>path</th><th>what it does</th><th>parameters</th></tr>{''.join(rows)}</table></body></html>"""
