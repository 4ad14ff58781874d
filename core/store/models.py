"""The catalogue's tables, as SQLAlchemy 2.0 typed models.

Every stored object has a :class:`StoredFile` row (key, size, sha256, owner); a sound points at the file that
holds its audio. Tags live in their own indexed tables so "all sounds/annotations with these tags" is an index
lookup, and a sound's metadata columns are rows of ``sound_fields`` so any column can be filtered.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Annotated, Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from core.store.ids import new_id

USER_TYPES = ("human", "dataset", "featurebot")
PURPOSES = ("training", "ingestion")
SAMPLE_KEY_MODULUS = 2**31 - 1  # a prime: sample keys are below it (core/export/sampling.py)


def new_sample_key() -> int:
    """A sound's fixed random key, from which every seed's subset order is computed (core/export/sampling.py)."""
    return secrets.randbelow(SAMPLE_KEY_MODULUS)


CATEGORIES = ("audio", "data", "text", "archive", "video", "derived", "export")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def as_utc(moment: dt.datetime) -> dt.datetime:
    """A time read back from the database as UTC: SQLite returns timezone-aware columns without their offset."""
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


IdPk = Annotated[str, mapped_column(String(32), primary_key=True, default=new_id)]
UserRef = Annotated[str, mapped_column(String(32), ForeignKey("users.id"), index=True)]
Created = Annotated[dt.datetime, mapped_column(DateTime(timezone=True), default=utcnow)]
OptText = Annotated[str | None, mapped_column(Text, nullable=True)]


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON}


class User(Base):
    __tablename__ = "users"

    id: Mapped[IdPk]
    user_name: Mapped[str] = mapped_column(String(64), unique=True)
    user_type: Mapped[str] = mapped_column(String(16), index=True)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    password_hash: Mapped[str] = mapped_column(String(100))
    password_changed: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)  # logins before it end
    # One more at each logout, password change and deactivation: the signed tokens made before it end
    # (core.accounts.tokens). Only ever raised by an SQL increment.
    token_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    email: Mapped[OptText]
    about_me: Mapped[OptText]
    info_url: Mapped[OptText]
    date_created: Mapped[Created]


class StoredFile(Base):
    __tablename__ = "stored_files"

    id: Mapped[IdPk]
    key: Mapped[str] = mapped_column(String(1024), unique=True)
    category: Mapped[str] = mapped_column(String(16), index=True)
    purpose: Mapped[str] = mapped_column(String(16), default="ingestion", index=True)
    original_filename: Mapped[str] = mapped_column(String(512))
    description: Mapped[OptText]
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    created_by: Mapped[UserRef]
    date_created: Mapped[Created]
    expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True, index=True)
    # A file registered in place (core.store.sources): its key is the object's URL, ``source`` the URL it was
    # registered from. ``seen_at`` is when a registration last listed it, ``missing_since`` when one no longer did.
    source: Mapped[str | None] = mapped_column(String(1024), nullable=True, index=True)
    seen_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    missing_since: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class JournalEntry(Base):
    """A storage key Earmark is writing or deleting while no stored_files row describes it (core.store.journal):
    with the rows, the record that tells Earmark's objects from the others in a shared bucket or folder."""

    __tablename__ = "storage_journal"

    key: Mapped[str] = mapped_column(String(1024), primary_key=True)
    date_created: Mapped[Created]


