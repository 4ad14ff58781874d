"""The command line: ``python -m core COMMAND``. Exit 0 on success, 2 on bad usage, 1 on failure.

Each command is a thin shell: parse arguments, call core, print the result; a core error becomes one line on
stderr.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from collections.abc import Sequence

from tqdm import tqdm

from core import __version__, auth
from core.config import settings
from core.context import Earmark, open_earmark
from core.demo import load_demo
from core.errors import EarmarkError
from core.paging import PageRequest
from core.sounds import SoundFilter, SoundService
from core.stats import catalogue_stats, human_bytes, human_duration
from core.users import UserService


def _earmark() -> Earmark:
    return open_earmark(settings())


def cmd_demo(args: argparse.Namespace) -> int:
    earmark = _earmark()
    with tqdm(total=32, unit="file", desc="demo", disable=args.quiet) as bar:
        summary = load_demo(earmark.db, earmark.storage, max_bytes=earmark.settings.max_upload_bytes,
                            progress=lambda _r: bar.update(1))
    for result in summary.results:
        if result.status == "refused":
            print(f"refused {result.path}: {result.reason}", file=sys.stderr)
    print(f"Demo dataset: {summary.line()}.")
    return 1 if summary.count("refused") else 0


def _password(prompt_for: str) -> str:
    password = os.environ.get("EARMARK_PASSWORD")
    if password:
        return password
    if not sys.stdin.isatty():
        raise EarmarkError("Set EARMARK_PASSWORD, or run in a terminal to be asked for the password.")
    first = getpass.getpass(f"Password for {prompt_for}: ")
    auth.check_repeated(first, getpass.getpass("Repeat the password: "))
    return first


def cmd_users_add(args: argparse.Namespace) -> int:
    """The command line is run by whoever runs the server, so it acts as an administrator."""
    earmark = _earmark()
    password = _password(args.name)
    with earmark.db.write() as session:
        users = UserService(session)
        if users.admin_count() == 0:
            if not args.admin:
                raise EarmarkError("The first account must be an administrator: add --admin.")
            user = users.create(None, args.name, password, args.type, is_admin=True, email=args.email)
        else:
            operator = _operator(users)
            user = users.create(operator, args.name, password, args.type, is_admin=args.admin, email=args.email)
    role = "administrator" if user.is_admin else "user"
    print(f"Created {user.user_type} {role} {user.user_name} (id {user.id}).")
    return 0


def _operator(users: UserService):
    """An active administrator to act as; the command line has the server operator's rights."""
    from sqlalchemy import select

    from core.models import User

    admin = users.session.scalar(select(User).where(User.is_admin.is_(True), User.is_active.is_(True)).limit(1))
    if admin is None:
        raise EarmarkError("There is no active administrator; reactivate one first.")
    return admin


def cmd_sounds(args: argparse.Namespace) -> int:
    earmark = _earmark()
    rows = []
    with earmark.db.read() as session:
        service = SoundService(session, earmark.storage)
        request: PageRequest | None = PageRequest(page_size=1000)
        while request is not None:
            page = service.list(request, SoundFilter(dataset=args.dataset))
            rows += [
                {"id": s.id, "dataset": s.dataset, "path": s.path, "duration_seconds": round(s.duration_seconds, 3)}
                for s in page.items
            ]
            request = PageRequest(1000, 1, page.items[-1].id) if page.next else None
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for row in rows:
            print(f"{row['id']}\t{row['dataset']}\t{row['path']}\t{row['duration_seconds']:.3f}")
        print(f"{len(rows)} sounds.", file=sys.stderr)
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    earmark = _earmark()
    with earmark.db.read() as session:
        stats = catalogue_stats(session)
    if args.json:
        print(json.dumps(stats.as_dict(), indent=2))
        return 0
    by_type = ", ".join(f"{n} {t}" for t, n in stats.users_by_type.items())
    print(f"Sounds:      {stats.sounds} in {stats.datasets} datasets, {human_duration(stats.total_duration_seconds)}")
    print(f"Annotations: {stats.annotations}")
    print(f"Users:       {stats.users} ({by_type}; {stats.admins} admin)")
    print(f"Storage:     {stats.files} files, {human_bytes(stats.storage_bytes)} in {earmark.storage.url}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core", description="Earmark: audio dataset annotation.")
    parser.add_argument("--version", action="version", version=f"earmark {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser("demo", help="load the generated demo dataset (32 clips)")
    demo.add_argument("--quiet", action="store_true", help="no progress bar")
    demo.set_defaults(func=cmd_demo)

    users = commands.add_parser("users", help="manage user accounts")
    users_commands = users.add_subparsers(dest="users_command", required=True, metavar="ACTION")
    add = users_commands.add_parser(
        "add", help="add a user (password from EARMARK_PASSWORD or a prompt)",
        description="Add a user. The password comes from EARMARK_PASSWORD, or is asked for in a terminal.",
    )
    add.add_argument("name")
    add.add_argument("--type", choices=["human", "dataset", "featurebot"], default="human")
    add.add_argument("--admin", action="store_true", help="make the user an administrator")
    add.add_argument("--email")
    add.set_defaults(func=cmd_users_add)

    sounds = commands.add_parser("sounds", help="list sounds (id, dataset, path, duration)")
    sounds.add_argument("--dataset")
    sounds.add_argument("--json", action="store_true")
    sounds.set_defaults(func=cmd_sounds)

    stats = commands.add_parser("stats", help="what the catalogue holds")
    stats.add_argument("--json", action="store_true")
    stats.set_defaults(func=cmd_stats)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)  # exits 2 on bad usage
    try:
        return args.func(args)
    except EarmarkError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 1
    except BrokenPipeError:  # e.g. `python -m core sounds | head`
        sys.stderr.close()
        return 0
