"""Settings: the one place that reads the environment (and a ``.env`` file).

Every setting of README.md's Settings table is a field of :class:`Settings`. A bad value raises :class:`ConfigError`
naming the setting, so the app can stop with one clear sentence instead of a traceback.
"""

from __future__ import annotations

import functools
import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from dotenv import dotenv_values

from core.errors import ConfigError

STORAGE_SCHEMES = ("file", "s3")


@dataclass(frozen=True)
class SourceSettings:
    """The endpoint and credentials for reading buckets registered in place (``EARMARK_SOURCE_*``), which may
    differ from those of Earmark's own storage: read-only credentials suffice. Unset credentials mean boto3's
    chain (the same as Earmark's own)."""

    s3_endpoint_url: str | None
    s3_anonymous: bool
    aws_region: str | None
    access_key_id: str | None = None
    secret_access_key: str | None = field(default=None, repr=False)  # never printed
    session_token: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    storage_url: str
    s3_endpoint_url: str | None
    s3_anonymous: bool
    aws_region: str | None
    admin_user: str | None
    admin_password: str | None
    max_upload_mb: int
    workers: int
    cookie_key: str | None = None
    source: SourceSettings | None = None  # how registered buckets are reached; None: as Earmark's own storage
    trusted_proxies: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()  # whose X-Forwarded-For is believed

    @property
    def source_access(self) -> SourceSettings:
        """How registered sources are read: their own settings where given, else Earmark's own S3 settings."""
        return self.source or SourceSettings(self.s3_endpoint_url, self.s3_anonymous, self.aws_region)

    @property
    def max_upload_bytes(self) -> int:
        return self.max_upload_mb * 1024 * 1024

    @property
    def cookie_key_path(self) -> Path:
        """Where the login cookie's signing key lives (made on first start, never a default)."""
        return self.data_dir / "cookie_key"


