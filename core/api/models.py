"""What the API's OpenAPI document promises: the shape of every JSON answer (typed pydantic models, so generated
clients get classes and a fuzzer can check each answer), every error status a route can answer with its
``{"error": ...}`` body, and the rules the server enforces on input as schema constraints (patterns, lengths,
ranges, enums), each with the sentence a refusal says.

Input types here are checked by the API before any service sees them, so what the document says is what the
server accepts; rules that depend on stored data (a segment within its sound, a channel the sound has, a file's
content) or relate two fields (an end after its start) cannot be said in JSON Schema: the operations' own
descriptions say them, and their refusals are 400s like the rest.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from core.accounts.auth import MIN_PASSWORD_LENGTH
from core.annotations.service import MAX_CHANNEL
from core.catalogue.sounds import MAX_SOUND_SECONDS
from core.catalogue.tags import MAX_TAG_LENGTH
from core.ingest.states import IngestStatus
from core.jobs.states import JobState
from core.team.states import AssignmentState

# -- rules on input ----------------------------------------------------------------------------------------

# Characters Python's str.split() and str.strip() take for whitespace (the services trim with them): a class
# spelled out, because the regex dialects differ on \s (ECMA 262's has \ufeff, Python's \x1c-\x1f and \x85).
# NUL is in no pattern's text: PostgreSQL refuses it in text columns.
SPACE = r"\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
NOT_BLANK = rf"[^{SPACE}\x00]"

# pattern -> what a value must be, for the 400's sentence ("<field> must <this>, not '...'.")
PATTERN_PHRASES: dict[str, str] = {}
# The values that pick a member of a tagged union (POST /jobs: the analyzer), which pydantic puts in an error's
# location: left out of the field's name.
UNION_TAGS: set[str] = set()


def matching(pattern: str, phrase: str, **field: Any) -> Any:
    """A string Field with ``pattern`` (JSON Schema, ECMA 262: kept to what Rust's, Python's and ECMA's regex
    syntax read alike) whose refusal says ``phrase``."""
    PATTERN_PHRASES[pattern] = phrase
    return Field(pattern=pattern, **field)


TEXT_PATTERN = r"^[^\x00]*$"


def free_text(max_length: int, description: str | None = None, default: Any = None) -> Any:
    """Free text: anything but NUL, up to ``max_length`` characters (``default=...``: required)."""
    return matching(TEXT_PATTERN, "not contain a NUL character", default=default, max_length=max_length, description=description)


Id = Annotated[str, matching(TEXT_PATTERN, "not contain a NUL character", max_length=64)]
TAG_PATTERN = rf"^[^;,\x00]*[^{SPACE};,\x00][^;,\x00]*$"
Tag = Annotated[str, matching(TAG_PATTERN, f"be a tag: some text without ';' or ',', at most {MAX_TAG_LENGTH} characters",
                              min_length=1, max_length=MAX_TAG_LENGTH)]
TAG_LIST_PATTERN = rf"^[^;,\x00]{{0,{MAX_TAG_LENGTH}}}(,[^;,\x00]{{0,{MAX_TAG_LENGTH}}})*$"
TAG_LIST = matching(TAG_LIST_PATTERN, f"be tags separated by commas, each without ';' and at most {MAX_TAG_LENGTH} characters",
                    default=None, max_length=2000, description="comma-separated; all of them")
TITLE_PATTERN = rf"^[^\x00]*{NOT_BLANK}[^\x00]*$"
TITLE = matching(TITLE_PATTERN, "not be empty or only spaces", min_length=1, max_length=512)
USER_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$"
USER_NAME_PHRASE = "be 1 to 64 letters, digits, '.', '_', '-' or '@', starting with a letter or digit"
# bcrypt takes 72 bytes and no NUL: 18 characters of any kind always fit in 72 bytes (4 each at most in UTF-8),
# and up to 72 one-byte (ASCII) ones.
PASSWORD_PATTERN = r"^([\x01-\x7f]{8,72}|[^\x00]{8,18})$"
PASSWORD_PHRASE = (f"be at least {MIN_PASSWORD_LENGTH} characters long and at most 72 bytes (72 ASCII characters, or 18 of "
                   "any kind), without NUL")
EMAIL_PATTERN = rf"^[^@{SPACE}\x00]+@[^@{SPACE}\x00]+\.[^@{SPACE}\x00]+$"
URL_PATTERN = rf"^https?://[^{SPACE}\x00]+$"
DATASET_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$"
DATASET_PHRASE = "be 1 to 128 letters, digits, '.', '_' or '-'"
WHERE_PATTERN = rf"^[^=\x00]*[^{SPACE}=\x00][^=\x00]*=[^\x00]*$"
Where = Annotated[str, matching(WHERE_PATTERN, "be COLUMN=VALUE", max_length=2000)]
TIME_RANGE_PATTERN = r"^[ ]*([0-9]+(\.[0-9]*)?|\.[0-9]+)[ ]*[,-][ ]*([0-9]+(\.[0-9]*)?|\.[0-9]+)[ ]*$"
TIME_RANGE = matching(TIME_RANGE_PATTERN, "be two numbers, start,end or start-end (e.g. 1.5,3)", default=None, max_length=100,
                      description="start,end in seconds; the annotations overlapping it")


def user_name(default: Any = ..., description: str | None = None) -> Any:
    return matching(USER_NAME_PATTERN, USER_NAME_PHRASE, default=default, description=description)


def password(default: Any = ...) -> Any:
    return matching(PASSWORD_PATTERN, PASSWORD_PHRASE, default=default, min_length=MIN_PASSWORD_LENGTH, max_length=72)


def email(default: Any = None) -> Any:
    return matching(EMAIL_PATTERN, "be an email address", default=default, max_length=320)


def http_url(default: Any = None) -> Any:
    return matching(URL_PATTERN, "be a URL starting with http:// or https://", default=default, max_length=2000)


def dataset_name(default: Any = None, description: str | None = None) -> Any:
    return matching(DATASET_PATTERN, DATASET_PHRASE, default=default, description=description)


def not_null(schema: dict[str, Any]) -> None:
    """``json_schema_extra`` for an optional field that has no null (a form field is sent or not; a PATCH's
    version is required, refused with its own sentence when missing): its schema without the null branch."""
    branches = [b for b in schema.pop("anyOf", []) if b.get("type") != "null"]
    if len(branches) == 1:
        schema.update(branches[0])
    elif branches:
        schema["anyOf"] = branches
    schema.pop("default", None)


Seconds = Annotated[float, Field(ge=0, le=MAX_SOUND_SECONDS, allow_inf_nan=False)]
Length = Annotated[float, Field(gt=0, le=MAX_SOUND_SECONDS, allow_inf_nan=False)]
Channel = Annotated[int, Field(ge=0, le=MAX_CHANNEL)]
Version = Annotated[int, Field(ge=1, le=2**31 - 1)]
UserType = Literal["human", "dataset", "featurebot"]


class Body(BaseModel):
    """A JSON request body: its fields' JSON types as declared (no "10" for a number, no "true" for a boolean),
    as the document says."""

    model_config = ConfigDict(strict=True)


# -- errors ------------------------------------------------------------------------------------------------

class ErrorBody(BaseModel):
    """Every refusal: one sentence that names what is wrong (a field, a rule, a permission)."""

    error: str = Field(description="one sentence a person can act on")


ERRORS: dict[int, dict[str, Any]] = {
    400: {"description": "Bad input: a parameter or field of the wrong type, out of range or against a rule; the sentence names it"},
    401: {"description": "No credentials, or wrong ones (HTTP Basic or a Bearer token)",
          "headers": {"WWW-Authenticate": {"schema": {"type": "string"}, "description": "Basic realm=\"earmark\""}}},
    403: {"description": "Not allowed: the caller's role, a page token off its page's routes, a write from another site, "
                         "or a signed link that is wrong, expired or ended"},
    404: {"description": "No such thing (or no stored audio for it)"},
    409: {"description": "It clashes with what is there now: a name taken, a stale version, a suggestion already reviewed, "
                         "a job already finished"},
    413: {"description": "The request body is larger than this route takes (uploads: EARMARK_MAX_UPLOAD_MB)"},
    416: {"description": "The Range asked for lies outside the object"},
    429: {"description": "Too many failed logins for this account or address: try again later",
          "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds to wait", "required": True}}},
}


Responses = dict[int | str, dict[str, Any]]  # FastAPI's ``responses=``: Responses({200: ...}) | errors(...) types a literal


def errors(*codes: int) -> Responses:
    """``responses=`` for these error statuses, each with the ``{"error": ...}`` body."""
    return {code: {"model": ErrorBody, **ERRORS[code]} for code in codes}


# What every route with credentials can answer (a page token or a role refusal is a 403; Basic is throttled).
AUTHENTICATED = errors(401, 403, 429)


def binary(media_type: str, description: str, status: int = 200) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a file answer of ``media_type`` (its bytes, not JSON)."""
    return {status: {"description": description, "content": {media_type: {"schema": {"type": "string", "format": "binary"}}}}}


