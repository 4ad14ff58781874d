"""Users (cochlea_api.md): list, create, read, change, delete; a user's sounds and annotations."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from core.accounts.users import UserFilter, UserService, public_user
from core.annotations.service import (
    AnnotationFilter,
    AnnotationService,
)
from core.api.deps import App, Bounded, Caller, Paging, page_of
from core.catalogue.sounds import SoundFilter, SoundService

router = APIRouter(route_class=Bounded, prefix="/users", tags=["users"])
UserType = Literal["human", "dataset", "featurebot"]


class UserQuery(Paging):
    user_type: UserType | None = Field(None, description="human, dataset or featurebot")
    user_name: str | None = Field(None, max_length=200, description="part of the user name")


class NewUser(BaseModel):
    user_name: str = Field("", max_length=200)
    password: str = Field("", max_length=1000)
    user_type: UserType = "human"
    is_admin: bool = False
    email: str | None = Field(None, max_length=320)
    about_me: str | None = Field(None, max_length=10_000)
    info_url: str | None = Field(None, max_length=2000)


class UserChange(BaseModel):
    """Only what is sent is changed; any other field is refused by name."""

    model_config = ConfigDict(extra="forbid")
    email: str | None = Field(None, max_length=320)
    about_me: str | None = Field(None, max_length=10_000)
    info_url: str | None = Field(None, max_length=2000)
    password: str | None = Field(None, max_length=1000)
    is_admin: bool | None = None
    user_type: UserType | None = None
    is_active: bool | None = None


@router.get("", summary="Users, a page at a time (email only in your own record)")
def list_users(app: App, user: Caller, query: UserQuery = Query()) -> dict:
    with app.db.read() as session:
        page = UserService(session).list(query.request(), UserFilter(query.user_type, query.user_name or None))
        return page_of(page, "/users", lambda u: public_user(u, user))


@router.post("", status_code=201, summary="Create a user (administrators)")
def create_user(app: App, user: Caller, body: NewUser) -> dict:
    profile = body.model_dump(include={"email", "about_me", "info_url"}, exclude_unset=True)
    with app.db.write() as session:
        created = UserService(session).create(user, body.user_name, body.password, body.user_type, is_admin=body.is_admin, **profile)
        return public_user(created, created)


@router.get("/{user_id}", summary="One user (email only in your own record)")
def get_user(app: App, user: Caller, user_id: str) -> dict:
    with app.db.read() as session:
        return public_user(UserService(session).get(user_id), user)


@router.head("/{user_id}", status_code=204, summary="Whether a user exists (204, or 404)")
def user_exists(app: App, user: Caller, user_id: str) -> Response:
    with app.db.read() as session:
        UserService(session).get(user_id)
    return Response(status_code=204)


@router.patch("/{user_id}", status_code=204, summary="Change a user: yourself (administrators: anyone; role and active flag too)")
def update_user(app: App, user: Caller, user_id: str, body: UserChange) -> None:
    sent = body.model_dump(exclude_unset=True)
    with app.db.write() as session:
        service = UserService(session)
        service.update_profile(user, user_id, **{k: v for k, v in sent.items() if k in ("email", "about_me", "info_url", "password")})
        if "is_admin" in sent or "user_type" in sent:
            service.set_role(user, user_id, user_type=sent.get("user_type"), is_admin=sent.get("is_admin"))
        if "is_active" in sent:
            service.set_active(user, user_id, bool(sent["is_active"]))


@router.delete("/{user_id}", summary="Delete a user that owns nothing (yourself, or anyone as an administrator)")
def delete_user(app: App, user: Caller, user_id: str) -> dict:
    with app.db.write() as session:
        UserService(session).delete(user, user_id)
    return {"deleted": user_id}


@router.get("/{user_id}/sounds", summary="The sounds a user created")
def user_sounds(app: App, user: Caller, user_id: str, query: Paging = Query()) -> dict:
    with app.db.read() as session:
        UserService(session).get(user_id)
        page = SoundService(session, app.storage).list_public(query.request(), SoundFilter(created_by=user_id, tags=query.tag_list()))
        return page_of(page, f"/users/{user_id}/sounds")


@router.get("/{user_id}/annotations", summary="The annotations a user created")
def user_annotations(app: App, user: Caller, user_id: str, query: Paging = Query()) -> dict:
    with app.db.read() as session:
        UserService(session).get(user_id)
        page = AnnotationService(session).list_public(query.request(), AnnotationFilter(created_by=user_id, tags=query.tag_list()))
        return page_of(page, f"/users/{user_id}/annotations")
