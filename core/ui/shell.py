"""Streamlit glue shared by every page: the opened app, the login gate, the role gate, error display.

Pages call :func:`page` first; it returns the logged-in, active user or stops the page with a plain
explanation (log in, create the first administrator, account deactivated, role not allowed).
"""

from __future__ import annotations

import datetime as dt
import queue
import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn, TypeVar

import jwt
import streamlit as st
import streamlit_authenticator as stauth
from streamlit.errors import StreamlitPageNotFoundError

from core.accounts import auth, credentials, throttle
from core.accounts.permissions import Action, can_any
from core.accounts.users import UserService
from core.catalogue.search import FIELD_SORT, CatalogueQuery, parse_conditions
from core.catalogue.sounds import SoundService
from core.context import Earmark, open_earmark
from core.errors import AuthenticationFailed, ConfigError, EarmarkError, NotFound, TooManyAttempts
from core.store.config import Settings, settings
from core.store.models import User, as_utc, utcnow

ICON = str(Path(__file__).with_name("earmark-icon.png"))  # the tab's icon, served by the app (a :material: icon
#                                                          would make the browser fetch it from fonts.gstatic.com)
COOKIE_NAME = "earmark_auth"
COOKIE_EXPIRY_DAYS = 1.0  # the cookie carries only the name and expiry: keep it short
T = TypeVar("T")


@dataclass(frozen=True)
class PageEntry:
    """One page as the sidebar and Home offer it."""

    path: str  # as st.page_link and st.switch_page name it
    label: str
    icon: str
    purpose: str  # what Home says it is for
    action: Action | None = None  # what an account must be allowed to open it (core/accounts/permissions.py)


# Streamlit's own page list is turned off (.streamlit/config.toml: client.showSidebarNavigation): it would list
# every page to every account, Upload to people who may not upload.
PAGES = (
    PageEntry("Home.py", "Home", ":material/home:", "what the catalogue holds"),
    PageEntry("pages/1_Upload.py", "Upload", ":material/upload:", "add recordings and their metadata", Action.UPLOAD),
    PageEntry("pages/2_Browse.py", "Browse", ":material/search:", "search the catalogue"),
    PageEntry("pages/3_Annotate.py", "Annotate", ":material/graphic_eq:", "select segments on the waveform and tag them",
              Action.ANNOTATE),
    PageEntry("pages/4_Download.py", "Download", ":material/download:", "a reproducible subset as a ZIP"),
    PageEntry("pages/5_Jobs.py", "Jobs", ":material/smart_toy:", "let analyzers pre-annotate and measure the sounds",
              Action.RUN_JOBS),
    PageEntry("pages/6_Users.py", "Users", ":material/person:", "your profile"),
    PageEntry("pages/7_Review.py", "Review", ":material/fact_check:", "review submitted work and accept its gold version",
              Action.REVIEW),
    PageEntry("pages/8_Team.py", "Team", ":material/groups:", "hand out work, follow progress and agreement", Action.ASSIGN),
)


def offered(user: User) -> list[PageEntry]:
    """The pages ``user`` may use, in the sidebar's order: a page the role table refuses is not offered."""
    return [entry for entry in PAGES if entry.action is None or can_any(user, entry.action)]


def _navigation(user: User) -> None:
    for entry in offered(user):
        try:
            st.page_link(entry.path, label=entry.label, icon=entry.icon)
        except StreamlitPageNotFoundError:
            # Only where a page runs as its own entry point (AppTest.from_file("pages/...")): Streamlit then knows
            # no other page. Served, Home.py is the entry point and knows them all (tests/test_pages_home.py).
            continue
    st.divider()


@st.cache_resource(show_spinner=False)
def _open(current: Settings) -> Earmark:
    return open_earmark(current)


def earmark() -> Earmark:
    """The app's database and storage, opened once per server process (per settings)."""
    try:
        return _open(settings())
    except ConfigError as exc:
        st.error(f"Earmark cannot start: {exc}")
        st.stop()
        raise  # unreachable: st.stop raises


MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~:$=^])")


def plain(text: object) -> str:
    """``text`` as it is, for the places Streamlit renders Markdown (captions, labels, messages): a tag, a file
    name or a metadata column like ``![x](http://elsewhere/x)`` is shown, never turned into an image to fetch or
    a link to follow."""
    return MARKDOWN_SPECIALS.sub(r"\\\1", str(text)).replace("\n", " ")


