"""Who may do what: the one place role rules live (README.md, "Users and roles"). Pages and HTTP routes both call here."""

from __future__ import annotations

from enum import StrEnum

from core.errors import PermissionDenied
from core.store.models import User


class Action(StrEnum):
    UPLOAD = "upload sounds and files"
    ANNOTATE = "annotate sounds"
    EDIT_ANNOTATION = "edit or delete this annotation"
    DELETE_SOUND = "delete this sound or file"
    RUN_JOBS = "run jobs"
    CANCEL_JOB = "cancel this job"
    MANAGE_USER = "change this user"
    MANAGE_USERS = "manage users"
    RENAME_TAGS = "rename tags (it changes everyone's annotations)"
    # Reading a bucket or a server folder in place exposes whatever the server can reach: administrators only
    # (the command line is the server's operator). core.ingest.register
    REGISTER_SOURCES = "register a bucket or folder in place"
    # Writing as a featurebot (core/annotations/imports/): suggestions everyone reviews, so for those who own data
    IMPORT_SUGGESTIONS = "import annotations as a featurebot's suggestions"
    # A labelling team's work (core/team/): on a dataset one uploaded (owner_id: each uploader of its sounds)
    ASSIGN = "assign this dataset's sounds to annotators"
    REVIEW = "review and accept this dataset's annotations"


_UPLOADERS = ("dataset",)
# Actions a non-administrator may do on their own things only: refused on others' with "only if it is your own".
OWN_ONLY = (Action.EDIT_ANNOTATION, Action.DELETE_SOUND, Action.MANAGE_USER, Action.CANCEL_JOB, Action.ASSIGN, Action.REVIEW)


def can(user: User | None, action: Action, owner_id: str | None = None) -> bool:
    """Whether ``user`` may do ``action``; ``owner_id`` is the owner of the thing acted on, where there is one."""
    if user is None or not user.is_active:
        return False
    if user.is_admin:
        return True
    if action in (Action.UPLOAD, Action.RENAME_TAGS, Action.IMPORT_SUGGESTIONS):
        return user.user_type in _UPLOADERS
    if action in (Action.ANNOTATE, Action.RUN_JOBS):
        return True
    if action is Action.EDIT_ANNOTATION:
        return owner_id == user.id
    if action in (Action.DELETE_SOUND, Action.ASSIGN, Action.REVIEW):
        return user.user_type in _UPLOADERS and owner_id == user.id
    if action in (Action.MANAGE_USER, Action.CANCEL_JOB):
        return owner_id == user.id
    return False  # MANAGE_USERS, REGISTER_SOURCES: admins only


def require(user: User | None, action: Action, owner_id: str | None = None) -> None:
    """Raise :class:`PermissionDenied` with a sentence a person understands unless ``can`` allows it."""
    if can(user, action, owner_id):
        return
    if user is None:
        raise PermissionDenied(f"You must log in to {action.value}.")
    if not user.is_active:
        raise PermissionDenied(f"The account {user.user_name!r} is deactivated.")
    admins_only = action in (Action.MANAGE_USERS, Action.REGISTER_SOURCES)
    role = "an administrator" if admins_only else f"a {user.user_type} user"
    if action in OWN_ONLY and can_any(user, action):
        raise PermissionDenied(f"You may {action.value} only if it is your own.")
    if admins_only:
        raise PermissionDenied(f"Only administrators may {action.value}.")
    raise PermissionDenied(f"As {role} you may not {action.value}; ask an administrator.")


def can_any(user: User | None, action: Action) -> bool:
    """Whether ``user`` may do ``action`` on at least their own things (used to decide what a page offers)."""
    return can(user, action, owner_id=user.id if user else None)
