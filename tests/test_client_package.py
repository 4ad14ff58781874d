"""The Python client as a package (pyproject.toml, earmark_client/): its models are the server's OpenAPI models,
it imports nothing of the server's, and a fresh virtual environment with nothing but the package installed runs
README's example as written against the real app, from a folder outside the repository."""

from __future__ import annotations

import ast
import email.parser
import importlib.metadata
import io
import os
import re
import subprocess
import sys
import tomllib
import zipfile
from enum import StrEnum
from pathlib import Path
from typing import Any

import pydantic
import pytest
import soundfile as sf
from packaging.requirements import Requirement

from earmark_client import models
from tests.conftest import E2E_ADMIN, E2E_PASSWORD, ROOT, E2EServer
from tests.speechlike import recording

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PACKAGE = ROOT / "earmark_client"
IGNORED_KEYS = {"title", "description", "default", "examples"}  # words, not shape


def _shape(schema: Any) -> Any:
    """A JSON schema without its words, with references by model name (FastAPI may suffix "-Output")."""
    if isinstance(schema, dict):
        shape = {k: _shape(v) for k, v in schema.items() if k not in IGNORED_KEYS}
        if "$ref" in shape:
            shape["$ref"] = shape["$ref"].rsplit("/", 1)[-1].removesuffix("-Output")
        return shape
    if isinstance(schema, list):
        return [_shape(item) for item in schema]
    return schema


def _server_components() -> dict[str, Any]:
    from core.api.app import create_app

    schemas = create_app().openapi()["components"]["schemas"]
    return {name.removesuffix("-Output"): schema for name, schema in schemas.items() if not name.endswith("-Input")}


def _client_components() -> dict[str, Any]:
    """Every model the client mirrors, and the models and enums they refer to, as JSON schemas."""
    found: dict[str, Any] = {}
    for model in models.MIRRORED:
        if issubclass(model, StrEnum):
            found[model.__name__] = {"type": "string", "enum": [m.value for m in model]}
            continue
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        found |= schema.pop("$defs", {}) | {model.__name__: schema}
    for schema in found.values():  # the client keeps fields a newer server adds: leniency, not shape
        if "properties" in schema:
            assert schema.pop("additionalProperties") is True
    return found


def test_the_client_models_are_the_servers_openapi_models():
    """Each model of earmark_client/models.py has the fields, types and required fields of the server's model of
    the same name in the OpenAPI document: a field added, removed or retyped on either side fails here."""
    server, client = _server_components(), _client_components()
    assert set(client) <= set(server), f"client models the server does not have: {sorted(set(client) - set(server))}"
    for name, schema in client.items():
        assert _shape(schema) == _shape(server[name]), name
    drifted = pydantic.create_model("SoundOut", __base__=models.SoundOut, channels=(str | None, ...)).model_json_schema()
    del drifted["additionalProperties"]
    assert _shape(drifted) != _shape(server["SoundOut"]), "a retyped field would be seen"
    answers = {"Totals", "UserOut", "SoundOut", "AnnotationOut", "Peaks", "FileRecord", "Uploaded", "AnalyzerOut",
               "JobOut", "JobState", "JobResults", "ResultSound", "ResultAnnotation"}
    assert answers <= set(client), "every answer the client returns is checked"


def test_job_states_and_finished_are_the_servers():
    from core.jobs import states

    assert [(s.name, s.value) for s in models.JobState] == [(s.name, s.value) for s in states.JobState]
    assert {s.value for s in models.FINISHED} == {s.value for s in states.FINISHED}


def test_ingest_statuses_are_the_servers():
    """The client's IngestStatus is core/ingest/states.py's (the document holds only an upload's two, checked with
    Uploaded above); a refused file of upload_folder says ``refused`` where an uploaded one says stored or duplicate."""
    from core.ingest.states import IngestStatus
    from earmark_client import UploadRefused

    assert [(s.name, s.value) for s in models.IngestStatus] == [(s.name, s.value) for s in IngestStatus]
    refused = UploadRefused(file="notes.wav", error="notes.wav is not decodable audio", http_status=400)
    assert (refused.status, refused["http_status"], refused.sound_id) == (models.IngestStatus.REFUSED, 400, None)