def flash(message: str) -> None:
    """Show ``message`` as a success at the top of the next run (use before ``st.rerun()``)."""
    st.session_state["_flash"] = message


def run(action: Callable[[], T], success: str | None = None, *, rerun: bool = False) -> T | None:
    """Call ``action``; show its core error, or ``success``, and return its result (None on error).

    With ``rerun``, the page is drawn again after a success (so everything above shows the change) and
    ``success`` is shown at the top of the new run.
    """
    try:
        result = action()
    except EarmarkError as exc:
        st.error(plain(exc))  # core's messages quote what people typed and uploaded
        return None
    if rerun:
        if success:
            flash(success)
        st.rerun()
    if success:
        st.success(plain(success))
    return result


class Progress:
    """Thread-safe progress reports from work running off the script thread (see :func:`track`)."""

    def __init__(self) -> None:
        self.events: queue.Queue[tuple[str, int | str]] = queue.Queue()

    def plan(self, total: int, *_: object) -> None:
        self.events.put(("total", total))

    def step(self, text: str = "") -> None:
        self.events.put(("step", text))


def track(work: Callable[[Progress], T], label: str) -> T:
    """Run ``work`` in a thread while a progress bar on the page follows its reports; return its result.

    Streamlit elements may only be updated from the script's thread, and ingest reports from its workers.
    """
    progress = Progress()
    bar = st.progress(0.0, text=label)
    done, total, text = 0, 0, ""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="track") as runner:
        future = runner.submit(work, progress)
        while True:
            finished = future.done()
            while not progress.events.empty():
                kind, value = progress.events.get()
                if kind == "total":
                    total = int(value)
                else:
                    done, text = done + 1, str(value)
            fraction = min(done / total, 1.0) if total else 0.0
            bar.progress(fraction, text=f"{label}: {done:,} of {total:,}" + (f" ({plain(text)})" if text else ""))  # a file name: text
            if finished:
                break
            time.sleep(0.1)
    bar.empty()
    return future.result()


def _first_admin_form(app: Earmark) -> None:
    st.title("Welcome to Earmark")
    st.write(
        "There is no administrator yet. Create one to start: this account can add other users, "
        "upload data and change everything. (Or start the server with `EARMARK_ADMIN_USER` and "
        "`EARMARK_ADMIN_PASSWORD` set.)"
    )
    with st.form("first_admin", border=True):
        name = st.text_input("Administrator user name", key="first_admin_name")
        email = st.text_input("Email (optional)", key="first_admin_email")
        password = st.text_input("Password (at least 8 characters)", type="password", key="first_admin_password")
        repeat = st.text_input("Repeat the password", type="password", key="first_admin_repeat")
        submitted = st.form_submit_button("Create the administrator", key="first_admin_submit")
    if submitted:
        def create() -> User:
            auth.check_repeated(password, repeat)
            with app.db.write() as session:
                return UserService(session).create(None, name, password, "human", is_admin=True, email=email)

        if run(create) is not None:
            st.session_state["_login_note"] = f"Administrator {name.strip()} created: log in with it below."
            st.rerun()  # (a message shown here would vanish with the rerun: the login form shows it)


def _authenticator(app: Earmark) -> stauth.Authenticate:
    """streamlit-authenticator, for the login cookie only (passwords go through _login_form): it is given the
    accounts this run can be about, the session's and the cookie's, not every account on the server."""
    names = {name for name in (st.session_state.get("username"), (_cookie_payload(app) or {}).get("username")) if name}
    with app.db.read() as session:
        credentials = {"usernames": UserService(session).active_credentials(names)}
    return stauth.Authenticate(
        credentials, COOKIE_NAME, auth.cookie_key(app.settings), COOKIE_EXPIRY_DAYS,
        auto_hash=False, login_sleep_time=0,
    )


def _login_form(app: Earmark, authenticator: stauth.Authenticate) -> bool:
    """Earmark's login form, throttled like HTTP Basic (core.accounts.credentials.check_password); on success
    the session is logged in and streamlit-authenticator sets its cookie. Returns whether it logged in."""
    with st.form("login"):
        st.subheader("Login")
        name = st.text_input("Username", key="login_user_name", autocomplete="username")
        password = st.text_input("Password", type="password", key="login_password", autocomplete="current-password")
        submitted = st.form_submit_button("Login", key="login_submit")
    if not submitted:
        return False
    try:
        user = credentials.check_password(app.db, name.strip(), password, _client_address(app))
    except TooManyAttempts as exc:
        st.error(str(exc))
        return False
    except AuthenticationFailed:
        st.error("Wrong user name or password.")
        return False
    st.session_state.update(authentication_status=True, username=user.user_name, name=user.user_name,
                            _logged_in_at=utcnow())  # known exactly: no older cookie in the browser is asked
    authenticator.cookie_controller.set_cookie()
    return True


