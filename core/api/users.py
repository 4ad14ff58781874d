"""Users: list, create, read, change, delete; a user's sounds and annotations."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Response
from pydantic import ConfigDict, Field

from core.accounts.users import UserFilter, UserService, public_user
from core.annotations.service import (
    AnnotationFilter,
    AnnotationService,
)
from core.api.deps import App, Bounded, Caller, Paging, page_of
from core.api.models import (
    AUTHENTICATED,
    AnnotationPage,
    Body,
    Deleted,
    SoundPage,
    UserOut,
    UserPage,
    UserType,
    email,
    errors,
    free_text,
    http_url,
    no_content,
    password,
    user_name,
)
from core.catalogue.sounds import SoundFilter, SoundService

router = APIRouter(route_class=Bounded, prefix="/users", tags=["users"], responses=AUTHENTICATED)


class UserQuery(Paging):
    user_type: UserType | None = Field(None, description="human, dataset or featurebot")
    user_name: str | None = free_text(200, "part of the user name")


class NewUser(Body):
    user_name: str = user_name()
    password: str = password()
    user_type: UserType = "human"
    is_admin: bool = False
    email: str | None = email()
    about_me: str | None = free_text(2000)
    info_url: str | None = http_url()


class UserChange(Body):
    """Only what is sent is changed; any other field is refused by name."""

    model_config = ConfigDict(extra="forbid")
    email: str | None = email()
    about_me: str | None = free_text(2000)
    info_url: str | None = http_url()
    password: str | None = password(None)
    is_admin: bool | None = None
    user_type: UserType | None = None
    is_active: bool | None = None


@router.get("", summary="Users, a page at a time (email only in your own record)", response_model=UserPage,
            response_model_exclude_unset=True, responses=errors(400))
def list_users(app: App, user: Caller, query: UserQuery = Query()) -> dict[str, Any]:
    with app.db.read() as session:
        page = UserService(session).list(query.request(), UserFilter(query.user_type, query.user_name or None))
        return page_of(page, "/users", lambda u: public_user(u, user))


@router.post("", status_code=201, summary="Create a user (administrators)", response_model=UserOut,
             responses=errors(400, 409, 413), description="A user name already taken is a 409.")
def create_user(app: App, user: Caller, body: NewUser) -> dict[str, Any]:
    profile = body.model_dump(include={"email", "about_me", "info_url"}, exclude_unset=True)
    with app.db.write() as session:
        created = UserService(session).create(user, body.user_name, body.password, body.user_type, is_admin=body.is_admin, **profile)
        return public_user(created, created)


@router.get("/{user_id}", summary="One user (email only in your own record)", response_model=UserOut,
            response_model_exclude_unset=True, responses=errors(400, 404))
def get_user(app: App, user: Caller, user_id: str) -> dict[str, Any]:
    with app.db.read() as session:
        return public_user(UserService(session).get(user_id), user)


@router.head("/{user_id}", status_code=204, summary="Whether a user exists (204, or 404)", response_class=Response,
             responses=no_content("the user exists") | errors(400, 404))
def user_exists(app: App, user: Caller, user_id: str) -> Response:
    with app.db.read() as session:
        UserService(session).get(user_id)
    return Response(status_code=204)


@router.patch("/{user_id}", status_code=204, summary="Change a user: yourself (administrators: anyone; role and active flag too)",
              response_class=Response, responses=no_content("changed") | errors(400, 404, 409, 413),
              description="The last active administrator cannot stop being one (a 409).")
def update_user(app: App, user: Caller, user_id: str, body: UserChange) -> Response:
    sent = body.model_dump(exclude_unset=True)
    with app.db.write() as session:
        service = UserService(session)
        service.update_profile(user, user_id, **{k: v for k, v in sent.items() if k in ("email", "about_me", "info_url", "password")})
        if "is_admin" in sent or "user_type" in sent:
            service.set_role(user, user_id, user_type=sent.get("user_type"), is_admin=sent.get("is_admin"))
        if "is_active" in sent:
            service.set_active(user, user_id, bool(sent["is_active"]))
    return Response(status_code=204)


@router.delete("/{user_id}", summary="Delete a user that owns nothing (yourself, or anyone as an administrator)",
               response_model=Deleted, responses=errors(400, 404, 409, 413),
               description="A user who owns sounds, annotations or files is a 409 (deactivate the account instead); "
                           "so is the last active administrator.")
def delete_user(app: App, user: Caller, user_id: str) -> dict[str, Any]:
    with app.db.write() as session:
        UserService(session).delete(user, user_id)
    return {"deleted": user_id}


@router.get("/{user_id}/sounds", summary="The sounds a user created", response_model=SoundPage,
            response_model_exclude_unset=True, responses=errors(400, 404))
def user_sounds(app: App, user: Caller, user_id: str, query: Paging = Query()) -> dict[str, Any]:
    with app.db.read() as session:
        UserService(session).get(user_id)
        page = SoundService(session, app.storage).list_public(query.request(), SoundFilter(created_by=user_id, tags=query.tag_list(), viewer=user))
        return page_of(page, f"/users/{user_id}/sounds")


@router.get("/{user_id}/annotations", summary="The annotations a user created", response_model=AnnotationPage,
            responses=errors(400, 404))
def user_annotations(app: App, user: Caller, user_id: str, query: Paging = Query()) -> dict[str, Any]:
    with app.db.read() as session:
        UserService(session).get(user_id)
        page = AnnotationService(session).list_public(query.request(), AnnotationFilter(created_by=user_id, tags=query.tag_list(), viewer=user))
        return page_of(page, f"/users/{user_id}/annotations")
