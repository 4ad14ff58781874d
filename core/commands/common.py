"""What every command shares: the Earmark the command line acts on, the administrator it acts as, and argument
types argparse checks (a bad value is one line and exit 2)."""

from __future__ import annotations

import argparse

from sqlalchemy import select

from core.accounts.users import UserService
from core.context import Earmark, open_earmark
from core.errors import EarmarkError
from core.store.config import settings
from core.store.models import User


def current_earmark() -> Earmark:
    """The database and storage this process's settings name (EARMARK_* variables, core/store/config.py)."""
    return open_earmark(settings())


def acting_admin(users: UserService) -> User:
    """An active administrator to act as; the command line has the server operator's rights."""
    admin = users.session.scalar(select(User).where(User.is_admin.is_(True), User.is_active.is_(True)).limit(1))
    if admin is None:
        raise EarmarkError("There is no active administrator; reactivate one first.")
    return admin


def positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a positive number")
    return value