def _client_address(app: Earmark) -> str | None:
    """The address the login form's failures are counted against, found as the API finds it
    (core.api.deps.client_address): the connection's own, or, when that is one of EARMARK_TRUSTED_PROXIES, the
    client it names in X-Forwarded-For. Streamlit gives no address for a loopback connection, so one that
    carries X-Forwarded-For (a proxy on this machine) is taken as coming from 127.0.0.1."""
    forwarded = st.context.headers.get_all("X-Forwarded-For")
    peer = st.context.ip_address or ("127.0.0.1" if forwarded else None)
    return throttle.client_address(peer, forwarded, app.settings.trusted_proxies)


def _current_user(app: Earmark, user_name: str | None) -> User | None:
    if not user_name:
        return None
    with app.db.read() as session:
        try:
            return UserService(session).by_name(user_name)
        except NotFound:
            return None


def _logged_in_at(app: Earmark, user: User) -> dt.datetime:
    """When this browser logged in as ``user``: noted by the login form, or, for a session the login cookie
    logged in, when that cookie was issued (it holds only the name and its expiry, COOKIE_EXPIRY_DAYS after)."""
    if "_logged_in_at" not in st.session_state:
        st.session_state["_logged_in_at"] = _cookie_issued(app, user) or utcnow()
    return st.session_state["_logged_in_at"]


def _cookie_payload(app: Earmark) -> dict | None:
    """The login cookie's content if it is one this server signed, else None."""
    token = st.context.cookies.get(COOKIE_NAME)
    if not token:
        return None
    try:
        payload = jwt.decode(token, auth.cookie_key(app.settings), algorithms=["HS256"])
    except jwt.PyJWTError:
        return None
    return payload if isinstance(payload, dict) else None


def _cookie_issued(app: Earmark, user: User) -> dt.datetime | None:
    if st.context.cookies.get(COOKIE_NAME) == st.session_state.get("_stale_login_token"):
        return None  # the cookie this session already found stale (the form logged in since)
    payload = _cookie_payload(app)
    if payload is None or payload.get("username") != user.user_name:
        return None
    try:
        return dt.datetime.fromtimestamp(float(payload["exp_date"]) - COOKIE_EXPIRY_DAYS * 86_400, tz=dt.UTC)
    except (KeyError, TypeError, ValueError):
        return None


def _log_out(authenticator: stauth.Authenticate, reason: str) -> NoReturn:
    st.session_state.pop("_logged_in_at", None)
    st.session_state["_logged_out_because"] = reason
    authenticator.logout(location="unrendered")
    st.error(reason)
    st.stop()


def _end_signed_tokens(app: Earmark, user: User) -> None:
    """Logging out ends the page tokens and links this account was handed (they sit in the page, the browser's
    history and proxies' logs), in every browser: they are no login and must not outlive one."""
    with app.db.write() as session:
        UserService(session).end_signed_tokens(user.id)


def renew_login() -> None:
    """After people change their own password: this session stays logged in (others are logged out)."""
    st.session_state["_logged_in_at"] = utcnow()


