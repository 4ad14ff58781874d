"""The cochlea_api.md endpoints under /api/v1: users, sounds, annotations, stats.

Each handler is a thin shell: authenticate, call one core service, shape the answer. Links in answers
(``created_by``, ``sound``, ``next``) are paths under /api/v1. Errors are ``{"error": "..."}`` with the status the
seed names: 400 bad input, 401 no or wrong credentials, 403 the role forbids it, 404 not found (or not yours).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from core import apiauth
from core.annotations import AnnotationFilter, AnnotationService, parse_time_range, public_annotation
from core.context import Earmark
from core.errors import AuthenticationFailed, Conflict, EarmarkError, NotFound, PermissionDenied, ValidationError
from core.models import User
from core.paging import Page, PageRequest
from core.sounds import SoundFilter, SoundService, public_sound
from core.stats import catalogue_stats
from core.users import UserFilter, UserService, public_user

PREFIX = "/api/v1"
STATUS = ((AuthenticationFailed, 401), (PermissionDenied, 403), (NotFound, 404), (Conflict, 409), (EarmarkError, 400))
LINK_FIELDS = ("created_by", "sound", "audio_url")


def error_response(exc: EarmarkError) -> JSONResponse:
    status = next(code for kind, code in STATUS if isinstance(exc, kind))
    headers = {"WWW-Authenticate": 'Basic realm="earmark"'} if status == 401 else None
    return JSONResponse({"error": str(exc)}, status_code=status, headers=headers)


def _linked(item: dict[str, Any]) -> dict[str, Any]:
    for name in LINK_FIELDS:
        value = item.get(name)
        if isinstance(value, str) and value.startswith("/") and not value.startswith(PREFIX):
            item[name] = PREFIX + value
    return item


def _page(page: Page, path: str, shape: Callable[[Any], dict[str, Any]]) -> dict[str, Any]:
    query = page.next_query()
    return {"items": [_linked(shape(item)) for item in page.items], "total_count": page.total_count,
            "next": f"{PREFIX}{path}?{query}" if query else None}


def _int(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError:
        raise ValidationError(name, f"{name} must be a whole number, not {raw!r}.") from None


def _paging(request: Request) -> PageRequest:
    return PageRequest(_int(request, "page_size", 100), _int(request, "page_number", 1), request.query_params.get("low_id") or None)


def _tags(request: Request) -> tuple[str, ...]:
    return tuple(t for t in (request.query_params.get("tags") or "").split(",") if t.strip())


async def _body(request: Request) -> dict[str, Any]:
    try:
        data = json.loads(await request.body() or b"{}")
    except json.JSONDecodeError as exc:
        raise ValidationError("body", f"The request body is not JSON ({exc.msg}).") from None
    if not isinstance(data, dict):
        raise ValidationError("body", "The request body must be a JSON object.")
    return data


def endpoint(app_of: Callable[[], Earmark], handler: Callable[..., Response | dict | None], status: int = 200):
    """Wrap a handler ``(app, user, request, body) -> dict | Response | None`` with auth, threads and errors."""

    async def wrapped(request: Request) -> Response:
        try:
            app = app_of()
            body = await _body(request) if request.method in ("POST", "PATCH", "PUT") else {}
            user = await run_in_threadpool(apiauth.authenticate, app.db, request.headers.get("authorization"))
            result = await run_in_threadpool(handler, app, user, request, body)
        except EarmarkError as exc:
            return error_response(exc)
        if isinstance(result, Response):
            return result
        if result is None:
            return Response(status_code=204 if status == 200 else status)
        return JSONResponse(result, status_code=status)

    return wrapped


# -- handlers ---------------------------------------------------------------------------------------------

def stats(app: Earmark, user: User, request: Request, body: dict) -> dict:
    with app.db.read() as session:
        figures = catalogue_stats(session)
    return {"totalSounds": figures.sounds, "totalAnnotations": figures.annotations, "totalUsers": figures.users}


def list_users(app, user, request, body) -> dict:
    with app.db.read() as session:
        filters = UserFilter(request.query_params.get("user_type") or None, request.query_params.get("user_name") or None)
        page = UserService(session).list(_paging(request), filters)
        return _page(page, "/users", lambda u: public_user(u, user))


def create_user(app, user, request, body) -> dict:
    profile = {k: body.get(k) for k in ("email", "about_me", "info_url") if k in body}
    with app.db.write() as session:
        created = UserService(session).create(user, body.get("user_name", ""), body.get("password", ""),
                                              body.get("user_type", "human"), is_admin=bool(body.get("is_admin")), **profile)
        return public_user(created, created)


def get_user(app, user, request, body) -> dict | Response:
    with app.db.read() as session:
        found = UserService(session).get(request.path_params["user_id"])
        if request.method == "HEAD":
            return Response(status_code=204)
        return public_user(found, user)


def update_user(app, user, request, body) -> None:
    user_id = request.path_params["user_id"]
    with app.db.write() as session:
        service = UserService(session)
        changes = {k: body[k] for k in ("email", "about_me", "info_url", "password") if k in body}
        unknown = set(body) - set(changes) - {"is_admin", "user_type", "is_active"}
        if unknown:
            raise ValidationError(sorted(unknown)[0], f"The field {sorted(unknown)[0]!r} cannot be changed.")
        service.update_profile(user, user_id, **changes)
        if "is_admin" in body or "user_type" in body:
            service.set_role(user, user_id, user_type=body.get("user_type"), is_admin=body.get("is_admin"))
        if "is_active" in body:
            service.set_active(user, user_id, bool(body["is_active"]))
    return None


def delete_user(app, user, request, body) -> dict:
    with app.db.write() as session:
        UserService(session).delete(user, request.path_params["user_id"])
    return {"deleted": request.path_params["user_id"]}


def user_sounds(app, user, request, body) -> dict:
    user_id = request.path_params["user_id"]
    with app.db.read() as session:
        UserService(session).get(user_id)
        page = SoundService(session, app.storage).list(_paging(request), SoundFilter(created_by=user_id, tags=_tags(request)))
        return _page(page, f"/users/{user_id}/sounds", public_sound)


def user_annotations(app, user, request, body) -> dict:
    user_id = request.path_params["user_id"]
    with app.db.read() as session:
        UserService(session).get(user_id)
        page = AnnotationService(session).list(_paging(request), AnnotationFilter(created_by=user_id, tags=_tags(request)))
        return _page(page, f"/users/{user_id}/annotations", public_annotation)


def list_sounds(app, user, request, body) -> dict:
    with app.db.read() as session:
        filters = SoundFilter(created_by=request.query_params.get("created_by") or None,
                              dataset=request.query_params.get("dataset") or None, tags=_tags(request))
        page = SoundService(session, app.storage).list(_paging(request), filters)
        return _page(page, "/sounds", public_sound)


def create_sound(app, user, request, body) -> dict:
    with app.db.write() as session:
        sound = SoundService(session, app.storage).create_reference(
            user, title=body.get("title", ""), duration_seconds=body.get("duration_seconds"), audio_url=body.get("audio_url"),
            info_url=body.get("info_url"), license_type=body.get("license_type"), tags=body.get("tags") or [],
            dataset=body.get("dataset"))
        return _linked(public_sound(sound))


def get_sound(app, user, request, body) -> dict | Response:
    with app.db.read() as session:
        sound = SoundService(session, app.storage).get(request.path_params["sound_id"])
        if request.method == "HEAD":
            return Response(status_code=204)
        return _linked(public_sound(sound))


def sound_annotations(app, user, request, body) -> dict:
    sound_id = request.path_params["sound_id"]
    with app.db.read() as session:
        filters = AnnotationFilter(sound_id=sound_id, tags=_tags(request),
                                   time_range=parse_time_range(request.query_params.get("time_range")))
        page = AnnotationService(session).list(_paging(request), filters)
        return _page(page, f"/sounds/{sound_id}/annotations", public_annotation)


def create_annotation(app, user, request, body) -> dict:
    with app.db.write() as session:
        annotation = AnnotationService(session).create(
            user, request.path_params["sound_id"], start_seconds=body.get("start_seconds"),
            duration_seconds=body.get("duration_seconds"), end_seconds=body.get("end_seconds"), tags=body.get("tags"),
            text=body.get("text"), data_url=body.get("data_url"), channel=body.get("channel"))
        return _linked(public_annotation(annotation))


def list_annotations(app, user, request, body) -> dict:
    with app.db.read() as session:
        page = AnnotationService(session).list(_paging(request), AnnotationFilter(tags=_tags(request)))
        return _page(page, "/annotations", public_annotation)


def routes(app_of: Callable[[], Earmark]) -> list[Route]:
    e = lambda handler, status=200: endpoint(app_of, handler, status)  # noqa: E731
    return [
        Route(f"{PREFIX}/", e(stats), methods=["GET"]),
        Route(f"{PREFIX}/users", e(list_users), methods=["GET"]),
        Route(f"{PREFIX}/users", e(create_user, 201), methods=["POST"]),
        Route(f"{PREFIX}/users/{{user_id}}", e(get_user), methods=["GET", "HEAD"]),
        Route(f"{PREFIX}/users/{{user_id}}", e(update_user), methods=["PATCH"]),
        Route(f"{PREFIX}/users/{{user_id}}", e(delete_user), methods=["DELETE"]),
        Route(f"{PREFIX}/users/{{user_id}}/sounds", e(user_sounds), methods=["GET"]),
        Route(f"{PREFIX}/users/{{user_id}}/annotations", e(user_annotations), methods=["GET"]),
        Route(f"{PREFIX}/sounds", e(list_sounds), methods=["GET"]),
        Route(f"{PREFIX}/sounds", e(create_sound, 201), methods=["POST"]),
        Route(f"{PREFIX}/sounds/{{sound_id}}", e(get_sound), methods=["GET", "HEAD"]),
        Route(f"{PREFIX}/sounds/{{sound_id}}/annotations", e(sound_annotations), methods=["GET"]),
        Route(f"{PREFIX}/sounds/{{sound_id}}/annotations", e(create_annotation, 201), methods=["POST"]),
        Route(f"{PREFIX}/annotations", e(list_annotations), methods=["GET"]),
    ]
