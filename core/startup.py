"""Start-up checks for the server: a wrong setting stops it with one sentence, not a traceback."""

from __future__ import annotations

import sys

from core.config import settings
from core.context import open_earmark
from core.errors import ConfigError


def check_settings_or_exit() -> None:
    """Open database and storage once before serving; on a bad setting print why and exit with status 1."""
    try:
        earmark = open_earmark(settings())
        earmark.db.dispose()
    except ConfigError as exc:
        print(f"Earmark cannot start: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