class Sound(Base):
    __tablename__ = "sounds"
    __table_args__ = (
        UniqueConstraint("dataset", "path", name="uq_sound_dataset_path"),
        UniqueConstraint("dataset", "sha256", name="uq_sound_dataset_sha256"),  # same audio is stored once per dataset
        Index("ix_sounds_path_id", "path", "id"),  # keyset paging for each Browse sort
        Index("ix_sounds_duration_id", "duration_seconds", "id"),
        Index("ix_sounds_annotations_id", "annotation_count", "id"),
        Index("ix_sounds_dataset_id", "dataset", "id"),
        Index("ix_sounds_dataset_path_id", "dataset", "path", "id"),
        # The live count of a dataset's or an uploader's sounds from these alone (core.catalogue.sounds.live_count)
        Index("ix_sounds_dataset_expires", "dataset", "expires_at"),
        Index("ix_sounds_created_by_expires", "created_by", "expires_at"),
        Index("ix_sounds_dataset_created_by", "dataset", "created_by"),  # a dataset's owners (core/team/visibility.py)
    )

    id: Mapped[IdPk]
    created_by: Mapped[str] = mapped_column(String(32), ForeignKey("users.id"))  # indexed with expires_at, above
    dataset: Mapped[str] = mapped_column(String(128))
    path: Mapped[str] = mapped_column(String(1024))
    title: Mapped[str] = mapped_column(String(512))
    file_id: Mapped[str | None] = mapped_column(ForeignKey("stored_files.id"), nullable=True, unique=True)
    sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    format: Mapped[str | None] = mapped_column(String(16), nullable=True)
    subtype: Mapped[str | None] = mapped_column(String(32), nullable=True)
    sample_rate: Mapped[int | None] = mapped_column(Integer, nullable=True)
    channels: Mapped[int | None] = mapped_column(Integer, nullable=True)
    frames: Mapped[int | None] = mapped_column(Integer, nullable=True)
    duration_seconds: Mapped[float] = mapped_column(Float)
    info_url: Mapped[OptText]
    audio_url: Mapped[OptText]
    license_type: Mapped[OptText]
    date_created: Mapped[Created]
    expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True, index=True)
    annotation_count: Mapped[int] = mapped_column(Integer, default=0)  # kept by AnnotationService, for sorting
    sample_key: Mapped[int] = mapped_column(Integer, default=new_sample_key)  # the seeded subset order's input

    file: Mapped[StoredFile | None] = relationship(lazy="joined")
    tags: Mapped[list[SoundTag]] = relationship(cascade="all, delete-orphan", lazy="selectin")
    fields: Mapped[list[SoundField]] = relationship(cascade="all, delete-orphan", lazy="selectin")

    @property
    def tag_names(self) -> list[str]:
        return sorted(t.tag for t in self.tags)

    @property
    def metadata_dict(self) -> dict[str, str]:
        return {f.name: f.value for f in self.fields}

    @property
    def audio(self) -> StoredFile:
        """The stored audio of a sound known to have some. A sound can exist without audio (``file`` is None): code
        that may meet one checks ``file`` first and says so in its own words; this is for the code after that."""
        if self.file is None:
            raise LookupError(f"Sound {self.id} has no stored audio.")
        return self.file

    @property
    def rate(self) -> int:
        """The sample rate of a sound known to have stored audio (see :attr:`audio`)."""
        if not self.sample_rate:
            raise LookupError(f"Sound {self.id} has no sample rate.")
        return self.sample_rate


