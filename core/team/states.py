"""The states of an assignment, defined once: the team services, the API's schema, the pages, the command line and
the Python client all use these (plain ``str`` values, what the database and JSON answers hold). Imports nothing of
Earmark's, so the client can use it without the server's dependencies."""

from __future__ import annotations

from enum import StrEnum


class AssignmentState(StrEnum):
    """Where one annotator's work on one sound is: to do until they open it, in progress, submitted (Done) for
    review, then accepted or returned to them with the reviewer's comment (a returned sound is in progress again
    once they work on it, and submitted again with Done)."""

    TO_DO = "to do"
    IN_PROGRESS = "in progress"
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    RETURNED = "returned"


# Work the annotator still has in hand (their queue), and work that waits for a reviewer.
OPEN = frozenset({AssignmentState.TO_DO, AssignmentState.IN_PROGRESS, AssignmentState.RETURNED})
AWAITING_REVIEW = frozenset({AssignmentState.SUBMITTED})
