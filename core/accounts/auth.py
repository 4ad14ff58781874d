"""Passwords and the login cookie's key. Passwords exist only as bcrypt hashes."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import bcrypt

from core.errors import ConfigError, ValidationError
from core.store.config import Settings

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_BYTES = 72  # bcrypt ignores (5.x: refuses) anything longer
BCRYPT_ROUNDS = 12  # ~0.25 s per hash here: slow for guessing, fine for a login (tests lower it)


def check_password_rules(password: str, field: str = "password") -> None:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(field, f"The {field} must be at least {MIN_PASSWORD_LENGTH} characters long.")
    if len(password.encode()) > MAX_PASSWORD_BYTES:
        raise ValidationError(field, f"The {field} must be at most {MAX_PASSWORD_BYTES} bytes long.")


def check_repeated(password: str, repeat: str) -> None:
    """The password typed twice must match (forms and the command line ask twice)."""
    if password != repeat:
        raise ValidationError("password", "The two passwords differ.")


def hash_password(password: str) -> str:
    check_password_rules(password)
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(BCRYPT_ROUNDS)).decode()


_dummy_hashes: dict[int, str] = {}


def spend_a_check(password: str) -> None:
    """Check ``password`` against a hash no account has, so an unknown name costs what a known one does (a
    quick "no" would tell a guesser which names exist)."""
    dummy = _dummy_hashes.get(BCRYPT_ROUNDS) or _dummy_hashes.setdefault(
        BCRYPT_ROUNDS, bcrypt.hashpw(b"no account has this password", bcrypt.gensalt(BCRYPT_ROUNDS)).decode())
    verify_password(password, dummy)


def verify_password(password: str, password_hash: str) -> bool:
    try:
        return bcrypt.checkpw(password.encode(), password_hash.encode())
    except ValueError:  # malformed hash, or a password over 72 bytes
        return False


def unusable_password_hash() -> str:
    """A hash no password matches: for accounts (e.g. the demo dataset) that nobody logs into until reset."""
    return "!" + secrets.token_hex(16)


def cookie_key(settings: Settings) -> str:
    """The key that signs login cookies and file links: ``EARMARK_COOKIE_KEY`` when set (every replica of a team
    server must share it, or a request sent to another replica is logged out), else the data folder's own."""
    return settings.cookie_key or kept_key(settings.cookie_key_path)


def kept_key(path: Path) -> str:
    """A random key, made on first start and kept (mode 0600) at ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # one process wins the first start
    except FileExistsError:
        key = path.read_text().strip()
        if len(key) < 32:
            raise ConfigError("EARMARK_DATA_DIR", f"The login cookie key {path} is damaged: delete it to make a new one.") from None
        return key
    key = secrets.token_urlsafe(48)
    with os.fdopen(fd, "w") as f:
        f.write(key)
    return key