def test_answers_read_by_attribute_and_by_key():
    totals = models.Totals(totalSounds=1, totalAnnotations=2, totalUsers=3, since="a newer server's field")
    assert (totals.totalSounds, totals["totalUsers"], totals.get("nope", 9), totals["since"]) == (1, 3, 9, "a newer server's field")
    assert "totalAnnotations" in totals and "nope" not in totals
    assert totals == {"totalSounds": 1, "totalAnnotations": 2, "totalUsers": 3, "since": "a newer server's field"}
    with pytest.raises(KeyError):
        totals["nope"]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    names |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module and n.level == 0}
    return {name.split(".")[0] for name in names}


def test_the_package_needs_only_its_own_short_list():
    """No module of the package imports the server (core) or its libraries; its dependencies are httpx2 and
    pydantic, within ranges that hold the versions requirements.txt pins for the app."""
    imported = set().union(*(_imports(p) for p in PACKAGE.glob("*.py")))
    assert imported - sys.stdlib_module_names == {"earmark_client", "httpx2", "pydantic"}
    needs = [Requirement(r) for r in PYPROJECT["project"]["dependencies"]]
    assert {r.name for r in needs} == {"httpx2", "pydantic"}
    pins = dict(re.findall(r"^([A-Za-z0-9_.-]+)==([^\s#]+)", (ROOT / "requirements.txt").read_text(), re.MULTILINE))
    for need in needs:
        assert need.specifier.contains(pins[need.name]), f"{need} does not allow requirements.txt's {pins[need.name]}"


def test_pyproject_leaves_the_tests_and_lint_settings_where_they_are():
    """pytest reads pytest.ini and ruff ruff.toml; a [tool.pytest] or [tool.ruff] here would compete with them."""
    assert not {"pytest", "ruff"} & set(PYPROJECT.get("tool", {}))
    assert (ROOT / "pytest.ini").exists() and (ROOT / "ruff.toml").exists()


# -- installed in a fresh virtual environment, against the real app ------------------------------------------

def _closure(names: list[str]) -> list[importlib.metadata.Distribution]:
    """The installed distributions ``names`` need, with theirs (extras left out)."""
    seen: dict[str, importlib.metadata.Distribution] = {}
    todo = [Requirement(n) for n in names]
    while todo:
        need = todo.pop()
        key = re.sub(r"[-_.]+", "-", need.name).lower()
        if key in seen or (need.marker and not need.marker.evaluate({"extra": ""})):
            continue
        seen[key] = importlib.metadata.distribution(need.name)
        todo += [Requirement(r) for r in seen[key].requires or []]
    return list(seen.values())


def _wheel_of(dist: importlib.metadata.Distribution, folder: Path) -> Path:
    """An installed distribution packed back into a wheel (its RECORD lists its files, its WHEEL file its tag), so
    the virtual environment installs the very versions this one runs, without the network."""
    tag = email.parser.Parser().parsestr(dist.read_text("WHEEL") or "").get_all("Tag", [])[0]
    name = re.sub(r"[-_.]+", "_", dist.metadata["Name"])
    wheel = folder / f"{name}-{dist.version}-{tag}.whl"
    skipped = {"INSTALLER", "REQUESTED", "direct_url.json"}
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for file in dist.files or []:
            path = Path(str(dist.locate_file(file)))
            if file.parts[0] == ".." or "__pycache__" in file.parts or file.name in skipped or not path.is_file():
                continue
            archive.write(path, file.as_posix())
    return wheel


