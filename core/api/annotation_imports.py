"""Annotations made elsewhere, imported into a dataset (core/annotations/imports/): one multipart request with the
files, answered with what went in and each row left out. A file that is not its format at all, or an unknown
dataset, is refused (400 / 404) with nothing written.

The path is /annotation-imports, not /annotations/import: /annotations/{annotation_id} would also match that path, so
GET, PATCH and DELETE would be answered there (as "no annotation 'import'") and named in its Allow header."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, UploadFile

from core.annotations.imports.detect import ImportFile
from core.annotations.imports.service import import_annotations
from core.api.deps import App, Caller, unbounded
from core.api.models import AUTHENTICATED, DATASET_PATTERN, AnnotationImport, errors, not_null
from core.errors import ValidationError

# A request's files arrive at the client's pace: like an upload (core/api/files.py), the route holds no handler slot.
router = APIRouter(tags=["annotations"], responses=AUTHENTICATED)
Format = Literal["rttm", "textgrid", "audacity", "eaf", "csv", "labelstudio", "nemo", "kaldi"]  # detect.FORMATS
MAX_FILES = 1000


@router.post("/annotation-imports", summary="Import annotations made in other tools into a dataset", response_model=AnnotationImport,
             responses=errors(400, 404, 413),
             description="Files in a multipart field `files` (several: a Kaldi folder's segments, text and wav.scp go "
                         "together): RTTM, Praat TextGrid, Audacity labels, ELAN .eaf, CSV, Label Studio JSON, NeMo "
                         "manifests, Kaldi. Rows are matched to the dataset's sounds by sound id, path or file name; each "
                         "row that cannot be read or placed is listed in `problems` and the rest go in. A file that is "
                         "not its format at all is a 400 with nothing written. Importing the same file again adds "
                         "nothing (an identical annotation of the same author is counted in `already`). With "
                         "`as_suggestions` they become the featurebot bot-<bot>'s suggestions (dataset users and "
                         "administrators).")
@unbounded
def import_annotation_files(
        app: App, user: Caller, files: Annotated[list[UploadFile], File(description="the annotation files")],
        dataset: Annotated[str, Form(pattern=DATASET_PATTERN, description="the dataset whose sounds they are on")],
        format: Annotated[Format | None, Form(description="the files' format (default: told by name and content)",
                                              json_schema_extra=not_null)] = None,
        as_suggestions: Annotated[bool, Form(description="a featurebot's suggestions instead of your annotations")] = False,
        bot: Annotated[str, Form(max_length=100, description="the featurebot's name (its account: bot-<bot>)")] = "import",
) -> dict[str, Any]:
    if len(files) > MAX_FILES:
        raise ValidationError("files", f"Send at most {MAX_FILES} files in one import, not {len(files)}.")
    sent = [ImportFile(f.filename or f"file {i}", f.file.read()) for i, f in enumerate(files, 1)]
    report = import_annotations(app.db, user, dataset, sent, fmt=format, as_suggestions=as_suggestions, bot=bot)
    return {"files": [{"file": name, "format": fmt, "rows": rows} for name, fmt, rows in report.files],
            "imported": report.imported, "already": report.already, "whole_without_text": report.whole_without_text,
            "author": report.author,
            "problems": [{"file": p.file, "where": p.where, "reason": p.reason, "message": str(p)} for p in report.problems],
            "summary": report.line()}
