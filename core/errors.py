"""Typed errors raised by core.

Every interface (pages, HTTP, command line) turns these into a message for a person; the message is the
error's ``str``, written as one sentence that names what is wrong.
"""

from __future__ import annotations


class EarmarkError(Exception):
    """Base class: something the user can act on, with a message fit to show them."""


class ConfigError(EarmarkError):
    """A setting is wrong; the message names the setting."""

    def __init__(self, setting: str, message: str) -> None:
        super().__init__(message)
        self.setting = setting


class StorageError(EarmarkError):
    """Object storage refused or could not be reached."""


class InvalidKey(StorageError):
    """A storage key would escape its prefix or is malformed."""


class ObjectNotFound(StorageError):
    """No object under that key."""


class ObjectExists(StorageError):
    """A write that must not replace anything found an object already at its key."""


class ReadOnlySource(StorageError):
    """A write or deletion aimed at a registered source (core.store.sources), which Earmark only reads."""


class ValidationError(EarmarkError):
    """Bad input; ``field`` names the offending field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class UnknownFormat(ValidationError):
    """An export format no writer knows: ``name`` is it, ``choices`` the known ones. The message names no option,
    since each edge knows the field by its own name (``--formats`` on the command line, ``formats`` in the API)."""

    def __init__(self, field: str, name: str, choices: tuple[str, ...]) -> None:
        super().__init__(field, f"Unknown format {name!r}: choose from {', '.join(choices)}.")
        self.name, self.choices = name, choices


class NotFound(EarmarkError):
    """The thing asked for does not exist (or is not visible to this user)."""


class PermissionDenied(EarmarkError):
    """The user's role does not allow this action."""


class AuthenticationFailed(EarmarkError):
    """Wrong user name or password, or an inactive account."""


class TooManyAttempts(AuthenticationFailed):
    """Too many failed logins for this account or address: wait ``retry_after`` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"Too many failed logins: try again in {retry_after} s.")
        self.retry_after = retry_after


class Conflict(EarmarkError):
    """The action clashes with the current state (a name taken, a stale edit)."""