def _int(env: Mapping[str, str], name: str, default: int, minimum: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(name, f"{name} must be a whole number, not {raw!r}.") from None
    if value < minimum:
        raise ConfigError(name, f"{name} must be at least {minimum}, not {value}.")
    return value


def _flag(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(name, "0").strip().lower() or "0"
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ConfigError(name, f"{name} must be 0 or 1, not {raw!r}.")


def _storage_url(env: Mapping[str, str], data_dir: Path) -> str:
    url = env.get("EARMARK_STORAGE_URL", "").strip() or f"file://{data_dir / 'objects'}"
    parsed = urlparse(url)
    if parsed.scheme not in STORAGE_SCHEMES:
        raise ConfigError(
            "EARMARK_STORAGE_URL",
            f"EARMARK_STORAGE_URL must start with file:// or s3://, not {url!r}.",
        )
    if parsed.scheme == "s3" and not parsed.netloc:
        raise ConfigError("EARMARK_STORAGE_URL", f"EARMARK_STORAGE_URL {url!r} names no bucket (s3://bucket/prefix).")
    if parsed.scheme == "file" and not (parsed.netloc + parsed.path):
        raise ConfigError("EARMARK_STORAGE_URL", f"EARMARK_STORAGE_URL {url!r} names no folder.")
    return url


def _database_url(env: Mapping[str, str], data_dir: Path) -> str:
    url = env.get("EARMARK_DATABASE_URL", "").strip() or f"sqlite:///{data_dir / 'earmark.db'}"
    if "://" not in url:
        raise ConfigError(
            "EARMARK_DATABASE_URL",
            "EARMARK_DATABASE_URL must be a SQLAlchemy URL such as sqlite:///path/earmark.db or "
            "postgresql+psycopg://user:password@host/db (the value set has no ://; it is not repeated here, it may hold a password).",
        )
    return url


MIN_COOKIE_KEY = 32


def _cookie_key(env: Mapping[str, str]) -> str | None:
    key = env.get("EARMARK_COOKIE_KEY", "").strip() or None
    if key is not None and len(key) < MIN_COOKIE_KEY:
        raise ConfigError("EARMARK_COOKIE_KEY", f"EARMARK_COOKIE_KEY must be at least {MIN_COOKIE_KEY} characters long "
                                                f"(it has {len(key)}); make one with: python -c \"import secrets; print(secrets.token_urlsafe(48))\"")
    return key


def _networks(env: Mapping[str, str], name: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """Comma-separated IP addresses or CIDR networks (an address is a network of one); none when unset. Names are
    refused rather than looked up: what a name resolves to can change under a running server."""
    networks = []
    for item in (part.strip() for part in env.get(name, "").split(",")):
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ConfigError(name, f"{name} must list IP addresses or networks separated by commas (such as "
                                    f"10.0.0.5,192.168.0.0/16), and {item[:60]!r} is neither.") from None
    return tuple(networks)


_SOURCE_SETTINGS = ("EARMARK_SOURCE_S3_ENDPOINT_URL", "EARMARK_SOURCE_S3_ANONYMOUS", "EARMARK_SOURCE_AWS_REGION",
                    "EARMARK_SOURCE_AWS_ACCESS_KEY_ID", "EARMARK_SOURCE_AWS_SECRET_ACCESS_KEY", "EARMARK_SOURCE_AWS_SESSION_TOKEN")


def _source(env: Mapping[str, str], own_endpoint: str | None, own_anonymous: bool, own_region: str | None) -> SourceSettings | None:
    """The ``EARMARK_SOURCE_*`` settings, each defaulting to its counterpart for Earmark's own storage; None when
    none is set."""
    given = {name: env.get(name, "").strip() for name in _SOURCE_SETTINGS}
    if not any(given.values()):
        return None
    key_id, secret = given["EARMARK_SOURCE_AWS_ACCESS_KEY_ID"] or None, given["EARMARK_SOURCE_AWS_SECRET_ACCESS_KEY"] or None
    if bool(key_id) != bool(secret):
        missing = "EARMARK_SOURCE_AWS_SECRET_ACCESS_KEY" if key_id else "EARMARK_SOURCE_AWS_ACCESS_KEY_ID"
        raise ConfigError(missing, f"{missing} must be set together with the other of the pair.")
    return SourceSettings(
        s3_endpoint_url=given["EARMARK_SOURCE_S3_ENDPOINT_URL"] or own_endpoint,
        s3_anonymous=_flag(env, "EARMARK_SOURCE_S3_ANONYMOUS") if given["EARMARK_SOURCE_S3_ANONYMOUS"] else own_anonymous,
        aws_region=given["EARMARK_SOURCE_AWS_REGION"] or own_region,
        access_key_id=key_id, secret_access_key=secret, session_token=given["EARMARK_SOURCE_AWS_SESSION_TOKEN"] or None,
    )


def load_settings(environ: Mapping[str, str] | None = None, env_file: str | Path | None = ".env") -> Settings:
    """Settings from ``environ`` (default: the process environment) over the values of ``env_file``."""
    env: dict[str, str] = {}
    if env_file and Path(env_file).is_file():
        env.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    env.update(os.environ if environ is None else environ)
    data_dir = Path(env.get("EARMARK_DATA_DIR", "").strip() or "./earmark-data").expanduser().absolute()
    admin_user = env.get("EARMARK_ADMIN_USER", "").strip() or None
    admin_password = env.get("EARMARK_ADMIN_PASSWORD") or None
    if bool(admin_user) != bool(admin_password):
        missing = "EARMARK_ADMIN_PASSWORD" if admin_user else "EARMARK_ADMIN_USER"
        raise ConfigError(missing, f"{missing} must be set together with the other EARMARK_ADMIN_ setting.")
    s3_endpoint_url = env.get("EARMARK_S3_ENDPOINT_URL", "").strip() or None
    s3_anonymous = _flag(env, "EARMARK_S3_ANONYMOUS")
    aws_region = env.get("AWS_REGION", "").strip() or env.get("AWS_DEFAULT_REGION", "").strip() or None
    return Settings(
        data_dir=data_dir,
        database_url=_database_url(env, data_dir),
        storage_url=_storage_url(env, data_dir),
        s3_endpoint_url=s3_endpoint_url,
        s3_anonymous=s3_anonymous,
        aws_region=aws_region,
        admin_user=admin_user,
        admin_password=admin_password,
        max_upload_mb=_int(env, "EARMARK_MAX_UPLOAD_MB", 512, 1),
        workers=_int(env, "EARMARK_WORKERS", 1, 0),
        cookie_key=_cookie_key(env),
        source=_source(env, s3_endpoint_url, s3_anonymous, aws_region),
        trusted_proxies=_networks(env, "EARMARK_TRUSTED_PROXIES"),
    )


@functools.cache
def settings() -> Settings:
    """The process's settings, read once. Tests call ``settings.cache_clear()`` after changing the environment."""
    return load_settings()
