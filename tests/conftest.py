"""Fixtures: every test gets a fresh data folder; storage tests run on both backends; data is built with the
same core code the product uses."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from core.accounts.users import UserService
from core.context import Earmark, open_earmark
from core.store import config
from core.store.db import Database, scratch_schema
from core.store.models import User
from core.store.storage import LocalStorage, S3Storage, Storage

ROOT = Path(__file__).resolve().parent.parent
ADMIN_PASSWORD = "admin-password-1"
USER_PASSWORD = "user-password-1"
S3_BUCKET = "earmark-test"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: end-to-end test in headless Chromium (run alone with -m browser)")


@pytest.fixture(autouse=True)
def _fast_bcrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real bcrypt hashes, at the lowest cost: the suite hashes hundreds of passwords."""
    from core.accounts import auth
    monkeypatch.setattr(auth, "BCRYPT_ROUNDS", 4)


TEST_DATABASE_URL = os.environ.get("EARMARK_TEST_DATABASE_URL", "").strip() or None
ON_POSTGRES = bool(TEST_DATABASE_URL)
sqlite_only = pytest.mark.skipif(ON_POSTGRES, reason="about SQLite itself (its files, pragmas or FTS5)")


@pytest.fixture(autouse=True, scope="session")
def _fresh_schema_replayed() -> Iterator[None]:
    """Empty test databases reach the newest revision by replaying the session's first real migration
    (tests/fresh_schema.py says why and what still migrates for real)."""
    from core.store import migrate
    from tests.fresh_schema import FreshSchema

    if os.environ.get("EARMARK_TEST_MIGRATE_EACH"):  # every test's database migrated for real, as before
        yield
        return
    if TEST_DATABASE_URL:
        _extensions_in_public(TEST_DATABASE_URL)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(migrate, "_upgrade", FreshSchema(migrate._upgrade).upgrade)
        yield


