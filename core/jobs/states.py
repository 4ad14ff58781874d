"""The states of a job and of its items, defined once: the queue, the workers, the API's schema, the pages, the
command line and the Python client all use these (plain ``str`` values, so they are what the database and the
JSON answers hold). Imports nothing of Earmark's, so the client can use it without the server's dependencies."""

from __future__ import annotations

from enum import StrEnum


class JobState(StrEnum):
    """Where a job is: queued until a worker claims it, running, then completed, failed (every sound failed or
    the job itself did) or cancelled."""

    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        """Whether the job will not change any more."""
        return self in FINISHED


# Still to do (a worker may take it) and finished (it will not change any more).
ACTIVE = frozenset({JobState.QUEUED, JobState.RUNNING})
FINISHED = frozenset({JobState.COMPLETED, JobState.FAILED, JobState.CANCELLED})


class ItemState(StrEnum):
    """Where one sound of a job is: pending, being worked on by a worker, done, or failed."""

    PENDING = "pending"
    WORKING = "working"
    DONE = "done"
    FAILED = "failed"
