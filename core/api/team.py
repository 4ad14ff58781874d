"""A labelling team's work over HTTP (core/team/): assigning a dataset's sounds, moving and taking work back, an
annotator's own work (open, time, Done), review (the sounds waiting, one sound's lanes, taking regions into the
gold version, accept, return) and progress. Role checks are the services' (core/accounts/permissions.py)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import ConfigDict, Field

from core.annotations.service import public_annotation
from core.api.deps import App, Bounded, Caller, linked
from core.api.models import (
    AUTHENTICATED,
    TITLE_PATTERN,
    USER_NAME_PATTERN,
    USER_NAME_PHRASE,
    Accepted,
    AssignmentOut,
    AssignOut,
    Body,
    Id,
    LanesOut,
    Moved,
    ProgressList,
    ReviewList,
    Taken,
    TimeAdded,
    Where,
    WorkList,
    dataset_name,
    errors,
    matching,
    user_name,
)
from core.api.models import Tag as TagName
from core.catalogue.search import CatalogueQuery, parse_where
from core.errors import NotFound
from core.store.models import Assignment, User
from core.team import progress, queue, review
from core.team.assignments import AssignRequest, assign, move, take_back
from core.team.states import AssignmentState

router = APIRouter(route_class=Bounded, tags=["team"], responses=AUTHENTICATED)
MAX_PEOPLE = 100
Annotator = Annotated[str, matching(USER_NAME_PATTERN, USER_NAME_PHRASE, max_length=64)]


class AssignBody(Body):
    """The sounds of `dataset` matching `tags` (all of them) and `where`, to the annotators named in `to`."""

    dataset: str = dataset_name(..., "the dataset whose sounds are handed out")
    to: list[Annotator] = Field(..., min_length=1, max_length=MAX_PEOPLE, description="annotators' user names")
    per_sound: int = Field(1, ge=1, le=MAX_PEOPLE, description="people per sound (at most as many as `to` names)")
    share: float = Field(1.0, gt=0, le=1, allow_inf_nan=False,
                         description="of the sounds, the share that gets per_sound people (a seeded choice); the rest get one")
    seed: int = Field(0, ge=0, le=2**31 - 1, description="picks the share")
    tags: list[TagName] | None = Field(None, max_length=100)
    where: list[Where] | None = Field(None, max_length=100, description="COLUMN=VALUE")
    blind: bool = Field(True, description="annotators see only their own regions until a sound is accepted")
    hide_suggestions: bool = Field(False, description="annotators do not see machine suggestions")


class MoveBody(Body):
    """`from_annotator`'s unsubmitted work in `dataset` (or on `sound_ids`) to `to`."""

    dataset: str = dataset_name(..., "the dataset")
    from_annotator: str = user_name(..., "whose work moves")
    to: str = user_name(..., "who gets it")
    sound_ids: list[Id] | None = None


class TakeBackBody(Body):
    """`annotator`'s unsubmitted work in `dataset` (or on `sound_ids`) withdrawn; their regions stay."""

    dataset: str = dataset_name(..., "the dataset")
    annotator: str = user_name(..., "whose work is taken back")
    sound_ids: list[Id] | None = None


class TimeBody(Body):
    seconds: float = Field(0.0, ge=0, description="seconds of active use to add (0 or more; capped per report)")


class TakeBody(Body):
    """Either one person's whole set (`annotator`) or chosen regions (`annotation_ids`)."""

    model_config = ConfigDict(json_schema_extra={"anyOf": [
        {"required": ["annotator"], "properties": {"annotator": {"type": "string"}}},
        {"required": ["annotation_ids"], "properties": {"annotation_ids": {"type": "array", "minItems": 1}}}]})
    annotator: str | None = user_name(None, "take this person's whole set")
    annotation_ids: list[Id] | None = Field(None, min_length=1, max_length=10_000, description="take these regions")


class ReturnBody(Body):
    annotator: str = user_name(..., "whose work goes back")
    comment: str = matching(TITLE_PATTERN, "not be empty or only spaces", min_length=1, max_length=review.MAX_COMMENT,
                            description="what to change (the annotator sees it)")


def _assignment(session: Any, found: Assignment) -> dict[str, Any]:
    name = session.get(User, found.annotator_id).user_name
    return {"sound_id": found.sound_id, "annotator": name, "state": AssignmentState(found.state), "comment": found.comment,
            "active_seconds": found.active_seconds, "submitted_at": _when(found.submitted_at), "reviewed_at": _when(found.reviewed_at)}


def _when(moment: Any) -> str | None:
    return moment.isoformat() if moment else None


def _annotations(items: list[Any]) -> list[dict[str, Any]]:
    return [linked(public_annotation(a)) for a in items]


@router.post("/assignments", status_code=201, summary="Assign a dataset's sounds (a filter's) to annotators",
             response_model=AssignOut, responses=errors(400, 404),
             description="Dataset users on datasets they uploaded, administrators on any. Sounds assigned already are "
                         "left as they are, so sending the same request again assigns nothing new.")
def assign_sounds(app: App, user: Caller, body: AssignBody) -> dict[str, Any]:
    spec = CatalogueQuery(dataset=body.dataset, tags=tuple(body.tags or ()), where=parse_where(body.where or []))
    request = AssignRequest(spec, tuple(body.to or ()), body.per_sound, body.share, body.seed, body.blind, body.hide_suggestions)
    with app.db.write() as session:
        return assign(session, user, request).__dict__