def _extensions_in_public(server_url: str) -> None:
    """pg_trgm in ``public``, where the test schemas' search path finds it, before any test's migration: on a new
    server the first migration would otherwise create it in that test's schema, which is dropped with it."""
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    engine = create_engine(server_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with engine.connect() as connection:
        connection.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public")
    engine.dispose()


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh data folder, a fresh database and no stray EARMARK_ or AWS_ settings for every test.

    With ``EARMARK_TEST_DATABASE_URL`` set, the database is a schema of its own on that server, dropped after.
    """
    for name in list(os.environ):
        if name.startswith(("EARMARK_", "AWS_")):
            monkeypatch.delenv(name)
    data_dir = tmp_path / "earmark-data"
    monkeypatch.setenv("EARMARK_DATA_DIR", str(data_dir))
    monkeypatch.chdir(tmp_path)  # so no .env of the developer's is read
    config.settings.cache_clear()
    with pg_schema(TEST_DATABASE_URL) if TEST_DATABASE_URL else contextlib.nullcontext() as url:
        if url:
            monkeypatch.setenv("EARMARK_DATABASE_URL", url)
        yield data_dir
    config.settings.cache_clear()


def pg_schema(server_url: str) -> contextlib.AbstractContextManager[str]:
    """A fresh schema on the test server for one test (or one module's server), dropped afterwards."""
    return scratch_schema(server_url, f"t_{os.getpid()}_{time.monotonic_ns()}")


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """moto's in-process S3 with a test bucket."""
    import boto3
    from moto import mock_aws

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    with mock_aws():
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=S3_BUCKET)
        yield


@pytest.fixture(params=["local", "s3"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Storage:
    """Each backend in turn: the contract tests run unchanged on both."""
    if request.param == "local":
        return LocalStorage(tmp_path / "objects")
    request.getfixturevalue("aws")
    return S3Storage(S3_BUCKET, "some/prefix", region="us-east-1")


@pytest.fixture(params=["local", "s3"])
def earmark(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Earmark:
    """The opened app (SQLite file + storage), on each storage backend."""
    if request.param == "s3":
        request.getfixturevalue("aws")
        monkeypatch.setenv("EARMARK_STORAGE_URL", f"s3://{S3_BUCKET}/earmark")
    config.settings.cache_clear()
    return open_earmark(config.settings())


@pytest.fixture
def local_earmark() -> Earmark:
    """The opened app on the default embedded settings only (for tests that are not about storage)."""
    return open_earmark(config.settings())


@pytest.fixture
def db(local_earmark: Earmark) -> Database:
    return local_earmark.db


def make_user(db: Database, name: str, user_type: str = "human", *, admin: bool = False, password: str = USER_PASSWORD,
              **profile: str) -> User:
    with db.write() as session:
        users = UserService(session)
        if users.admin_count() == 0 and not admin:
            users.create(None, "admin", ADMIN_PASSWORD, "human", is_admin=True)
        if admin and users.admin_count() == 0:
            return users.create(None, name, password, user_type, is_admin=True, **profile)
        actor = users.by_name("admin")
        return users.create(actor, name, password, user_type, is_admin=admin, **profile)


def wav_bytes(seconds: float = 1.0, sample_rate: int = 16_000, channels: int = 1, freq: float = 440.0,
              fmt: str = "WAV", subtype: str = "PCM_16") -> bytes:
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    tone = 0.3 * np.sin(2 * np.pi * freq * t)
    data = np.stack([tone] * channels, axis=1) if channels > 1 else tone
    buffer = io.BytesIO()
    sf.write(buffer, data, sample_rate, format=fmt, subtype=subtype)
    return buffer.getvalue()


# -- pages (AppTest) ------------------------------------------------------------------------------------

def app_test(page: str = "Home.py"):
    from streamlit.testing.v1 import AppTest

    return AppTest.from_file(str(ROOT / page), default_timeout=60)


def shown(markdown: str) -> str:
    """What a person reads of text a page escaped for Markdown (core.ui.shell.plain): the escapes taken out."""
    return re.sub(r"\\(.)", r"\1", markdown)


def login(at, user_name: str, password: str = USER_PASSWORD):
    """Fill streamlit-authenticator's form (user name, password, Login) and run the page."""
    at.run()
    at.text_input[0].input(user_name)
    at.text_input[1].input(password)
    at.button[0].click().run()
    assert not at.exception, at.exception
    return at


# -- end to end (headless Chromium against `streamlit run app.py`) -------------------------------------

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
E2E_ADMIN, E2E_PASSWORD = "root", "root-password-1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def s3_server() -> Iterator[str]:
    """moto's S3 server on loopback for a test module (real HTTP: multipart uploads, presigned URLs, a bucket that
    is not Earmark's own): its endpoint URL."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    server.start()
    try:
        yield "http://{}:{}".format(*server.get_host_and_port())
    finally:
        server.stop()


def http_get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.read()


class E2EServer(str):
    """The server's base URL (a str), carrying the data folder it runs on."""

    data_dir: Path
    database_url: str | None

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        """Run `python -m core ...` against this server's data, as its operator would."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("EARMARK_")} | {"EARMARK_DATA_DIR": str(self.data_dir)}
        env |= {"EARMARK_DATABASE_URL": self.database_url} if self.database_url else {}
        return subprocess.run([sys.executable, "-m", "core", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[E2EServer]:
    """The app as a user starts it, on a free loopback port, with the administrator from the settings."""
    with (pg_schema(TEST_DATABASE_URL) if TEST_DATABASE_URL else contextlib.nullcontext() as database_url,
          serve(tmp_path_factory.mktemp("e2e") / "earmark-data", database_url) as served):
        yield served


@contextlib.contextmanager
def serve(data_dir: Path, database_url: str | None, settings: dict[str, str] | None = None) -> Iterator[E2EServer]:
    """`streamlit run app.py` on a free loopback port with these settings, until the block ends."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EARMARK_", "AWS_"))}
    env |= {"EARMARK_DATA_DIR": str(data_dir), "EARMARK_ADMIN_USER": E2E_ADMIN, "EARMARK_ADMIN_PASSWORD": E2E_PASSWORD}
    env |= ({"EARMARK_DATABASE_URL": database_url} if database_url else {}) | (settings or {})
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    log = (data_dir.parent / "server.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port), "--server.address", "127.0.0.1",
         "--server.headless", "true"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if http_get(f"{url}/api/v1/health")[0] == 200:
                    break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"server did not start: {(data_dir.parent / 'server.log').read_text()}")
            time.sleep(0.3)
        served = E2EServer(url)
        served.data_dir = data_dir
        served.database_url = database_url
        yield served
    finally:
        process.terminate()
        process.wait(20)
        log.close()


@pytest.fixture
def page(server: str):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (.ci/run does).")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=20_000)  # a shared 2-core machine: Playwright's 5 s default is too tight
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        context.set_default_timeout(30_000)
        yield context.new_page()
        browser.close()




def e2e_log_in(page, server: str, user_name: str = E2E_ADMIN, password: str = E2E_PASSWORD) -> None:
    page.goto(server)
    page.get_by_label("Username").fill(user_name)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Login").click()
    page.get_by_text("Storage used").first.wait_for()
    e2e_settle(page)  # the login cookie's component reruns the page once more: a click during that rerun is lost
    # The cookie itself is set by that component after the login's run, and the next page load needs it: on a busy
    # machine a goto came first and found the login form. Wait for it (up to 30 s; a test about a login that sets
    # no cookie goes on after that).
    for _ in range(300):
        if any(c["name"] == "earmark_auth" for c in page.context.cookies()):
            break
        page.wait_for_timeout(100)


def e2e_settle(page) -> None:
    """Wait until the app has finished its run (Streamlit shows a status widget while a script runs)."""
    page.wait_for_timeout(300)
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=30_000)