def _fresh_venv(folder: Path) -> Path:
    """A plain virtual environment (no system site-packages) with the client installed from this checkout as
    README says (``pip install path/to/earmark``), offline: the build backend and dependencies come from a folder
    of wheels packed from this environment. Made without pip of its own (ensurepip takes ~15 s here): this pip
    installs into it (``--python``). Its python."""
    wheels = folder / "wheels"
    wheels.mkdir()
    try:
        needed = _closure([*PYPROJECT["project"]["dependencies"], *PYPROJECT["build-system"]["requires"]])
    except importlib.metadata.PackageNotFoundError as exc:
        pytest.fail(f"{exc} is not installed: pip install -r requirements.txt")
    for dist in needed:
        _wheel_of(dist, wheels)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder / "venv")], check=True)
    python = folder / "venv" / "bin" / "python"
    done = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-index",
                           "--find-links", str(wheels), "--disable-pip-version-check", str(ROOT)],
                          capture_output=True, text=True, timeout=300, env=_clean_env())
    assert done.returncode == 0, done.stderr
    return python


def _clean_env() -> dict[str, str]:
    """This environment without what would let the venv see the repository or this interpreter's packages."""
    return {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "PYTHONHOME", "PIP_REQUIRE_VIRTUALENV"}}


def _token(server: E2EServer, user_name: str) -> str:
    """A Bearer token for ``user_name``, made as the Users page makes one."""
    from core.accounts.credentials import TokenService
    from core.accounts.users import UserService
    from core.context import open_earmark
    from core.store.config import load_settings

    settings = {"EARMARK_DATA_DIR": str(server.data_dir)} | ({"EARMARK_DATABASE_URL": server.database_url} if server.database_url else {})
    app = open_earmark(load_settings(settings, env_file=None), check_storage=False)
    with app.db.write() as session:
        user = UserService(session).by_name(user_name)
        return TokenService(session).create(user, user.id, "README example")[1]


def _readme_example(server: str, token: str) -> str:
    """README's Python client example, with only the server's URL and the token changed."""
    section = (ROOT / "README.md").read_text().split("A Python client comes with it", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    assert 'Client("http://localhost:8501", token="em_...")' in code and "from earmark_client import Client" in code
    return code.replace("http://localhost:8501", server).replace("em_...", token)


def test_readme_example_runs_from_a_fresh_virtualenv(server, tmp_path):
    from core.client import Client

    python = _fresh_venv(tmp_path)
    work = tmp_path / "elsewhere"
    (work / "recordings" / "day1").mkdir(parents=True)
    for seed, name in ((1, "recordings/a.wav"), (2, "recordings/day1/b.wav")):
        talk = recording(seed, "clean", seconds=8.0)
        sf.write(work / name, talk.samples, talk.rate)
    (work / "recordings" / "notes.wav").write_text("not audio")  # refused: the example skips it
    script = work / "review.py"
    with Client(server, user=E2E_ADMIN, password=E2E_PASSWORD) as admin:
        admin.create_user("fieldbot", "fieldbot-password-1", "dataset")
    script.write_text(_readme_example(server, _token(server, "fieldbot")))

    alone = subprocess.run([str(python), "-c", "import importlib.util as u; print([n for n in ('core', 'streamlit', "
                            "'sqlalchemy', 'tests') if u.find_spec(n)])"], cwd=work, env=_clean_env(), capture_output=True, text=True)
    assert alone.stdout.strip() == "[]", alone.stderr  # nothing of the server's is importable there
    ran = subprocess.run([str(python), str(script)], cwd=work, env=_clean_env(), capture_output=True, text=True, timeout=180)
    assert ran.returncode == 0, ran.stderr

    with Client(server, user=E2E_ADMIN, password=E2E_PASSWORD) as admin:
        sounds = list(admin.sounds(dataset="field"))
        assert sorted(s.path for s in sounds) == ["a.wav", "day1/b.wav"]
        for sound in sounds:
            notes = list(admin.annotations(sound.id))
            assert not [n for n in notes if n.source], "every suggestion of the analysed sounds was reviewed"
            assert any(n.tags == ["speech"] for n in notes) and any(n.tags == ["onset"] for n in notes)
    subset = zipfile.ZipFile(io.BytesIO((work / "subset.zip").read_bytes()))
    assert sorted(n for n in subset.namelist() if n.startswith("audio/")) == ["audio/a.wav", "audio/day1/b.wav"]
