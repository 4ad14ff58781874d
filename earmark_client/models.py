"""The API's JSON answers as the client reads them: a hand-kept copy of the answer models in core/api/models.py
(this package may not import the server's code, which needs its database and storage libraries), checked field by
field against the server's OpenAPI document by tests/test_client_package.py, so the two cannot drift apart unseen.

Read an answer by attribute (``sound.id``, typed for editors and type checkers) or by key (``sound["id"]``, as the
client's dict answers were read before it had types, so scripts written then keep working). Fields a newer server
adds are kept (``extra="allow"``) rather than refused, so an older client goes on working against it.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict


class Answer(BaseModel):
    """A JSON answer: typed attributes, plus the read-only half of a dict (``a["x"]``, ``a.get("x")``, ``"x" in a``,
    ``a == {...}``) for scripts that treat answers as dicts."""

    model_config = ConfigDict(extra="allow")

    def _names(self) -> list[str]:
        return [*type(self).model_fields, *(self.model_extra or {})]

    def __getitem__(self, name: str) -> Any:
        if name not in self._names():
            raise KeyError(name)
        return getattr(self, name)

    def __contains__(self, name: object) -> bool:
        return name in self._names()

    def get(self, name: str, default: Any = None) -> Any:
        return getattr(self, name) if name in self._names() else default

    def keys(self) -> list[str]:
        return self._names()

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping):
            return self.model_dump() == dict(other)
        return super().__eq__(other)


class JobState(StrEnum):
    """Where a job is (core/jobs/states.py's JobState, whose values the server sends)."""

    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        """Whether the job will not change any more."""
        return self in FINISHED


FINISHED = frozenset({JobState.COMPLETED, JobState.FAILED, JobState.CANCELLED})


class IngestStatus(StrEnum):
    """How ingesting one file ended (core/ingest/states.py's IngestStatus, which says what each value means): an
    upload's answer is ``stored`` or ``duplicate``; a file the server refused is ``refused`` in
    :meth:`~earmark_client.Client.upload_folder`'s list; ``skipped`` is for files a server-side import left out."""

    STORED = "stored"
    DUPLICATE = "duplicate"
    REFUSED = "refused"
    SKIPPED = "skipped"


class Health(Answer):
    status: Literal["ok"]


class Totals(Answer):
    totalSounds: int  # noqa: N815 (the server's names)
    totalAnnotations: int  # noqa: N815
    totalUsers: int  # noqa: N815


class UserOut(Answer):
    """A user as others see them; ``email`` only in your own record."""

    id: str
    date_created: str
    user_name: str
    user_type: Literal["human", "dataset", "featurebot"]
    is_admin: bool
    is_active: bool
    about_me: str | None
    info_url: str | None
    email: str | None = None


class SoundOut(Answer):
    id: str
    date_created: str
    created_by: str
    info_url: str | None
    audio_url: str | None
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


class AnnotationOut(Answer):
    """An annotation; ``source`` names the featurebot that suggested it (None for people's), ``sound`` and
    ``created_by`` are paths under /api/v1."""

    id: str
    date_created: str
    created_by: str
    sound: str
    start_seconds: float
    duration_seconds: float
    end_seconds: float
    data_url: str | None
    tags: list[str] | None
    text: str | None
    channel: int | None
    version: int
    source: str | None
    is_gold: bool  # part of the sound's reviewed (gold) version

    @property
    def sound_id(self) -> str:
        """The id at the end of ``sound``."""
        return self.sound.rsplit("/", 1)[-1]


class Deleted(Answer):
    deleted: str


class Peaks(Answer):
    sound_id: str
    start_seconds: float
    end_seconds: float
    duration_seconds: float
    source: str
    points: int
    x: list[float]
    y: list[float]


class TagAdded(Answer):
    dataset: str
    tag: str
    color: str


class FileRecord(Answer):
    id: str
    path: str
    filename: str
    original_filename: str
    category: str
    purpose: str
    size: int
    hash: str
    uploaded_at: str
    uploaded_by: str
    description: str | None
    metadata: dict[str, Any]
    expires_at: str | None


class Uploaded(Answer):
    success: Literal[True]
    status: Literal[IngestStatus.STORED, IngestStatus.DUPLICATE]
    message: str
    file: FileRecord
    sound_id: str | None


class FileList(Answer):
    success: Literal[True]
    total: int
    limit: int
    offset: int
    files: list[FileRecord]


class ParamOut(Answer):
    default: float | int | str
    minimum: float | None
    maximum: float | None
    choices: list[str] | None
    help: str


class AnalyzerOut(Answer):
    name: str
    version: str
    description: str
    outputs: str
    params: dict[str, ParamOut]


class AnalyzerList(Answer):
    items: list[AnalyzerOut]


class JobOut(Answer):
    id: str
    analyzer: str
    version: str
    params: dict[str, Any]
    state: JobState
    done: int
    failed: int
    total: int
    submitted_by: str
    date_created: str
    finished: str | None
    output: dict[str, Any]


class JobList(Answer):
    items: list[JobOut]


class ResultAnnotation(Answer):
    id: str
    start_seconds: float
    end_seconds: float
    tags: list[str]
    text: str | None
    data_url: str | None


class ResultSound(Answer):
    sound_id: str
    dataset: str
    path: str
    annotations: list[ResultAnnotation]
    fields: dict[str, str]


class JobResults(Answer):
    job: JobOut
    sounds: list[ResultSound]


class ImportedFile(Answer):
    file: str
    format: str
    rows: int


class ImportProblem(Answer):
    file: str
    where: str
    reason: str
    message: str


class AnnotationImport(Answer):
    """What Client.import_annotations did: rows written, rows already there, and each row left out."""

    files: list[ImportedFile]
    imported: int
    already: int
    whole_without_text: int  # rows over a whole sound without tag or text: not annotations, skipped
    author: str
    problems: list[ImportProblem]
    summary: str


class AssignmentState(StrEnum):
    """Where one annotator's work on one sound is (core/team/states.py's AssignmentState, whose values the server sends)."""

    TO_DO = "to do"
    IN_PROGRESS = "in progress"
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    RETURNED = "returned"


class AssignOut(Answer):
    batch_id: str | None
    sounds: int
    assignments: int
    multiple: int
    per_annotator: dict[str, int]


class Moved(Answer):
    count: int


class WorkItemOut(Answer):
    sound_id: str
    dataset: str
    path: str
    duration_seconds: float
    state: AssignmentState
    comment: str | None
    active_seconds: float
    hide_suggestions: bool


class WorkList(Answer):
    items: list[WorkItemOut]


class AssignmentOut(Answer):
    sound_id: str
    annotator: str
    state: AssignmentState
    comment: str | None
    active_seconds: float
    submitted_at: str | None
    reviewed_at: str | None


class TimeAdded(Answer):
    counted: float


class ReviewItemOut(Answer):
    sound_id: str
    dataset: str
    path: str
    submitted: int
    assigned: int


class ReviewList(Answer):
    items: list[ReviewItemOut]


class LanesOut(Answer):
    sound_id: str
    people: dict[str, list[AnnotationOut]]
    gold: list[AnnotationOut]
    states: dict[str, AssignmentState]


class Taken(Answer):
    items: list[AnnotationOut]


class Accepted(Answer):
    sound_id: str
    accepted: int


class ProgressOut(Answer):
    batch_id: str
    dataset: str
    annotator: str | None
    assigned: int
    done: int
    accepted: int
    returned_ever: int
    reached_review: int
    audio_hours_done: float
    active_hours: float
    sounds_per_hour: float | None
    audio_hours_per_hour: float | None
    returned_share: float | None


class ProgressList(Answer):
    items: list[ProgressOut]


# The answers above, each the same as the server's model of the same name (tests/test_client_package.py).
MIRRORED: tuple[type[Answer] | type[StrEnum], ...] = (
    JobState, Health, Totals, UserOut, SoundOut, AnnotationOut, Deleted, Peaks, TagAdded, FileRecord, Uploaded,
    FileList, ParamOut, AnalyzerOut, AnalyzerList, JobOut, JobList, ResultAnnotation, ResultSound, JobResults,
    ImportedFile, ImportProblem, AnnotationImport)
# A labelling team's work (core/api/team.py)
MIRRORED += (AssignmentState, AssignOut, Moved, WorkItemOut, WorkList, AssignmentOut, TimeAdded, ReviewItemOut,
             ReviewList, LanesOut, Taken, Accepted, ProgressOut, ProgressList)


# -- agreement figures (Client.agreement; core/team/agreement.py on the server) ------------------------------

class AgreementTag(Answer):
    tag: str
    regions_first: int
    regions_second: int
    matched: int
    segment_f1: float | None
    start_ms: float | None
    end_ms: float | None
    kappa: float | None


class AgreementFigures(Answer):
    sounds: int
    regions_first: int
    regions_second: int
    matched: int
    segment_f1: float | None
    start_ms: float | None
    end_ms: float | None
    wer: float | None
    transcripts: int
    kappa: dict[str, float | None]
    tags: list[AgreementTag]


class AgreementPair(AgreementFigures):
    first: str
    second: str  # a user name, or "(gold)" for the reviewer's accepted version


class AgreementSound(AgreementPair):
    sound_id: str
    path: str


class AgreementOut(Answer):
    """What Client.agreement returns: all pairs of people pooled (``overall``), each pair, each person against
    gold, and the sounds where two people agree least (``worst``)."""

    dataset: str
    sounds: int
    people: list[str]
    overall: AgreementFigures
    pairs: list[AgreementPair]
    gold: list[AgreementPair]
    worst: list[AgreementSound]


MIRRORED += (AgreementTag, AgreementFigures, AgreementPair, AgreementSound, AgreementOut)
