"""The cochlea_api.md endpoints under /api/v1: users, sounds, annotations, stats.

Each handler is a thin shell: authenticate, call one core service, shape the answer. Links in answers
(``created_by``, ``sound``, ``next``) are paths under /api/v1. Errors are ``{"error": "..."}`` with the status the
seed names: 400 bad input, 401 no or wrong credentials, 403 the role forbids it, 404 not found (or not yours).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from core import apiauth
from core import job_results as job_results_of
from core.annotations import AnnotationFilter, AnnotationService, parse_time_range, public_annotation
from core.audio import AUDIO_EXTENSIONS, MIME_BY_EXTENSION
from core.catalogue import CatalogueQuery, parse_where, search
from core.context import Earmark
from core.errors import AuthenticationFailed, Conflict, EarmarkError, NotFound, PermissionDenied, ValidationError
from core.export import ExportRequest, check_count, default_seed, plan_export, stream_zip
from core.files import FileService, media_type, parse_extra, public_file
from core.ingest import UploadOptions, ingest_audio, store_file
from core.models import User
from core.paging import Page, PageRequest
from core.permissions import Action, require
from core.sounds import SoundFilter, SoundService, public_sound
from core.stats import catalogue_stats
from core.storage import escapes_root
from core.users import UserFilter, UserService, public_user
from core.waveform import encode_part
from core.analyzers import ANALYZERS
from core.jobs import JobService
from core.models import Job

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


def _number(request: Request, name: str, default: Any, kind: type = int) -> Any:
    """A query parameter as a whole number (``kind`` int) or seconds (``kind`` float); a bad one names itself."""
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return default
    try:
        return kind(raw)
    except ValueError:
        what = "a whole number" if kind is int else "a number of seconds"
        raise ValidationError(name, f"{name} must be {what}, not {raw!r}.") from None


def _int(request: Request, name: str, default: int) -> int:
    return _number(request, name, default, int)


def _paging(request: Request) -> PageRequest:
    return PageRequest(_int(request, "page_size", 100), _int(request, "page_number", 1), request.query_params.get("low_id") or None)


def _tags(request: Request) -> tuple[str, ...]:
    return tuple(t for t in (request.query_params.get("tags") or "").split(",") if t.strip())


async def _body(request: Request) -> Any:
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        return await request.form(max_part_size=1024 * 1024)
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

    wrapped.__wrapped_handler__ = handler  # type: ignore[attr-defined]  (the API description reads its docstring)
    return wrapped


# -- handlers ---------------------------------------------------------------------------------------------

def stats(app: Earmark, user: User, request: Request, body: dict) -> dict:
    """High-level stats: totalSounds, totalAnnotations, totalUsers."""
    with app.db.read() as session:
        figures = catalogue_stats(session)
    return {"totalSounds": figures.sounds, "totalAnnotations": figures.annotations, "totalUsers": figures.users}


def list_users(app, user, request, body) -> dict:
    """Users, a page at a time (email only in your own record)."""
    with app.db.read() as session:
        filters = UserFilter(request.query_params.get("user_type") or None, request.query_params.get("user_name") or None)
        page = UserService(session).list(_paging(request), filters)
        return _page(page, "/users", lambda u: public_user(u, user))


def create_user(app, user, request, body) -> dict:
    """Create a user (administrators)."""
    profile = {k: body.get(k) for k in ("email", "about_me", "info_url") if k in body}
    with app.db.write() as session:
        created = UserService(session).create(user, body.get("user_name", ""), body.get("password", ""),
                                              body.get("user_type", "human"), is_admin=bool(body.get("is_admin")), **profile)
        return public_user(created, created)


def get_user(app, user, request, body) -> dict | Response:
    """One user (HEAD: whether it exists)."""
    with app.db.read() as session:
        found = UserService(session).get(request.path_params["user_id"])
        if request.method == "HEAD":
            return Response(status_code=204)
        return public_user(found, user)


def update_user(app, user, request, body) -> None:
    """Change a user: yourself (administrators: anyone; role and active flag too)."""
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
    """Delete a user that owns nothing (yourself, or anyone as an administrator)."""
    with app.db.write() as session:
        UserService(session).delete(user, request.path_params["user_id"])
    return {"deleted": request.path_params["user_id"]}


def user_sounds(app, user, request, body) -> dict:
    """The sounds a user created."""
    user_id = request.path_params["user_id"]
    with app.db.read() as session:
        UserService(session).get(user_id)
        page = SoundService(session, app.storage).list(_paging(request), SoundFilter(created_by=user_id, tags=_tags(request)))
        return _page(page, f"/users/{user_id}/sounds", public_sound)


def user_annotations(app, user, request, body) -> dict:
    """The annotations a user created."""
    user_id = request.path_params["user_id"]
    with app.db.read() as session:
        UserService(session).get(user_id)
        page = AnnotationService(session).list(_paging(request), AnnotationFilter(created_by=user_id, tags=_tags(request)))
        return _page(page, f"/users/{user_id}/annotations", public_annotation)


def list_sounds(app, user, request, body) -> dict:
    """Sounds, a page at a time; with ``sort`` (date, name, duration, annotations) and ``descending``, in that order."""
    query = request.query_params
    if query.get("sort") or query.get("cursor"):
        return _sorted_sounds(app, user, request)
    with app.db.read() as session:
        filters = SoundFilter(created_by=query.get("created_by") or None, dataset=query.get("dataset") or None, tags=_tags(request))
        page = SoundService(session, app.storage).list(_paging(request), filters)
        return _page(page, "/sounds", public_sound)


def _sorted_sounds(app, user, request) -> dict:
    """Sorted listings page with the catalogue's keyset cursor (``next`` carries it); the total is capped."""


    query = request.query_params
    spec = CatalogueQuery(dataset=query.get("dataset") or None, created_by=query.get("created_by") or None, tags=_tags(request),
                          sort=query.get("sort") or "date", descending=query.get("descending") in ("1", "true"))
    with app.db.read() as session:
        page = search(session, spec, user, page_size=_int(request, "page_size", 100), cursor=query.get("cursor") or None)
        items = [_linked(public_sound(s)) for s in page.items]
    following = {k: v for k, v in query.items() if k != "cursor"} | {"cursor": page.next_cursor}
    return {"items": items, "total_count": page.total, "total_count_capped": page.total_capped,
            "next": f"{PREFIX}/sounds?{urlencode(following)}" if page.next_cursor else None}


