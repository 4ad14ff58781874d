"""End to end in headless Chromium against the real server (`streamlit run app.py`): log in, see Home's
figures, load the demo, stay logged in across a reload, log out. Run alone with `pytest -m browser`."""

from __future__ import annotations

import json
import re

import pytest

from tests.conftest import e2e_log_in, e2e_settle, http_get

pytestmark = pytest.mark.browser

def _metric(page, label: str) -> str:
    """The value of one metric, once the rerun that follows a login or a click has replaced stale elements."""
    from playwright.sync_api import expect

    box = page.get_by_test_id("stMetric").filter(has_text=label)
    expect(box).to_have_count(1)
    return box.get_by_test_id("stMetricValue").inner_text()


def test_health_is_served_on_the_ui_port(server):
    status, body = http_get(f"{server}/api/v1/health")
    assert status == 200 and json.loads(body) == {"status": "ok"}


def test_log_in_see_home_load_demo_reload_log_out(page, server, tmp_path):
    from playwright.sync_api import expect

    e2e_log_in(page, server)
    assert _metric(page, "Sounds") == "0" and _metric(page, "Users") == "1"

    page.get_by_role("button", name="Load the demo dataset").click()
    page.get_by_text("Demo dataset: 32 stored, 0 already there, 0 refused.").wait_for(timeout=90_000)  # slow when the machine is busy
    assert _metric(page, "Sounds") == "32" and _metric(page, "Total duration") == "3 min 09 s"
    page.screenshot(path=str(tmp_path / "home.png"), full_page=True)

    page.reload()  # the login cookie keeps the session
    page.get_by_text("Logged in as").wait_for()
    assert _metric(page, "Sounds") == "32"

    page.get_by_role("button", name="Log out").click()
    page.get_by_role("button", name="Login").wait_for()
    expect(page.get_by_test_id("stMetric")).to_have_count(0)  # the rerun after logging out removes them


def test_no_page_asks_another_host_for_anything(page, server):
    """A server without internet: every page's requests stay on the app's own origin (no icon font, no favicon
    from fonts.gstatic.com)."""
    elsewhere: list[str] = []
    page.on("request", lambda request: None if request.url.startswith((server, "data:", "blob:")) else elsewhere.append(request.url))
    e2e_log_in(page, server)
    for name in ("Upload", "Browse", "Annotate", "Download", "Jobs", "Users"):
        page.goto(f"{server}/{name}")
        page.get_by_text("Logged in as").first.wait_for()
        e2e_settle(page)
    assert elsewhere == []


def test_an_annotator_is_offered_only_the_pages_they_may_use(page, server):
    """Issue 26: Streamlit's own page list (turned off in .streamlit/config.toml) showed Upload to everyone; the
    sidebar now lists what core.accounts.permissions allows."""
    import base64
    import urllib.request

    from playwright.sync_api import expect

    from tests.conftest import E2E_ADMIN, E2E_PASSWORD

    request = urllib.request.Request(
        f"{server}/api/v1/users", method="POST", headers={"Content-Type": "application/json", "Authorization": "Basic "
        + base64.b64encode(f"{E2E_ADMIN}:{E2E_PASSWORD}".encode()).decode()},
        data=json.dumps({"user_name": "annotator", "password": "annotator-pw-1", "user_type": "human"}).encode())
    urllib.request.urlopen(request, timeout=10).close()
    e2e_log_in(page, server, "annotator", "annotator-pw-1")
    sidebar = page.get_by_test_id("stSidebar")
    names = ["Home", "Browse", "Annotate", "Download", "Jobs", "Users"]  # each after its icon's name
    expect(sidebar.get_by_role("link")).to_have_text([re.compile(f"{name}$") for name in names])
    expect(page.get_by_role("link", name="Upload")).to_have_count(0)
