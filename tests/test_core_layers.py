"""The folder tree is the map: each package of core/ imports only the layers below it (its __init__ says which),
so store knows no domain, no domain knows the API, the pages' glue or the command line."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parent.parent / "core"
BASE = {"errors", "__version__"}
ALLOWED = {
    "store": {"store"},
    "accounts": {"accounts", "store"},
    "audio": {"audio", "store"},
    # core.team.visibility (the blind rule) imports only store and accounts: the catalogue and annotations use it
    "catalogue": {"catalogue", "store", "accounts", "audio", "team"},
    "annotations": {"annotations", "store", "accounts", "catalogue", "team"},
    "team": {"team", "store", "accounts", "catalogue", "annotations"},
    "ingest": {"ingest", "store", "accounts", "audio", "catalogue"},
    "export": {"export", "store", "accounts", "catalogue", "annotations", "team"},
    "jobs": {"jobs", "store", "accounts", "audio", "catalogue", "annotations", "context"},
    "api": {"api", "store", "accounts", "audio", "catalogue", "annotations", "ingest", "export", "jobs", "context", "team"},
    "ui": {"ui", "store", "accounts", "audio", "catalogue", "annotations", "ingest", "export", "jobs", "context", "team"},
}


def _imported(path: Path) -> set[str]:
    """The top-level parts of core that a module imports (``core.catalogue.sounds`` -> ``catalogue``)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "core":
            parts = node.module.split(".")
            found |= {parts[1]} if len(parts) > 1 else {alias.name for alias in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("core.")}
    return found


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_each_package_imports_only_the_layers_below_it(package):
    modules = sorted((CORE / package).rglob("*.py"))
    assert modules, f"core/{package} has no modules"
    wrong = {f"{m.relative_to(CORE)} imports core.{name}" for m in modules for name in _imported(m) - ALLOWED[package] - BASE}
    assert not wrong, sorted(wrong)


def test_every_package_says_what_it_owns_and_may_import():
    for package in ALLOWED:
        doc = ast.get_docstring(ast.parse((CORE / package / "__init__.py").read_text())) or ""
        assert "May import" in doc and len(doc.split()) > 12, package


def test_no_product_module_is_left_loose_in_core():
    loose = {p.name for p in CORE.glob("*.py")}
    assert loose == {"__init__.py", "__main__.py", "cli.py", "client.py", "context.py", "errors.py"}
