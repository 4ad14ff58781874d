"""The file registry: upload, list, read, delete, statistics; and the signed links to one
stored file that the pages hand out."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Header, Query, Response, UploadFile
from fastapi.responses import JSONResponse, StreamingResponse

from core.accounts.permissions import Action, require
from core.api.deps import App, Bounded, Caller, attachment, linked, unbounded
from core.api.models import (
    AUTHENTICATED,
    DATASET_PATTERN,
    TEXT_PATTERN,
    Done,
    FileList,
    FileMetadata,
    FileStats,
    Responses,
    Uploaded,
    errors,
    not_null,
)
from core.api.ranges import ranged
from core.audio.decode import AUDIO_EXTENSIONS
from core.catalogue.files import FileService, media_type, parse_extra, public_file
from core.catalogue.links import file_for_link
from core.errors import PermissionDenied, ValidationError
from core.ingest.pipeline import UploadOptions, ingest_audio, store_file
from core.ingest.states import IngestStatus
from core.store.storage import CHUNK, Storage, escapes_root

router = APIRouter(route_class=Bounded, tags=["files"], responses=AUTHENTICATED)
# An upload's body arrives at the client's pace and its ingest may take seconds: it holds no handler slot.
uploads = APIRouter(tags=["files"], responses=AUTHENTICATED)
# Signed links: no credentials, so no 401 or 429.
links = APIRouter(route_class=Bounded, tags=["files"])
Purpose = Literal["ingestion", "training"]



Category = Literal["audio", "data", "text", "archive", "video"]  # core.catalogue.files.UPLOAD_CATEGORIES
Listed = Literal["audio", "data", "text", "archive", "video", "derived", "export"]  # core.store.models.CATEGORIES
ANY_FILE = {"*/*": {"schema": {"type": "string", "format": "binary"}}}


@uploads.post("/data/upload", status_code=201, summary="Upload a file: audio becomes a sound (of dataset), anything else a registry file",
              response_model=Uploaded, responses=Responses({200: {"model": Uploaded, "description": "the same content was there already"}})
              | errors(400, 413),
              description="The file is checked by its content: an extension Earmark takes and content that fits it "
                          "(audio that decodes, a readable archive, UTF-8 text, JSON ...), and a `category` that matches "
                          "its name; `metadata` is a JSON object. A file that fails is a 400 naming it.")
@unbounded
def upload_file(app: App, user: Caller, file: Annotated[UploadFile, File(description="the file")],
                purpose: Annotated[Purpose | None, Form(description="ingestion or training", json_schema_extra=not_null)] = None,
                category: Annotated[Category | None, Form(description="what the file is (default: from its name)",
                                                          json_schema_extra=not_null)] = None,
                description: Annotated[str | None, Form(pattern=TEXT_PATTERN, max_length=10_000, json_schema_extra=not_null)] = None,
                metadata: Annotated[str | None, Form(pattern=TEXT_PATTERN, max_length=100_000, description="a JSON object",
                                                     json_schema_extra=not_null)] = None,
                dataset: Annotated[str | None, Form(pattern=DATASET_PATTERN, json_schema_extra=not_null,
                                                    description="the dataset of an audio file (default: your user name)")] = None,
                ) -> JSONResponse:
    require(user, Action.UPLOAD)  # a role refusal is a 403, not a refused file
    if not file.filename:
        raise ValidationError("file", "Send the file in a multipart field named 'file', with its file name.")
    if escapes_root(file.filename):
        raise PermissionDenied(f"{file.filename} would be stored outside its folder (refused).")
    if file.size is not None and file.size > app.settings.max_upload_bytes:
        return JSONResponse({"error": f"{file.filename} is larger than the {app.settings.max_upload_mb} MB limit "
                                      "(EARMARK_MAX_UPLOAD_MB)."}, status_code=413)
    options = UploadOptions(dataset=dataset or user.user_name, max_bytes=app.settings.max_upload_bytes, purpose=purpose or "ingestion",
                            description=description, extra=parse_extra(metadata)).checked()
    if file.filename.lower().endswith(tuple(AUDIO_EXTENSIONS)) and category in (None, "", "audio"):
        result = ingest_audio(app.db, app.storage, user, file.filename, file.file, options)
    else:
        result = store_file(app.db, app.storage, user, file.filename, file.file, options, category=category or None)
    if result.status == IngestStatus.REFUSED:
        raise ValidationError("file", result.reason)
    assert result.key is not None, "a file that was not refused has its key"
    with app.db.read() as session:
        record = linked(public_file(FileService(session, app.storage).by_key(result.key)))
    stored = result.status == IngestStatus.STORED
    return JSONResponse({"success": True, "status": result.status,
                         "message": "File uploaded successfully" if stored else f"Already there: {result.reason}",
                         "file": record, "sound_id": result.sound_id}, status_code=201 if stored else 200)


@router.get("/data/files", summary="The file registry: every stored file, filtered and paged", response_model=FileList,
            responses=errors(400))
def list_files(app: App, user: Caller, purpose: Annotated[Purpose | None, Query(description="training or ingestion")] = None,
               category: Annotated[Listed | None, Query(description="audio, data, text, archive or video")] = None,
               limit: Annotated[int, Query(ge=1, le=1000, description="maximum files to return")] = 100,
               offset: Annotated[int, Query(ge=0, le=10**9, description="files to skip")] = 0) -> dict[str, Any]:
    with app.db.read() as session:
        total, files = FileService(session, app.storage).list(purpose=purpose or None, category=category or None, limit=limit, offset=offset)
        return {"success": True, "total": total, "limit": limit, "offset": offset, "files": [linked(public_file(f)) for f in files]}


def _registry_path(path: str) -> str:
    if escapes_root(path):
        raise PermissionDenied(f"{path} is outside the file registry (refused).")
    return path


@router.get("/data/files/{path:path}", summary="One stored file: its content (HTTP Range too), or its record with metadata=true",
            response_model=None, response_class=Response,
            responses=Responses({200: {"model": FileMetadata, "description": "the file's content (its own type), or with metadata=true its record",
                             "content": ANY_FILE},
                       206: {"description": "the byte range a Range header asked for", "content": ANY_FILE}})
            | errors(400, 404, 416),
            description="A path outside the registry is a 403.")
@unbounded
def get_file(app: App, user: Caller, path: str,
             metadata: Annotated[bool, Query(description="true: the record instead of the content")] = False,
             range_: Annotated[str | None, Header(alias="range", include_in_schema=False)] = None) -> Response:
    with app.db.read() as session:
        stored = FileService(session, app.storage).by_key(_registry_path(path))
    if metadata:
        return JSONResponse(FileMetadata.model_validate({"success": True, "metadata": linked(public_file(stored))}).model_dump(mode="json"))
    return ranged(app.storage, stored.key, stored.size, media_type(stored), range_, attachment(stored.original_filename))


@router.delete("/data/files/{path:path}", summary="Delete a stored file (your own; administrators: any)", response_model=Done,
               responses=errors(400, 404, 409, 413))
def delete_file(app: App, user: Caller, path: str) -> dict[str, Any]:
    with app.db.write() as session:
        files = FileService(session, app.storage)
        files.delete(user, files.by_key(_registry_path(path)).id)
    return {"success": True, "message": "File deleted successfully"}


@router.get("/data/stats", summary="Files by purpose and category: count and bytes", response_model=FileStats)
def file_stats(app: App, user: Caller) -> dict[str, Any]:
    with app.db.read() as session:
        figures = FileService(session, app.storage).stats()
    return {"success": True, "stats": {"total_files": figures.total_files, "total_bytes": figures.total_bytes,
                                       "by_purpose": figures.by_purpose, "by_category": figures.by_category}}


@links.get("/files/{token}", summary="A file behind a signed, expiring link handed out by the pages (no other credentials; HTTP Range too)",
            response_class=Response,
            responses=Responses({200: {"description": "the file (its own type)", "content": ANY_FILE},
                       206: {"description": "the byte range a Range header asked for", "content": ANY_FILE}})
            | errors(400, 403, 404, 416),
            description="A token that is not a file link, forged, expired or ended (logout, password change, "
                        "deactivation) is a 403.")
@unbounded
def download_file(app: App, token: str, range_: Annotated[str | None, Header(alias="range", include_in_schema=False)] = None) -> Response:
    with app.db.read() as session:
        stored = file_for_link(session, app.storage, app.settings, token)
    if range_ is not None:  # a player seeking in the file: just that part
        return ranged(app.storage, stored.key, stored.size, media_type(stored), range_, attachment(stored.original_filename))
    headers = attachment(stored.original_filename) | {"Content-Length": str(stored.size), "Accept-Ranges": "bytes"}
    return StreamingResponse(_whole(app.storage, stored.key), media_type=media_type(stored), headers=headers)


def _whole(storage: Storage, key: str) -> Iterator[bytes]:
    """One object read as one stream (an export may be gigabytes: one request, not one per chunk)."""
    with storage.open(key) as body:
        while chunk := body.read(CHUNK):
            yield chunk