def no_content(description: str) -> dict[int | str, dict[str, Any]]:
    return {204: {"description": description}}


# -- answers -----------------------------------------------------------------------------------------------

Link = Annotated[str, Field(description="a path under /api/v1")]
Timestamp = Annotated[str, Field(description="ISO 8601")]


class Health(BaseModel):
    status: Literal["ok"]


class Totals(BaseModel):
    totalSounds: int  # noqa: N815 (the seed API's names)
    totalAnnotations: int  # noqa: N815
    totalUsers: int  # noqa: N815


class UserOut(BaseModel):
    """A user as others see them; `email` only in your own record."""

    id: str
    date_created: Timestamp
    user_name: str
    user_type: UserType
    is_admin: bool
    is_active: bool
    about_me: str | None
    info_url: str | None
    email: str | None = Field(None, description="only in your own record")


class SoundOut(BaseModel):
    id: str
    date_created: Timestamp
    created_by: Link
    info_url: str | None
    audio_url: str | None = Field(description="where the audio is: a path under /api/v1 for stored audio, else the URL given")
    license_type: str | None
    title: str
    duration_seconds: float
    tags: list[str]
    dataset: str
    path: str
    sample_rate: int | None
    channels: int | None
    format: str | None
    sha256: str | None
    metadata: dict[str, str]