@router.post("/assignments/move", summary="Give one annotator's unsubmitted work to another", response_model=Moved,
             responses=errors(400, 404))
def move_work(app: App, user: Caller, body: MoveBody) -> dict[str, Any]:
    with app.db.write() as session:
        return {"count": move(session, user, body.dataset, body.from_annotator, body.to, body.sound_ids)}


@router.post("/assignments/take-back", summary="Withdraw one annotator's unsubmitted work", response_model=Moved,
             responses=errors(400, 404))
def take_work_back(app: App, user: Caller, body: TakeBackBody) -> dict[str, Any]:
    with app.db.write() as session:
        return {"count": take_back(session, user, body.dataset, body.annotator, body.sound_ids)}


@router.get("/my-work", summary="Your assigned sounds: returned first, then in progress, then to do, then the rest",
            response_model=WorkList, responses=errors(400))
def my_work(app: App, user: Caller, dataset: str | None = Query(None, max_length=128),
            state: AssignmentState | None = None, limit: int = Query(1000, ge=1, le=10_000)) -> dict[str, Any]:
    with app.db.read() as session:
        items = queue.my_work(session, user, dataset=dataset or None, states=(state,) if state else (), limit=limit)
    return {"items": [item.__dict__ for item in items]}


@router.post("/my-work/{sound_id}/open", summary="Mark your work on a sound in progress", response_model=AssignmentOut,
             responses=errors(404))
def open_work(app: App, user: Caller, sound_id: str) -> dict[str, Any]:
    with app.db.write() as session:
        found = queue.open_sound(session, user, sound_id)
        if found is None:
            raise NotFound(f"Sound {sound_id!r} is not assigned to {user.user_name}.")
        return _assignment(session, found)


@router.post("/my-work/{sound_id}/submit", summary="Done: submit your work on a sound for review",
             response_model=AssignmentOut, responses=errors(404, 409))
def submit_work(app: App, user: Caller, sound_id: str) -> dict[str, Any]:
    with app.db.write() as session:
        return _assignment(session, queue.submit(session, user, sound_id))


@router.post("/my-work/{sound_id}/time", summary="Add seconds of active use of the page to your work on a sound",
             response_model=TimeAdded, responses=errors(400, 404))
def add_time(app: App, user: Caller, sound_id: str, body: TimeBody) -> dict[str, Any]:
    with app.db.write() as session:
        return {"counted": queue.add_time(session, user, sound_id, body.seconds)}


@router.get("/reviews", summary="Sounds with submitted work you may review", response_model=ReviewList,
            responses=errors(400, 404))
def reviews(app: App, user: Caller, dataset: str | None = Query(None, max_length=128),
            limit: int = Query(1000, ge=1, le=10_000)) -> dict[str, Any]:
    with app.db.read() as session:
        return {"items": [item.__dict__ for item in review.to_review(session, user, dataset=dataset or None, limit=limit)]}


@router.get("/reviews/{sound_id}", summary="One sound's regions by person, its gold version and each annotator's state",
            response_model=LanesOut, responses=errors(404))
def lanes(app: App, user: Caller, sound_id: str) -> dict[str, Any]:
    with app.db.read() as session:
        found = review.lanes(session, user, sound_id)
        return {"sound_id": sound_id, "people": {name: _annotations(items) for name, items in found.people.items()},
                "gold": _annotations(found.gold), "states": found.states}


@router.post("/reviews/{sound_id}/take", summary="Copy one person's set, or chosen regions, into the gold version",
             response_model=Taken, responses=errors(400, 404))
def take(app: App, user: Caller, sound_id: str, body: TakeBody) -> dict[str, Any]:
    with app.db.write() as session:
        if body.annotator:
            made = review.take_set(session, user, sound_id, body.annotator)
        else:
            made = review.take_regions(session, user, sound_id, body.annotation_ids or [])
        return {"items": _annotations(made)}


@router.post("/reviews/{sound_id}/accept", summary="Accept the sound's gold version (its assignments become accepted)",
             response_model=Accepted, responses=errors(400, 404, 409),
             description="Of two reviewers accepting at once one wins; the other gets a 409 naming who accepted it.")
def accept(app: App, user: Caller, sound_id: str,
           allow_empty: bool = Query(False, description="accept a sound without a gold version (nothing in it)")) -> dict[str, Any]:
    with app.db.write() as session:
        count = review.accept(session, user, sound_id, allow_empty=allow_empty)
    return {"sound_id": sound_id, "accepted": count}


@router.post("/reviews/{sound_id}/return", summary="Return one annotator's submitted work with a comment",
             response_model=AssignmentOut, responses=errors(400, 404, 409))
def return_work(app: App, user: Caller, sound_id: str, body: ReturnBody) -> dict[str, Any]:
    with app.db.write() as session:
        return _assignment(session, review.return_work(session, user, sound_id, body.annotator, body.comment))


@router.get("/progress", summary="A dataset's progress per assignment batch and annotator", response_model=ProgressList,
            responses=errors(400, 404))
def team_progress(app: App, user: Caller, dataset: str = Query(..., max_length=128)) -> dict[str, Any]:
    with app.db.read() as session:
        return {"items": [row.as_dict() for row in progress.progress(session, user, dataset)]}