def page(title: str, action: Action | None = None) -> User:
    """Start a page: title, login, account check, role check. Returns the current user or stops the page."""
    app = earmark()
    with app.db.read() as session:
        needs_admin = UserService(session).admin_count() == 0
    if needs_admin:
        _first_admin_form(app)
        st.stop()
    authenticator = _authenticator(app)
    authenticator.login(location="unrendered", key="login")  # a valid login cookie logs this browser in
    if not st.session_state.get("authentication_status"):
        st.session_state.pop("_logged_in_at", None)
        if reason := st.session_state.get("_logged_out_because"):
            st.error(reason)  # kept until the next login: the cookie component reruns the page once more
        note = st.empty()
        if said := st.session_state.get("_login_note"):
            note.success(plain(said))
        # No st.rerun() after a fresh login: the cookie component must reach the browser (it reruns the page itself).
        if not _login_form(app, authenticator):
            st.stop()
        note.empty()
    st.session_state.pop("_logged_out_because", None)
    st.session_state.pop("_login_note", None)
    user = _current_user(app, st.session_state.get("username"))
    if user is None or not user.is_active:
        _log_out(authenticator, "This account no longer exists or has been deactivated; ask an administrator.")
    logged_in_at = _logged_in_at(app, user)  # noted on the first run after login, whatever comes later
    if user.password_changed and as_utc(user.password_changed) > logged_in_at:
        st.session_state["_stale_login_token"] = st.context.cookies.get(COOKIE_NAME)
        _log_out(authenticator, "The password of this account was changed after this browser logged in: log in again.")
    with st.sidebar:
        _navigation(user)
        role = f"{user.user_type}{', admin' if user.is_admin else ''}"
        st.caption(f"Logged in as **{plain(user.user_name)}** ({role})")
        authenticator.logout("Log out", location="sidebar", key="logout_button", callback=lambda _: _end_signed_tokens(app, user))
    st.title(title)
    if message := st.session_state.pop("_flash", None):
        st.success(plain(message))
    if action is not None and not can_any(user, action):
        st.warning(
            f"Your account ({user.user_type}) may not {action.value}. "
            "Dataset users and administrators can; ask an administrator if you need to."
            if action is Action.UPLOAD else f"Your account may not {action.value}."
        )
        st.stop()
    return user


def catalogue_filters(prefix: str, sorting: bool = False) -> CatalogueQuery:
    """The catalogue filters (Browse and Download share them); the dataset and tags follow the URL."""
    app = earmark()
    params = st.query_params
    with app.db.read() as session:
        sounds = SoundService(session, app.storage)
        datasets = [name for name, _ in sounds.datasets()]
        uploaders = sounds.uploaders()
    row1 = st.columns([2, 1, 1, 2, 1])
    text = row1[0].text_input("Search title or path", key=f"{prefix}_text", value=params.get("q", ""))
    wanted = params.get("dataset")
    dataset = row1[1].selectbox("Dataset", ["(all)", *datasets], key=f"{prefix}_dataset",
                                index=datasets.index(wanted) + 1 if wanted in datasets else 0)
    uploader = row1[2].selectbox("Uploaded by", ["(anyone)", *uploaders], key=f"{prefix}_uploader",
                                 format_func=lambda u: uploaders.get(u, u))
    tags = row1[3].text_input("Tags (all of, comma-separated)", key=f"{prefix}_tags", value=params.get("tags", ""))
    annotated = row1[4].selectbox("Annotated", ["any", "yes", "no", "mine"], key=f"{prefix}_annotated",
                                  format_func=lambda v: {"any": "any", "yes": "annotated", "no": "not annotated", "mine": "annotated by me"}[v])
    row2 = st.columns([3, 1, 1] + ([2, 1] if sorting else []))  # sort: wide enough for a field name
    with app.db.read() as session:  # the chosen dataset's columns, or every dataset's
        columns = SoundService(session, app.storage).field_names(None if dataset == "(all)" else dataset)
    hint = f" (columns: {plain(', '.join(columns[:6]))}{'…' if len(columns) > 6 else ''})" if columns else ""
    where = row2[0].text_input("Metadata, COLUMN=VALUE or COLUMN>=NUMBER (also <=, >, <), separated by commas" + hint,
                               key=f"{prefix}_where")
    shortest = row2[1].number_input("Shortest (s)", min_value=0.0, value=0.0, step=1.0, key=f"{prefix}_min")
    longest = row2[2].number_input("Longest (s, 0: any)", min_value=0.0, value=0.0, step=1.0, key=f"{prefix}_max")
    sort, descending = "date", False
    if sorting:
        sort = row2[3].selectbox("Sort by", ["date", "name", "duration", "annotations", *(FIELD_SORT + c for c in columns)],
                                 key=f"{prefix}_sort", format_func=lambda s: s.removeprefix(FIELD_SORT),
                                 help="a metadata column sorts by the number it holds; sounds without one come last")
        descending = row2[4].checkbox("Descending", key=f"{prefix}_desc")
    params.update({"dataset": "" if dataset == "(all)" else dataset, "tags": tags, "q": text})
    equal, ranges = parse_conditions([w for w in where.split(",") if w.strip()])
    return CatalogueQuery(
        text=text, dataset=None if dataset == "(all)" else dataset,
        created_by=None if uploader == "(anyone)" else uploader, tags=tuple(t for t in tags.split(",") if t.strip()),
        where=equal, ranges=ranges, min_duration=shortest or None,
        max_duration=longest or None, annotated=annotated, sort=sort, descending=descending,
    )
