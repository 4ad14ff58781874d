"""The Python client, kept importable as ``core.client`` for code written before it became a package of its own:
everything here is earmark_client's (earmark_client/client.py), which a script on another machine installs with
``pip install`` of this repository (pyproject.toml)."""

from earmark_client import *  # noqa: F403
from earmark_client import __all__  # noqa: F401