class AnnotationOut(BaseModel):
    id: str
    date_created: Timestamp
    created_by: Link
    sound: Link
    start_seconds: float
    duration_seconds: float
    end_seconds: float
    data_url: str | None
    tags: list[str] | None
    text: str | None
    channel: int | None
    version: int = Field(description="send it back with a change (PATCH)")
    source: str | None = Field(description="the featurebot (analyzer:parameters) that suggested it; null for people's")
    is_gold: bool = Field(description="part of the sound's reviewed (gold) version, made by a reviewer")


class Page(BaseModel):
    total_count: int = Field(description="everything the filters match")
    next: str | None = Field(description="the next page (a path under /api/v1 with its query), or null at the end")


class UserPage(Page):
    items: list[UserOut]


class SoundPage(Page):
    items: list[SoundOut]
    total_count_capped: bool | None = Field(None, description="sorted listings: true when total_count stopped counting at its cap")


class AnnotationPage(Page):
    items: list[AnnotationOut]


class Deleted(BaseModel):
    deleted: str


class Peaks(BaseModel):
    sound_id: str
    start_seconds: float
    end_seconds: float
    duration_seconds: float = Field(description="the whole sound's")
    source: str = Field(description="samples, or peaks/<block>: which level of the peaks pyramid")
    points: int
    x: list[float] = Field(description="seconds")
    y: list[float] = Field(description="-1 to 1")


class TagAdded(BaseModel):
    dataset: str
    tag: str
    color: str


