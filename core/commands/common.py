"""What every command shares: the Earmark the command line acts on, the administrator it acts as, and argument
types argparse checks (a bad value is one line and exit 2)."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import select
from tqdm import tqdm

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


@contextmanager
def file_bar(desc: str, quiet: bool) -> Iterator[Callable[[Any], None]]:
    """A progress callback counting files, whose bar appears with the first file: an export refused before its
    first byte prints only its one line of error, not an empty bar above it."""
    bars: list[tqdm] = []

    def one_more(_item: Any) -> None:
        if not bars:
            bars.append(tqdm(unit="file", desc=desc, disable=quiet))
        bars[0].update(1)

    try:
        yield one_more
    finally:
        for bar in bars:
            bar.close()