class SoundTag(Base):
    __tablename__ = "sound_tags"
    __table_args__ = (Index("ix_sound_tags_tag", "tag", "sound_id"),)

    sound_id: Mapped[str] = mapped_column(ForeignKey("sounds.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(128), primary_key=True)


class SoundField(Base):
    """One metadata column of one sound (from the metadata CSV joined at ingest)."""

    __tablename__ = "sound_fields"
    __table_args__ = (Index("ix_sound_fields_name_value", "name", "value", "sound_id"),)

    sound_id: Mapped[str] = mapped_column(ForeignKey("sounds.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class Annotation(Base):
    __tablename__ = "annotations"
    __table_args__ = (Index("ix_annotations_sound_start", "sound_id", "start_seconds"),)

    id: Mapped[IdPk]
    sound_id: Mapped[str] = mapped_column(ForeignKey("sounds.id", ondelete="CASCADE"))
    created_by: Mapped[UserRef]
    start_seconds: Mapped[float] = mapped_column(Float)
    duration_seconds: Mapped[float] = mapped_column(Float)
    text: Mapped[OptText]
    data_url: Mapped[OptText]
    channel: Mapped[int | None] = mapped_column(Integer, nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_by: Mapped[str | None] = mapped_column(String(32), nullable=True)  # who saved the current version (no FK: see 0002)
    source: Mapped[str | None] = mapped_column(String(160), nullable=True, index=True)  # analyzer output: what made it
    # Part of a reviewer's accepted (gold) version of its sound (core/team/review.py): a copy the reviewer made;
    # the annotators' own rows stay as they were.
    is_gold: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    date_created: Mapped[Created]
    date_updated: Mapped[Created]

    tags: Mapped[list[AnnotationTag]] = relationship(cascade="all, delete-orphan", lazy="selectin")

    @hybrid_property
    def end_seconds(self) -> float:
        return self.start_seconds + self.duration_seconds

    @property
    def tag_names(self) -> list[str]:
        return sorted(t.tag for t in self.tags)


class AnnotationTag(Base):
    __tablename__ = "annotation_tags"
    __table_args__ = (Index("ix_annotation_tags_tag", "tag", "annotation_id"),)

    annotation_id: Mapped[str] = mapped_column(ForeignKey("annotations.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(128), primary_key=True)


class TagDefinition(Base):
    """A dataset's tag vocabulary: the tags offered on the Annotate page, each with its colour."""

    __tablename__ = "tag_vocabulary"

    dataset: Mapped[str] = mapped_column(String(128), primary_key=True)
    tag: Mapped[str] = mapped_column(String(128), primary_key=True)
    color: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[UserRef]
    date_created: Mapped[Created]


class LoginFailure(Base):
    """Failed logins counted per account (``user:<name>``) and per address (``addr:<ip>``), for throttling
    (core/accounts/throttle.py); ``last_failed`` lets a count quiet for long enough start over."""

    __tablename__ = "login_failures"

    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    blocked_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_failed: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class ApiToken(Base):
    """A revocable token for bots and scripts (``Authorization: Bearer``); only its sha256 is kept."""

    __tablename__ = "api_tokens"

    id: Mapped[IdPk]
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(128))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    date_created: Mapped[Created]
    last_used: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


JOB_STATES = ("queued", "running", "completed", "failed", "cancelled")


class Job(Base):
    """An analyzer run over a list of sounds; survives restarts (its items say what is done)."""

    __tablename__ = "jobs"

    id: Mapped[IdPk]
    analyzer: Mapped[str] = mapped_column(String(64))
    version: Mapped[str] = mapped_column(String(16))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    submitted_by: Mapped[UserRef]
    worker: Mapped[str | None] = mapped_column(String(128), nullable=True)
    heartbeat: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    output: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    date_created: Mapped[Created]
    started: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finished: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Worker(Base):
    """A job worker that is running (or was: ``last_seen`` says when it last said so)."""

    __tablename__ = "workers"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    started: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    last_seen: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class ReviewedSuggestion(Base):
    """A machine suggestion a person accepted or rejected: a re-run of the same analyzer with the same
    parameters does not suggest it again."""

    __tablename__ = "reviewed_suggestions"

    sound_id: Mapped[str] = mapped_column(ForeignKey("sounds.id", ondelete="CASCADE"), primary_key=True)
    source: Mapped[str] = mapped_column(String(160), primary_key=True)
    start_ms: Mapped[int] = mapped_column(Integer, primary_key=True)
    duration_ms: Mapped[int] = mapped_column(Integer, primary_key=True)
    verdict: Mapped[str] = mapped_column(String(16))  # accepted or rejected
    reviewed_by: Mapped[str | None] = mapped_column(String(32), ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    date_reviewed: Mapped[Created]


class JobItem(Base):
    """One sound of a job: pending, working (claimed by a worker), done or failed (with the error)."""

    __tablename__ = "job_items"

    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    sound_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    state: Mapped[str] = mapped_column(String(16), default="pending")  # pending, working, done, failed
    error: Mapped[OptText]
    worker: Mapped[str | None] = mapped_column(String(128), nullable=True)
    claimed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class AssignmentBatch(Base):
    """One act of handing out work (core/team/assignments.py): which sounds (the filter), to whom, how many people
    per sound (for all of them or a seeded share), and what the annotators may see (blind, suggestions hidden)."""

    __tablename__ = "assignment_batches"

    id: Mapped[IdPk]
    dataset: Mapped[str] = mapped_column(String(128), index=True)
    assigned_by: Mapped[UserRef]
    per_sound: Mapped[int] = mapped_column(Integer, default=1)
    share: Mapped[float] = mapped_column(Float, default=1.0)  # of the sounds that get per_sound people; the rest get one
    seed: Mapped[int] = mapped_column(Integer, default=0)
    filter: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    blind: Mapped[bool] = mapped_column(Boolean, default=True)
    hide_suggestions: Mapped[bool] = mapped_column(Boolean, default=False)
    date_created: Mapped[Created]


class Assignment(Base):
    """One annotator's work on one sound; ``state`` is a core.team.states.AssignmentState value, changed only by
    conditional updates (core/team/queue.py, core/team/review.py)."""

    __tablename__ = "assignments"
    __table_args__ = (
        UniqueConstraint("sound_id", "annotator_id", name="uq_assignment_sound_annotator"),
        Index("ix_assignments_annotator_state", "annotator_id", "state"),
        Index("ix_assignments_batch_state", "batch_id", "state"),
    )

    id: Mapped[IdPk]
    batch_id: Mapped[str] = mapped_column(ForeignKey("assignment_batches.id", ondelete="CASCADE"))
    sound_id: Mapped[str] = mapped_column(ForeignKey("sounds.id", ondelete="CASCADE"), index=True)
    annotator_id: Mapped[str] = mapped_column(String(32), ForeignKey("users.id"))
    state: Mapped[str] = mapped_column(String(16))
    active_seconds: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")  # raised by SQL increments
    opened_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    submitted_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    reviewed_by: Mapped[str | None] = mapped_column(String(32), ForeignKey("users.id"), nullable=True)
    comment: Mapped[OptText]  # the reviewer's, when they return the work
    times_returned: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # for the returned share
    date_created: Mapped[Created]


class VoiceEmbedding(Base):
    """A sound's voice embedding from one encoder version (core/jobs/voices.py): float32 bytes, written by the
    speaker-check analyzer with an upsert (migration 0014)."""

    __tablename__ = "voice_embeddings"

    sound_id: Mapped[str] = mapped_column(ForeignKey("sounds.id", ondelete="CASCADE"), primary_key=True)
    model: Mapped[str] = mapped_column(String(64), primary_key=True)
    vector: Mapped[bytes] = mapped_column(LargeBinary)
    date_created: Mapped[Created]


class AudioFingerprint(Base):
    """A sound's landmark fingerprint (core/audio/fingerprint.py), written by the duplicates analyzer; replaced
    (deleted, its hashes and matches with it) when the sound is analyzed again. Its small integer id is what the
    hash rows carry, so the hash index stays small at a hundred thousand sounds (migration 0013)."""

    __tablename__ = "audio_fingerprints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    sound_id: Mapped[str] = mapped_column(ForeignKey("sounds.id", ondelete="CASCADE"), unique=True)
    version: Mapped[str] = mapped_column(String(32))
    landmarks: Mapped[int] = mapped_column(Integer)
    date_created: Mapped[Created]


class FingerprintHash(Base):
    """One landmark of a fingerprint: its hash and time (frame). Looked up by hash (ix_fingerprint_hashes_hash
    holds all three columns, so a lookup reads the index alone), deleted by fingerprint (the primary key)."""

    __tablename__ = "fingerprint_hashes"
    __table_args__ = (Index("ix_fingerprint_hashes_hash", "hash", "fingerprint_id", "frame"),)

    fingerprint_id: Mapped[int] = mapped_column(ForeignKey("audio_fingerprints.id", ondelete="CASCADE"), primary_key=True)
    hash: Mapped[int] = mapped_column(Integer, primary_key=True)
    frame: Mapped[int] = mapped_column(Integer, primary_key=True)


class FingerprintMatch(Base):
    """Fingerprint ``fingerprint_id`` shares ``votes`` landmarks with ``other_id`` at one time difference: its start
    is ``offset_frames`` frames into the other (negative: the other starts that far into it). Found when the first
    was fingerprinted; deleted with either fingerprint."""

    __tablename__ = "fingerprint_matches"

    fingerprint_id: Mapped[int] = mapped_column(ForeignKey("audio_fingerprints.id", ondelete="CASCADE"), primary_key=True)
    other_id: Mapped[int] = mapped_column(ForeignKey("audio_fingerprints.id", ondelete="CASCADE"), primary_key=True, index=True)
    offset_frames: Mapped[int] = mapped_column(Integer)
    votes: Mapped[int] = mapped_column(Integer)