class FileRecord(BaseModel):
    id: str
    path: str
    filename: str
    original_filename: str
    category: str
    purpose: str
    size: int
    hash: str = Field(description="sha256")
    uploaded_at: Timestamp
    uploaded_by: Link
    description: str | None
    metadata: dict[str, Any]
    expires_at: Timestamp | None


# What an upload's answer says happened to the file (core/ingest/states.py): a refused file is a 400 instead, and an
# upload of one file skips nothing.
UploadStatus = Literal[IngestStatus.STORED, IngestStatus.DUPLICATE]


class Uploaded(BaseModel):
    success: Literal[True]
    status: UploadStatus = Field(description="stored (201), or duplicate (200): the same content was there already")
    message: str
    file: FileRecord
    sound_id: str | None = Field(description="the sound, for audio")


class FileList(BaseModel):
    success: Literal[True]
    total: int
    limit: int
    offset: int
    files: list[FileRecord]


class FileMetadata(BaseModel):
    success: Literal[True]
    metadata: FileRecord


class Done(BaseModel):
    success: Literal[True]
    message: str


class FileFigures(BaseModel):
    total_files: int
    total_bytes: int
    by_purpose: dict[str, dict[str, int]]
    by_category: dict[str, dict[str, int]]


class FileStats(BaseModel):
    success: Literal[True]
    stats: FileFigures


class ParamOut(BaseModel):
    default: float | int | str
    minimum: float | None
    maximum: float | None
    choices: list[str] | None
    help: str


class AnalyzerOut(BaseModel):
    name: str
    version: str
    description: str
    outputs: str
    params: dict[str, ParamOut]


class AnalyzerList(BaseModel):
    items: list[AnalyzerOut]


class JobOut(BaseModel):
    id: str
    analyzer: str
    version: str
    params: dict[str, Any]
    state: JobState
    done: int
    failed: int
    total: int
    submitted_by: Link
    date_created: Timestamp
    finished: Timestamp | None
    output: dict[str, Any] = Field(description="annotations, objects and fields written; errors (the last 100)")


class JobList(BaseModel):
    items: list[JobOut]


class ResultAnnotation(BaseModel):
    id: str
    start_seconds: float
    end_seconds: float
    tags: list[str]
    text: str | None
    data_url: str | None


class ResultSound(BaseModel):
    sound_id: str
    dataset: str
    path: str
    annotations: list[ResultAnnotation]
    fields: dict[str, str]


class JobResults(BaseModel):
    job: JobOut
    sounds: list[ResultSound]


# -- a labelling team's work (core/team/, core/api/team.py) ------------------------------------------------

class AssignOut(BaseModel):
    batch_id: str | None = Field(description="the new batch; null when every chosen sound was assigned already")
    sounds: int = Field(description="sounds newly assigned")
    assignments: int
    multiple: int = Field(description="of those sounds, how many went to more than one annotator")
    per_annotator: dict[str, int] = Field(description="assignments made, by user name")


class Moved(BaseModel):
    count: int = Field(description="assignments moved or taken back")


class WorkItemOut(BaseModel):
    sound_id: str
    dataset: str
    path: str
    duration_seconds: float
    state: AssignmentState
    comment: str | None = Field(description="the reviewer's, on returned work")
    active_seconds: float
    hide_suggestions: bool


class WorkList(BaseModel):
    items: list[WorkItemOut]


class AssignmentOut(BaseModel):
    sound_id: str
    annotator: str = Field(description="user name")
    state: AssignmentState
    comment: str | None
    active_seconds: float
    submitted_at: Timestamp | None
    reviewed_at: Timestamp | None


class TimeAdded(BaseModel):
    counted: float = Field(description="seconds added (one report counts at most 300; 0 when the work is not open)")


class ReviewItemOut(BaseModel):
    sound_id: str
    dataset: str
    path: str
    submitted: int
    assigned: int


class ReviewList(BaseModel):
    items: list[ReviewItemOut]


class LanesOut(BaseModel):
    sound_id: str
    people: dict[str, list[AnnotationOut]] = Field(description="each person's own regions, by user name")
    gold: list[AnnotationOut]
    states: dict[str, AssignmentState] = Field(description="each annotator's assignment state, by user name")


