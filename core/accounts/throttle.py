"""Login throttling: after a few failed logins for one account or from one address, each further try has to wait,
longer after every failure (2 s, 4 s, 8 s ... up to 15 minutes); a success clears the account's count.

Counted in the database, so every replica of a team server sees the same count, with one statement per failure
(an upsert that increments in SQL: concurrent failures are all counted on SQLite and PostgreSQL alike).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from core.errors import TooManyAttempts
from core.store.db import insert_for
from core.store.models import LoginFailure, as_utc, utcnow

FREE_FAILURES = 5  # failures before any waiting
MAX_WAIT = dt.timedelta(minutes=15)


def keys(user_name: str | None, address: str | None) -> list[str]:
    """What a login attempt is counted against: the account named, and the address it came from."""
    return [k for k in (f"user:{(user_name or '').strip().lower()[:200]}" if user_name else None,
                        f"addr:{address[:100]}" if address else None) if k]


def check(session: Session, counted: list[str], now: dt.datetime | None = None) -> None:
    """TooManyAttempts (with the seconds to wait) if any of ``counted`` is blocked now."""
    now = now or utcnow()
    blocked = session.scalars(select(LoginFailure.blocked_until).where(LoginFailure.key.in_(counted),
                                                                       LoginFailure.blocked_until > now)).all()
    if blocked:
        until = max(as_utc(b) for b in blocked)
        raise TooManyAttempts(max(1, int((until - now).total_seconds() + 0.999)))


def failed(session: Session, counted: list[str], now: dt.datetime | None = None) -> None:
    """Count a failure against each key; past FREE_FAILURES the key is blocked for a doubling time."""
    now = now or utcnow()
    for key in counted:
        statement = insert_for(session, LoginFailure).values(key=key, failures=1, blocked_until=None)
        failures = session.scalar(statement.on_conflict_do_update(
            index_elements=[LoginFailure.key], set_={"failures": LoginFailure.failures + 1}).returning(LoginFailure.failures))
        if failures > FREE_FAILURES:
            wait = min(MAX_WAIT, dt.timedelta(seconds=2 ** min(failures - FREE_FAILURES, 20)))
            session.execute(update(LoginFailure).where(LoginFailure.key == key).values(blocked_until=now + wait))


def succeeded(session: Session, user_name: str) -> None:
    """A correct password clears the account's count (the address's count stays: it may be guessing others)."""
    session.execute(delete(LoginFailure).where(LoginFailure.key.in_(keys(user_name, None))))
