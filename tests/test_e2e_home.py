"""End to end in headless Chromium against the real server (`streamlit run app.py`): log in, see Home's
figures, load the demo, stay logged in across a reload, log out. Run alone with `pytest -m browser`."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.browser
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ADMIN, PASSWORD = "root", "root-password-1"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.read()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app as a user starts it, on a free loopback port, with the administrator from the settings."""
    data_dir = tmp_path_factory.mktemp("e2e") / "earmark-data"
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EARMARK_", "AWS_"))}
    env |= {"EARMARK_DATA_DIR": str(data_dir), "EARMARK_ADMIN_USER": ADMIN, "EARMARK_ADMIN_PASSWORD": PASSWORD}
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
                if _get(f"{url}/api/v1/health")[0] == 200:
                    break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"server did not start: {(data_dir.parent / 'server.log').read_text()}")
            time.sleep(0.3)
        yield url
    finally:
        process.terminate()
        process.wait(20)
        log.close()


@pytest.fixture
def page(server: str):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (.ci/run does).")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        context.set_default_timeout(30_000)
        yield context.new_page()
        browser.close()


def _metric(page, label: str) -> str:
    """The value of one metric, once the rerun that follows a login or a click has replaced stale elements."""
    from playwright.sync_api import expect

    box = page.get_by_test_id("stMetric").filter(has_text=label)
    expect(box).to_have_count(1)
    return box.get_by_test_id("stMetricValue").inner_text()


def _log_in(page, server: str) -> None:
    page.goto(server)
    page.get_by_label("Username").fill(ADMIN)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Login").click()
    page.get_by_text("Storage used").first.wait_for()


def test_health_is_served_on_the_ui_port(server):
    status, body = _get(f"{server}/api/v1/health")
    assert status == 200 and json.loads(body) == {"status": "ok"}


def test_log_in_see_home_load_demo_reload_log_out(page, server, tmp_path):
    _log_in(page, server)
    assert _metric(page, "Sounds") == "0" and _metric(page, "Users") == "1"

    page.get_by_role("button", name="Load the demo dataset").click()
    page.get_by_text("Demo dataset: 32 stored, 0 already there, 0 refused.").wait_for()
    assert _metric(page, "Sounds") == "32" and _metric(page, "Total duration") == "3 min 09 s"
    page.screenshot(path=str(tmp_path / "home.png"), full_page=True)

    page.reload()  # the login cookie keeps the session
    page.get_by_text("Logged in as").wait_for()
    assert _metric(page, "Sounds") == "32"

    page.get_by_role("button", name="Log out").click()
    page.get_by_role("button", name="Login").wait_for()
    assert page.get_by_test_id("stMetric").count() == 0