class Taken(BaseModel):
    items: list[AnnotationOut] = Field(description="the gold copies made")


class Accepted(BaseModel):
    sound_id: str
    accepted: int = Field(description="assignments accepted")


class ProgressOut(BaseModel):
    batch_id: str
    dataset: str
    annotator: str | None = Field(description="null: the whole batch")
    assigned: int
    done: int = Field(description="submitted or accepted")
    accepted: int
    returned_ever: int = Field(description="assignments a reviewer returned at least once")
    reached_review: int = Field(description="assignments submitted at least once")
    audio_hours_done: float
    active_hours: float
    sounds_per_hour: float | None
    audio_hours_per_hour: float | None
    returned_share: float | None


class ProgressList(BaseModel):
    items: list[ProgressOut]


# -- annotations in (core/annotations/imports/) -------------------------------------------------------------

class ImportedFile(BaseModel):
    file: str = Field(description="the file's name as sent (a Kaldi folder: its segments or text file)")
    format: str = Field(description="the format it was read as: rttm, textgrid, audacity, eaf, csv, labelstudio, nemo or kaldi")
    rows: int = Field(description="annotation rows read from it (rows of one segment, as RTTM's line per label, count once)")


class ImportProblem(BaseModel):
    file: str
    where: str = Field(description="line 12, tier 'words', interval at 1.250 s, task 7, region r2, ...")
    reason: str
    message: str = Field(description="file, where and reason in one sentence")


class AnnotationImport(BaseModel):
    """What an import did: every row read went in, was there already, or is a problem (the rest went in)."""

    files: list[ImportedFile]
    imported: int = Field(description="annotations written")
    already: int = Field(description="rows the same author had already (an identical annotation), left out")
    whole_without_text: int = Field(description="rows over a whole sound without tag or text (a training export's "
                                                "rows for sounds nobody annotated): not annotations, skipped")
    author: str = Field(description="whose annotations they are: the caller, or bot-<name> for suggestions")
    problems: list[ImportProblem]
    summary: str = Field(description="the above in one line")


# -- agreement figures (core/team/agreement.py, core/api/agreement.py) --------------------------------------

class AgreementTag(BaseModel):
    """Agreement on one tag: segment F1 among the regions carrying it, their deviations, and frame kappa."""

    tag: str
    regions_first: int
    regions_second: int
    matched: int
    segment_f1: float | None = Field(description="2 x matched / (regions_first + regions_second); null without regions")
    start_ms: float | None = Field(description="mean absolute start difference of matched segments; null without matches")
    end_ms: float | None
    kappa: float | None = Field(description="Cohen's kappa on 10 ms frames; null where undefined")


class AgreementFigures(BaseModel):
    """Two sides' agreement over `sounds` sounds: overall (tags aside), `kappa` per tag, and `tags`."""

    sounds: int
    regions_first: int
    regions_second: int
    matched: int
    segment_f1: float | None
    start_ms: float | None
    end_ms: float | None
    wer: float | None = Field(description="word error rate between matched transcripts (reference: gold, or the first)")
    transcripts: int = Field(description="matched pairs of transcripts the wer is over")
    kappa: dict[str, float | None]
    tags: list[AgreementTag]


class AgreementPair(AgreementFigures):
    first: str = Field(description="a user name")
    second: str = Field(description="a user name, or (gold) for the reviewer's accepted version")


class AgreementSound(AgreementPair):
    sound_id: str
    path: str


class AgreementOut(BaseModel):
    """A dataset's agreement: all pairs of people pooled (`overall`), each pair, each person against gold, and
    the sounds where two people agree least (`worst`, lowest segment F1 first)."""

    dataset: str
    sounds: int = Field(description="sounds annotated by two or more people, or by a person and gold")
    people: list[str]
    overall: AgreementFigures
    pairs: list[AgreementPair]
    gold: list[AgreementPair]
    worst: list[AgreementSound]