def e2e_import_one(server: E2EServer, folder: Path, dataset: str, name: str, samples: np.ndarray, rate: int, **kind) -> str:
    """Write one sound file (16-bit unless ``kind`` says otherwise) under ``folder``/``dataset``, import it with the
    command line as an operator would, and return its id."""
    (folder / dataset).mkdir()
    sf.write(folder / dataset / name, samples, rate, **({"subtype": "PCM_16"} | kind))
    done = server.cli("import", str(folder / dataset), "--dataset", dataset, "--quiet")
    assert done.returncode == 0, done.stderr
    return json.loads(server.cli("sounds", "--dataset", dataset, "--json").stdout)[0]["id"]


def e2e_open_sound(page, server: str, sound: str, user: tuple[str, str] = (E2E_ADMIN, E2E_PASSWORD)):
    """Log in as ``user``, open the sound on Annotate and wait for its waveform's first view; the waveform's box."""
    from playwright.sync_api import expect

    e2e_log_in(page, server, *user)
    page.goto(f"{server}/Annotate?sound={sound}")
    e2e_settle(page)
    box = page.get_by_test_id("earmark-waveform")
    expect(box).to_have_attribute("data-ready", "true", timeout=30_000)
    return box


def e2e_drop_files(page, uploader: str, files, shown: str) -> None:
    """Give files to the file uploader whose widget key is `uploader` and wait until `shown` is listed.

    Found by its key, not its position: during a rerun the folder uploader was once the first one on the page.

    A rerun that is still in flight (say, from the field typed just before) can re-render the uploader and
    drop the files it was just given; so settle first, and give the files once more if they never show.
    """
    from playwright.sync_api import expect

    e2e_settle(page)
    for attempt in range(2):
        page.locator(f".st-key-{uploader}").get_by_test_id("stFileUploaderDropzoneInput").set_input_files(files)
        try:
            expect(page.get_by_text(shown).first).to_be_visible(timeout=10_000 if attempt == 0 else 20_000)
            return
        except AssertionError:
            if attempt == 1:
                raise
            e2e_settle(page)