def create_sound(app, user, request, body) -> dict:
    """Create a sound whose audio lives at audio_url (dataset users and administrators)."""
    with app.db.write() as session:
        sound = SoundService(session, app.storage).create_reference(
            user, title=body.get("title", ""), duration_seconds=body.get("duration_seconds"), audio_url=body.get("audio_url"),
            info_url=body.get("info_url"), license_type=body.get("license_type"), tags=body.get("tags") or [],
            dataset=body.get("dataset"))
        return _linked(public_sound(sound))


def get_sound(app, user, request, body) -> dict | Response:
    """One sound (HEAD: whether it exists)."""
    with app.db.read() as session:
        sound = SoundService(session, app.storage).get(request.path_params["sound_id"])
        if request.method == "HEAD":
            return Response(status_code=204)
        return _linked(public_sound(sound))


def sound_annotations(app, user, request, body) -> dict:
    """A sound's annotations, optionally only those overlapping time_range."""
    sound_id = request.path_params["sound_id"]
    with app.db.read() as session:
        filters = AnnotationFilter(sound_id=sound_id, tags=_tags(request),
                                   time_range=parse_time_range(request.query_params.get("time_range")))
        page = AnnotationService(session).list(_paging(request), filters)
        return _page(page, f"/sounds/{sound_id}/annotations", public_annotation)


def create_annotation(app, user, request, body) -> dict:
    """Annotate a segment of a sound: tags, text and/or data_url."""
    with app.db.write() as session:
        annotation = AnnotationService(session).create(
            user, request.path_params["sound_id"], start_seconds=body.get("start_seconds"),
            duration_seconds=body.get("duration_seconds"), end_seconds=body.get("end_seconds"), tags=body.get("tags"),
            text=body.get("text"), data_url=body.get("data_url"), channel=body.get("channel"))
        return _linked(public_annotation(annotation))


