"""Login throttling that one guesser cannot turn against everyone else at their address.

Every failed login is counted twice: against the account named (``user:<name>``, from any address) and against the
address it came from (``addr:<ip>``). Past a count's free failures each further try on that key waits, longer after
every failure (2 s, 4 s, 8 s ... up to 15 minutes); a try while a key waits is refused before the password is
looked at, and is not counted.

The two counts have different jobs, so they have different limits:

- The account's count stops guessing one password, from one address or from many: FREE_FAILURES (5) free.
- The address's count stops one address trying a few passwords on each of many accounts (spraying), which no
  account's count sees. Many people may share an address (an office's NAT, a reverse proxy whose
  ``X-Forwarded-For`` is not trusted: core/store/config.py, EARMARK_TRUSTED_PROXIES), so it gets
  SHARED_ADDRESS_FACTOR (10) accounts' worth of free failures: a colleague mistyping a dozen times, or a bot
  hammering one account (which that account's own waits slow down), leaves everyone else at the address able to
  log in. Only a burst of failures over many accounts blocks the address, and with it, rightly, everyone behind it.

A (account, address) count was the other candidate: it would let an account's owner keep logging in from their
address while a guesser elsewhere is blocked, but it does not see spraying, and the account's own count (which
must exist for guessing from many addresses) would still block the owner; so it adds a table's worth of rows for
little.

A count quiet for FORGET_AFTER starts over at its next failure, so typos over weeks never add up to a wait; a
correct password clears the account's count (not the address's: it may be guessing others).

Counted in the database, so every replica of a team server sees the same counts: one upsert per key and failure
that increments (or starts over) in SQL, and a conditional update that only ever lengthens a wait, so concurrent
failures are all counted on SQLite and PostgreSQL alike and never read-then-write.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Iterable, Sequence

from sqlalchemy import case, delete, or_, select, update
from sqlalchemy.orm import Session

from core.errors import TooManyAttempts
from core.store.db import insert_for
from core.store.models import LoginFailure, as_utc, utcnow

FREE_FAILURES = 5  # an account's failures before any waiting
SHARED_ADDRESS_FACTOR = 10  # an address's free failures, in accounts' worth: 50
MAX_WAIT = dt.timedelta(minutes=15)
FORGET_AFTER = dt.timedelta(hours=1)  # longer than MAX_WAIT, so a guesser who keeps trying keeps their count

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def keys(user_name: str | None, address: str | None) -> list[str]:
    """What a login attempt is counted against: the account named, and the address it came from."""
    return [k for k in (f"user:{(user_name or '').strip().lower()[:200]}" if user_name else None,
                        f"addr:{address[:100]}" if address else None) if k]


def free_failures(key: str) -> int:
    """How many failures ``key`` has before it waits (read at call time: tests may change FREE_FAILURES)."""
    return FREE_FAILURES * SHARED_ADDRESS_FACTOR if key.startswith("addr:") else FREE_FAILURES


def check(session: Session, counted: list[str], now: dt.datetime | None = None) -> None:
    """TooManyAttempts (with the seconds to wait) if any of ``counted`` is blocked now."""
    now = now or utcnow()
    blocked = [as_utc(until) for until in session.scalars(select(LoginFailure.blocked_until).where(
        LoginFailure.key.in_(counted), LoginFailure.blocked_until > now)) if until is not None]
    if blocked:
        until = max(blocked)
        raise TooManyAttempts(max(1, int((until - now).total_seconds() + 0.999)))


def failed(session: Session, counted: list[str], now: dt.datetime | None = None) -> None:
    """Count a failure against each key; past its free failures the key is blocked for a doubling time."""
    now = now or utcnow()
    for key in counted:
        failures = _count(session, key, now)
        if failures > free_failures(key):
            _block(session, key, now + min(MAX_WAIT, dt.timedelta(seconds=2 ** min(failures - free_failures(key), 20))))


def _count(session: Session, key: str, now: dt.datetime) -> int:
    """One more failure for ``key`` (the first of a new count if it was quiet for FORGET_AFTER), in one statement."""
    stale = or_(LoginFailure.last_failed.is_(None), LoginFailure.last_failed < now - FORGET_AFTER)
    statement = insert_for(session, LoginFailure).values(key=key, failures=1, blocked_until=None, last_failed=now)
    return session.scalar(statement.on_conflict_do_update(
        index_elements=[LoginFailure.key],
        set_={"failures": case((stale, 1), else_=LoginFailure.failures + 1), "last_failed": now},
    ).returning(LoginFailure.failures))


def _block(session: Session, key: str, until: dt.datetime) -> None:
    """Block ``key`` until ``until`` unless it already waits longer (of concurrent failures, the longest wait stays)."""
    session.execute(update(LoginFailure).where(
        LoginFailure.key == key, or_(LoginFailure.blocked_until.is_(None), LoginFailure.blocked_until < until),
    ).values(blocked_until=until))


def succeeded(session: Session, user_name: str) -> None:
    """A correct password clears the account's count (the address's count stays: it may be guessing others)."""
    session.execute(delete(LoginFailure).where(LoginFailure.key.in_(keys(user_name, None))))


def client_address(peer: str | None, forwarded_for: Iterable[str], trusted: Sequence[Network]) -> str | None:
    """The address a request is counted against. ``peer`` is the connection's own address; only when it is one of
    the ``trusted`` proxies are the ``X-Forwarded-For`` values read, and then the client is the right-most address
    in them that is not itself a trusted proxy (each proxy appends the address it was called from, so addresses to
    the left of that are whatever the client chose to send). With every hop trusted, the left-most is taken, as
    uvicorn does (it runs the app under ``streamlit run``)."""
    if not trusted or not _trusted(peer, trusted):
        return peer
    hops = [hop.strip() for value in forwarded_for for hop in value.split(",") if hop.strip()]
    client = next((hop for hop in reversed(hops) if not _trusted(hop, trusted)), hops[0] if hops else None)
    if client is None:
        return peer
    parsed = _parse(client)
    return str(parsed) if parsed is not None else client[:100]


def _trusted(host: str | None, trusted: Sequence[Network]) -> bool:
    address = _parse(host)
    return address is not None and any(address in network for network in trusted)


def _parse(host: str | None) -> Address | None:
    """An address as proxies write it (``1.2.3.4``, ``1.2.3.4:5678``, ``[::1]:5678``, ``::ffff:1.2.3.4``); None if
    it is none (``unknown``, an obfuscated name)."""
    text = (host or "").strip()
    if text.startswith("[") and "]" in text:
        text = text[1:text.index("]")]
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    mapped = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
    return mapped or address
