"""End to end in headless Chromium: a page on another site cannot make a browser that holds Earmark credentials
change anything (the classic form post with a JSON-looking text/plain body, and a script's fetch)."""

from __future__ import annotations

import base64
import json
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.conftest import CHROMIUM, CHROMIUM_ARGS, E2E_ADMIN, E2E_PASSWORD, e2e_log_in, e2e_settle

pytestmark = pytest.mark.browser

ATTACK = """<!doctype html><html><body>
<form id="forged" method="POST" action="{api}/users" enctype="text/plain">
<input name='{{"user_name": "mallory", "password": "mallory-password-1", "is_admin": true, "x": "' value='"}}'>
</form>
<script>
fetch("{api}/users", {{method: "POST", mode: "no-cors", credentials: "include", headers: {{"Content-Type": "text/plain"}},
  body: JSON.stringify({{user_name: "trudy", password: "trudy-password-1", is_admin: true}})}})
  .finally(() => document.getElementById("forged").submit());
</script></body></html>"""


@pytest.fixture
def other_site(server):
    """A page served from a second loopback port: another origin, as an attacker's site would be."""
    page = ATTACK.format(api=f"{server}/api/v1").encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()


def _as_admin(server: str, path: str, method: str = "GET", body: dict | None = None):
    auth = base64.b64encode(f"{E2E_ADMIN}:{E2E_PASSWORD}".encode()).decode()
    request = urllib.request.Request(f"{server}/api/v1{path}", method=method, data=json.dumps(body).encode() if body else None,
                                     headers={"Authorization": f"Basic {auth}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read() or b"null")


def _user_names(server: str) -> set[str]:
    return {u["user_name"] for u in _as_admin(server, "/users?page_size=1000")["items"]}


def test_a_password_reset_logs_out_the_browsers_logged_in_before_it(page, server):
    from playwright.sync_api import expect

    ann = _as_admin(server, "/users", "POST", {"user_name": "ann", "password": "ann-password-1", "user_type": "human"})
    e2e_log_in(page, server, "ann", "ann-password-1")
    other_tab = page.context.new_page()  # logged in by the cookie the first tab's login left
    other_tab.goto(server)
    other_tab.get_by_text("Logged in as").first.wait_for()

    _as_admin(server, f"/users/{ann['id']}", "PATCH", {"password": "ann-password-2"})  # an administrator resets it
    stale = "The password of this account was changed after this browser logged in: log in again."
    other_tab.reload()  # a new session on the old cookie
    expect(other_tab.get_by_text(stale).first).to_be_visible()  # (twice while the rerun replaces the first run's)
    page.get_by_test_id("stSidebar").get_by_role("link", name="Browse").click()  # the first tab's running session
    expect(page.get_by_text(stale).first).to_be_visible()
    expect(page.get_by_text("Logged in as")).to_have_count(0)

    e2e_log_in(page, server, "ann", "ann-password-2")  # the new password works, and keeps working
    page.reload()
    page.get_by_text("Logged in as").first.wait_for()
    e2e_settle(page)
    expect(page.get_by_text(stale)).to_have_count(0)


def test_a_page_on_another_site_cannot_create_an_administrator(server, other_site, tmp_path):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (.ci/run does).")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(http_credentials={"username": E2E_ADMIN, "password": E2E_PASSWORD})
        page = context.new_page()
        with page.expect_response(lambda r: r.url.endswith("/api/v1/users") and r.request.method == "POST"
                                  and r.request.resource_type == "document", timeout=30_000) as posted:
            page.goto(other_site)
        assert posted.value.status == 403
        page.wait_for_load_state()
        assert "may not change anything here" in page.locator("body").inner_text()
        browser.close()
    assert not {"mallory", "trudy"} & _user_names(server)