def get_annotation(app, user, request, body) -> dict:
    """One annotation, with its version (send it back with a change)."""
    with app.db.read() as session:
        return _linked(public_annotation(AnnotationService(session).get(request.path_params["annotation_id"])))


def update_annotation(app, user, request, body) -> dict:
    """Change your annotation (administrators: any); ``version`` must be the one you read, or it is refused (409)."""
    if "version" not in body:
        raise ValidationError("version", "Send the version you read (GET the annotation first), so no one's change is lost.")
    changes = {k: body[k] for k in ("start_seconds", "duration_seconds", "end_seconds", "tags", "text", "data_url", "channel") if k in body}
    with app.db.write() as session:
        version = body["version"]
        if not isinstance(version, int):
            raise ValidationError("version", "version must be a whole number.")
        return _linked(public_annotation(AnnotationService(session).update(user, request.path_params["annotation_id"], version, **changes)))


def delete_annotation(app, user, request, body) -> None:
    """Delete your annotation (administrators: any)."""
    with app.db.write() as session:
        AnnotationService(session).delete(user, request.path_params["annotation_id"])
    return None


def list_annotations(app, user, request, body) -> dict:
    """Annotations, a page at a time, filtered by tags (all of them)."""
    with app.db.read() as session:
        page = AnnotationService(session).list(_paging(request), AnnotationFilter(tags=_tags(request)))
        return _page(page, "/annotations", public_annotation)


def public_job(job: Job) -> dict[str, Any]:
    return {"id": job.id, "analyzer": job.analyzer, "version": job.version, "params": job.params, "state": job.state,
            "done": job.done, "failed": job.failed, "total": job.total, "submitted_by": f"{PREFIX}/users/{job.submitted_by}",
            "date_created": job.date_created.isoformat(), "finished": job.finished.isoformat() if job.finished else None,
            "output": job.output}


def list_analyzers(app, user, request, body) -> dict:
    """The analyzers: what each does, its parameters (default, range) and its output."""
    return {"items": [{"name": a.name, "version": a.version, "description": a.description, "outputs": a.outputs,
                       "params": {n: {"default": p.default, "minimum": p.minimum, "maximum": p.maximum,
                                      "choices": list(p.choices) or None, "help": p.help} for n, p in a.params.items()}}
                      for a in ANALYZERS.values()]}


def submit_job(app, user, request, body) -> dict:
    """Queue an analyzer over ``sound_ids``, or over the sounds matching ``dataset``/``tags``/``where``."""
    query = CatalogueQuery(dataset=body.get("dataset"), tags=tuple(body.get("tags") or ()),
                           where=parse_where(body.get("where") or []))
    with app.db.write() as session:
        job = JobService(session).submit(user, body.get("analyzer", ""), sound_ids=body.get("sound_ids"), query=query,
                                         params=body.get("params") or {})
        return public_job(job)


def list_jobs(app, user, request, body) -> dict:
    """Recent jobs, newest first."""
    with app.db.read() as session:
        return {"items": [public_job(j) for j in JobService(session).list(_int(request, "limit", 50))]}


def get_job(app, user, request, body) -> dict:
    """One job: its state, progress and output."""
    with app.db.read() as session:
        return public_job(JobService(session).get(request.path_params["job_id"]))


def job_results(app, user, request, body) -> dict | Response:
    """What a job wrote, per sound: its suggestions and metadata fields (JSON; ``format=csv`` for a table)."""
    with app.db.read() as session:
        job = JobService(session).get(request.path_params["job_id"])
        if request.query_params.get("format") == "csv":
            return Response(job_results_of.as_csv(session, job), media_type="text/csv",
                            headers={"Content-Disposition": f'attachment; filename="job-{job.id}.csv"'})
        return {"job": public_job(job), "sounds": list(job_results_of.sounds(session, job))}


