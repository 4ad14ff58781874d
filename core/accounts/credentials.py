"""Who is calling the HTTP API: HTTP Basic with the UI's accounts, a revocable API token (Bearer), or a page
token (Bearer ``page.``): short-lived, signed (core.accounts.tokens, its own kind), handed by a page to its own
scripts (the waveform component) so they act as the logged-in person without the password ever reaching them.
A page token is no login: it ends at logout, password change and deactivation, and the API lets it call only
the routes those scripts need (core.api.deps).

bcrypt is slow on purpose; a bot making many requests would spend its time hashing, so a successful Basic check
is remembered for a short while (keyed by the sha256 of the credentials, never the password itself), together
with the password hash it was checked against. A deactivated account, a revoked token or a changed password
stops working at once: the account is loaded on every request, and a remembered check counts only while the
account's password hash is still the one it was made against.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import secrets
import threading
import time
from collections.abc import Callable

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from core.accounts import throttle, tokens
from core.accounts.permissions import Action, require
from core.accounts.users import UserService
from core.errors import AuthenticationFailed, PermissionDenied, ValidationError
from core.store.db import Database, get_or_not_found
from core.store.models import ApiToken, User, as_utc, utcnow

TOKEN_PREFIX = "em_"
PAGE_TOKEN_PREFIX = "page."
PAGE_TOKEN_SECONDS = 3600  # a page open longer than this asks for a new one when it reruns
BASIC_CACHE_SECONDS = 300
LAST_USED_GRANULARITY = dt.timedelta(seconds=60)  # an API token's last_used is kept to the minute


class _BasicCache:
    def __init__(self) -> None:
        self.entries: dict[str, tuple[str, str, float]] = {}
        self.lock = threading.Lock()

    def get(self, digest: str) -> tuple[str, str] | None:
        """(user id, the password hash the credentials were checked against), while fresh."""
        with self.lock:
            found = self.entries.get(digest)
            if found and found[2] > time.monotonic():
                return found[0], found[1]
            self.entries.pop(digest, None)
            return None

    def put(self, digest: str, user: User) -> None:
        with self.lock:
            if len(self.entries) > 10_000:
                self.entries.clear()
            self.entries[digest] = (user.id, user.password_hash, time.monotonic() + BASIC_CACHE_SECONDS)


BASIC_CACHE = _BasicCache()


def _active(session: Session, user_id: str) -> User:
    user = session.get(User, user_id)
    if user is None or not user.is_active:
        raise AuthenticationFailed("This account does not exist or is deactivated.")
    return user


def authenticate(db: Database, authorization: str | None, address: str | None = None,
                 page_key: Callable[[], str] | None = None) -> User:
    """The user an ``Authorization`` header names; AuthenticationFailed (401) if none or wrong, TooManyAttempts
    after repeated wrong passwords for that account or from that ``address``. Page tokens are accepted only
    with ``page_key``, which gives the key they are signed with (read only when one is presented)."""
    if not authorization:
        raise AuthenticationFailed("Authentication required: HTTP Basic (user name and password) or Bearer token.")
    scheme, _, value = authorization.strip().partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer" and value.startswith(PAGE_TOKEN_PREFIX):
        return _by_page_token(db, value.removeprefix(PAGE_TOKEN_PREFIX), page_key)
    if scheme.lower() == "bearer":
        return _by_token(db, value)
    if scheme.lower() == "basic":
        return _by_password(db, value, address)
    raise AuthenticationFailed(f"Unsupported authorization scheme {scheme!r}: use Basic or Bearer.")


def _by_password(db: Database, encoded: str, address: str | None) -> User:
    digest = hashlib.sha256(encoded.encode()).hexdigest()
    with db.read() as session:
        cached = BASIC_CACHE.get(digest)
        if cached:
            user = _active(session, cached[0])
            if user.password_hash == cached[1]:
                return user  # else the password was changed since: check these credentials again
    try:
        name, _, password = base64.b64decode(encoded).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        raise AuthenticationFailed("The Basic credentials are not valid base64 of name:password.") from None
    user = check_password(db, name, password, address)
    BASIC_CACHE.put(digest, user)
    return user


def check_password(db: Database, name: str, password: str, address: str | None) -> User:
    """The account ``name`` if ``password`` is its password, throttled: TooManyAttempts while the account or
    ``address`` is blocked, AuthenticationFailed (and one more failure counted) if wrong. The pages' login form
    and HTTP Basic both come through here, so guessing costs the same wherever it is tried."""
    counted = throttle.keys(name, address)
    refused: AuthenticationFailed | None = None
    with db.write() as session:  # the failure is committed even though the login is refused
        throttle.check(session, counted)
        try:
            user = UserService(session).authenticate(name, password)
            throttle.succeeded(session, name)
        except AuthenticationFailed as exc:
            throttle.failed(session, counted)
            refused = exc
    if refused is not None:
        raise refused
    return user


def _by_token(db: Database, token: str) -> User:
    """The token's user. Its ``last_used`` is kept to the minute: a bot sending many requests a second writes it
    once a minute, not once a request (a write transaction each, one at a time on SQLite)."""
    digest = hashlib.sha256(token.encode()).hexdigest()
    with db.read() as session:
        record = session.scalar(select(ApiToken).where(ApiToken.token_sha256 == digest))
        if record is None or record.revoked:
            raise AuthenticationFailed("This API token is not valid (unknown or revoked).")
        user = _active(session, record.user_id)
        token_id, last_used = record.id, record.last_used
    now = utcnow()
    if last_used is None or as_utc(last_used) < now - LAST_USED_GRANULARITY:
        stale = or_(ApiToken.last_used.is_(None), ApiToken.last_used < now - LAST_USED_GRANULARITY)
        with db.write() as session:  # conditional: of concurrent requests, the first one writes it
            session.execute(update(ApiToken).where(ApiToken.id == token_id, stale).values(last_used=now))
    return user


def page_token(user: User, key: str, ttl_seconds: int = PAGE_TOKEN_SECONDS) -> str:
    """A Bearer value for a page's own scripts, good for ``ttl_seconds`` and until ``user`` logs out, changes
    their password or is deactivated (``user`` as just read: its ``token_generation`` goes into the token)."""
    return PAGE_TOKEN_PREFIX + tokens.sign(tokens.Kind.PAGE, user, {}, key, ttl_seconds)


def is_page_token(authorization: str | None) -> bool:
    """Whether an ``Authorization`` header presents a page token (the API lets those call only page routes)."""
    scheme, _, value = (authorization or "").strip().partition(" ")
    return scheme.lower() == "bearer" and value.strip().startswith(PAGE_TOKEN_PREFIX)


def _by_page_token(db: Database, token: str, key: Callable[[], str] | None) -> User:
    if key is None:
        raise AuthenticationFailed("Page tokens are not accepted here.")
    try:
        payload = tokens.verify(tokens.Kind.PAGE, token, key())
        with db.read() as session:
            return tokens.holder(session, payload)
    except PermissionDenied as exc:  # forged, of another kind, expired or ended: a credential problem, so a 401
        raise AuthenticationFailed(str(exc)) from None


class TokenService:
    """API tokens: a user makes and revokes their own (administrators: anyone's)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def create(self, actor: User, user_id: str, name: str) -> tuple[ApiToken, str]:
        """A new token; the secret is returned once and never stored."""
        require(actor, Action.MANAGE_USER, owner_id=user_id)
        name = (name or "").strip()
        if not name:
            raise ValidationError("name", "Give the token a name (e.g. the bot that will use it).")
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        token = ApiToken(user_id=user_id, name=name[:128], token_sha256=hashlib.sha256(secret.encode()).hexdigest())
        self.session.add(token)
        self.session.flush()
        return token, secret

    def list(self, actor: User, user_id: str) -> list[ApiToken]:
        require(actor, Action.MANAGE_USER, owner_id=user_id)
        return list(self.session.scalars(select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.id)))

    def revoke(self, actor: User, token_id: str) -> None:
        token = get_or_not_found(self.session, ApiToken, token_id, "API token")
        require(actor, Action.MANAGE_USER, owner_id=token.user_id)
        token.revoked = True
        self.session.flush()