def cancel_job(app, user, request, body) -> dict:
    """Cancel a job (yours; administrators: any)."""
    with app.db.write() as session:
        return public_job(JobService(session).cancel(user, request.path_params["job_id"]))


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
        Route(f"{PREFIX}/annotations/{{annotation_id}}", e(get_annotation), methods=["GET"]),
        Route(f"{PREFIX}/annotations/{{annotation_id}}", e(update_annotation), methods=["PATCH"]),
        Route(f"{PREFIX}/annotations/{{annotation_id}}", e(delete_annotation), methods=["DELETE"]),
        Route(f"{PREFIX}/sounds/{{sound_id}}/audio", e(sound_audio), methods=["GET"]),
        Route(f"{PREFIX}/data/upload", e(upload_file, 201), methods=["POST"]),
        Route(f"{PREFIX}/data/files", e(list_files), methods=["GET"]),
        Route(f"{PREFIX}/data/files/{{path:path}}", e(file_by_path), methods=["GET", "DELETE"]),
        Route(f"{PREFIX}/data/stats", e(file_stats), methods=["GET"]),
        Route(f"{PREFIX}/download", e(download), methods=["GET"]),
        Route(f"{PREFIX}/analyzers", e(list_analyzers), methods=["GET"]),
        Route(f"{PREFIX}/jobs", e(list_jobs), methods=["GET"]),
        Route(f"{PREFIX}/jobs", e(submit_job, 201), methods=["POST"]),
        Route(f"{PREFIX}/jobs/{{job_id}}", e(get_job), methods=["GET"]),
        Route(f"{PREFIX}/jobs/{{job_id}}/cancel", e(cancel_job), methods=["POST"]),
        Route(f"{PREFIX}/jobs/{{job_id}}/results", e(job_results), methods=["GET"]),
    ]


# -- audio, the file registry (data_upload_api.md), subset download (voxceleb_s3_api.md) -------------------

def _range(header: str | None, size: int) -> tuple[int, int] | None:
    """(first, last) byte of a single ``Range: bytes=a-b`` request; None for the whole object."""
    if not header or not header.startswith("bytes=") or "," in header:
        return None
    first, _, last = header[6:].partition("-")
    try:
        if first == "":
            start, end = max(0, size - int(last)), size - 1
        else:
            start, end = int(first), min(size - 1, int(last) if last else size - 1)
    except ValueError:
        return None
    if start > end or start >= size:
        raise RangeNotSatisfiable(size)
    return start, end


class RangeNotSatisfiable(EarmarkError):
    def __init__(self, size: int) -> None:
        super().__init__(f"The requested range is outside the object (size {size}).")
        self.size = size


def sound_audio(app, user, request, body) -> Response:
    """The audio of a sound: whole, a byte range (206), or ``?start=&end=`` seconds encoded as WAV."""


    with app.db.read() as session:
        sound = SoundService(session, app.storage).get(request.path_params["sound_id"])
    if sound.file is None:
        raise NotFound(f"Sound {sound.id!r} has no stored audio (see its audio_url).")
    if "start" in request.query_params or "end" in request.query_params:
        start, end = _number(request, "start", 0.0, float), _number(request, "end", sound.duration_seconds, float)
        return Response(encode_part(app.storage, sound, start, end), media_type="audio/wav")
    size = sound.file.size
    mime = MIME_BY_EXTENSION.get("." + sound.path.rsplit(".", 1)[-1].lower(), "application/octet-stream")
    try:
        wanted = _range(request.headers.get("range"), size)
    except RangeNotSatisfiable as exc:
        return JSONResponse({"error": str(exc)}, status_code=416, headers={"Content-Range": f"bytes */{exc.size}"})
    if wanted is None:
        return StreamingResponse(_chunks(app, sound.file.key, 0, size), media_type=mime,
                                 headers={"Accept-Ranges": "bytes", "Content-Length": str(size)})
    start, end = wanted
    return StreamingResponse(_chunks(app, sound.file.key, start, end - start + 1), status_code=206, media_type=mime,
                             headers={"Accept-Ranges": "bytes", "Content-Range": f"bytes {start}-{end}/{size}",
                                      "Content-Length": str(end - start + 1)})


def _chunks(app, key: str, start: int, length: int):
    step = 1024 * 1024
    for offset in range(start, start + length, step):
        yield app.storage.read_range(key, offset, min(step, start + length - offset))


def upload_file(app, user, request, form) -> Response:
    """data_upload_api.md's upload: audio becomes a sound (of ``dataset``), anything else a registry file."""

    require(user, Action.UPLOAD)  # a role refusal is a 403, not a refused file
    upload = form.get("file")
    if upload is None or not getattr(upload, "filename", None):
        raise ValidationError("file", "Send the file in a multipart field named 'file'.")
    if escapes_root(upload.filename):
        raise PermissionDenied(f"{upload.filename} would be stored outside its folder (refused).")
    if upload.size is not None and upload.size > app.settings.max_upload_bytes:
        return JSONResponse({"error": f"{upload.filename} is larger than the {app.settings.max_upload_mb} MB limit "
                                      "(EARMARK_MAX_UPLOAD_MB)."}, status_code=413)
    options = UploadOptions(dataset=form.get("dataset") or user.user_name, max_bytes=app.settings.max_upload_bytes,
                            purpose=form.get("purpose") or "ingestion", description=form.get("description"),
                            extra=parse_extra(form.get("metadata"))).checked()
    category = form.get("category") or None
    if upload.filename.lower().endswith(tuple(AUDIO_EXTENSIONS)) and category in (None, "audio"):
        result = ingest_audio(app.db, app.storage, user, upload.filename, upload.file, options)
    else:
        result = store_file(app.db, app.storage, user, upload.filename, upload.file, options, category=category)
    if result.status == "refused":
        raise ValidationError("file", result.reason)
    with app.db.read() as session:
        record = public_file(FileService(session, app.storage).by_key(result.key))
    stored = result.status == "stored"
    return JSONResponse({"success": True, "message": "File uploaded successfully" if stored else f"Already there: {result.reason}",
                         "file": record, "sound_id": result.sound_id}, status_code=201 if stored else 200)


def list_files(app, user, request, body) -> dict:
    """The file registry: every stored file, filtered and paged."""

    with app.db.read() as session:
        limit, offset = _int(request, "limit", 100), _int(request, "offset", 0)
        total, files = FileService(session, app.storage).list(purpose=request.query_params.get("purpose") or None,
                                                              category=request.query_params.get("category") or None,
                                                              limit=limit, offset=offset)
        return {"success": True, "total": total, "limit": limit, "offset": offset, "files": [public_file(f) for f in files]}


def file_by_path(app, user, request, body) -> Response | dict:


    path = request.path_params["path"]
    if escapes_root(path):
        raise PermissionDenied(f"{path} is outside the file registry (refused).")
    if request.method == "DELETE":
        with app.db.write() as session:
            files = FileService(session, app.storage)
            files.delete(user, files.by_key(path).id)
        return {"success": True, "message": "File deleted successfully"}
    with app.db.read() as session:
        stored = FileService(session, app.storage).by_key(path)
    if request.query_params.get("metadata") == "true":
        return {"success": True, "metadata": public_file(stored)}

    return StreamingResponse(_chunks(app, stored.key, 0, stored.size), media_type=media_type(stored),
                             headers={"Content-Length": str(stored.size)})


def file_stats(app, user, request, body) -> dict:
    """Files by purpose and category: count and bytes."""

    with app.db.read() as session:
        figures = FileService(session, app.storage).stats()
    return {"success": True, "stats": {"total_files": figures.total_files, "total_bytes": figures.total_bytes,
                                       "by_purpose": figures.by_purpose, "by_category": figures.by_category}}


def download(app, user, request, body) -> Response:
    """voxceleb_s3_api.md's subset download, with the Download page's filters, seed and formats; streamed."""


    query = request.query_params
    request_ = ExportRequest(
        query=CatalogueQuery(text=query.get("q", ""), dataset=query.get("dataset") or None, tags=_tags(request),
                             where=parse_where(query.getlist("where"))),
        viewer_id=user.id, count=check_count(query.get("count", "10")), seed=_int(request, "seed", default_seed()),
        balance=query.get("balance") or None, cap=_int(request, "cap", 0) or None,
        formats=tuple(f for f in query.get("formats", "csv").split(",") if f), on_missing=query.get("on_missing", "skip"),
    )
    plan = plan_export(app.db, app.storage, request_)  # errors (400, 404) before the first byte
    return StreamingResponse(stream_zip(plan, app.storage), media_type="application/zip",
                             headers={"Content-Disposition": f'attachment; filename="{plan.name}"', "X-Earmark-Seed": str(request_.seed)})
