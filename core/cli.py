"""The command line: ``python -m core COMMAND``. Exit 0 on success, 2 on bad usage, 1 on failure.

Each command is a thin shell: parse arguments, call core, print the result; a core error becomes one line on
stderr.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import re
import sys
import time
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from tqdm import tqdm

from core import __version__
from core.accounts import auth
from core.accounts.users import UserService
from core.catalogue import consistency
from core.catalogue.files import FileService
from core.catalogue.sounds import SoundFilter, SoundService, delete_dataset
from core.catalogue.stats import catalogue_stats, human_bytes, human_duration, storage_parts
from core.catalogue.tags import clean_tags
from core.commands import agreement as agreement_commands
from core.commands import annotations as annotation_commands
from core.commands import export as export_commands
from core.commands import jobs as jobs_commands
from core.commands import team as team_commands
from core.commands.common import acting_admin, current_earmark, positive
from core.errors import EarmarkError, ValidationError
from core.ingest.demo import load_demo
from core.ingest.pipeline import (
    IngestResult,
    UploadOptions,
    check_dataset_name,
    import_path,
)
from core.ingest.register import EXAMPLES, RegisterSummary, register
from core.ingest.states import IngestStatus
from core.store import migrate
from core.store.config import settings
from core.store.db import Database
from core.store.paging import PageRequest
from core.store.sources import parse_source

# Commands kept in their own modules (core/commands/), one per domain; each adds its parsers.
COMMAND_GROUPS: tuple = (annotation_commands, agreement_commands, team_commands)


def cmd_demo(args: argparse.Namespace) -> int:
    earmark = current_earmark()
    with tqdm(total=32, unit="file", desc="demo", disable=args.quiet) as bar:
        summary = load_demo(earmark.db, earmark.storage, max_bytes=earmark.settings.max_upload_bytes,
                            progress=lambda _r: bar.update(1))
    for result in summary.results:
        if result.status == IngestStatus.REFUSED:
            print(f"{result.status} {result.path}: {result.reason}", file=sys.stderr)
    print(f"Demo dataset: {summary.line()}.")
    return 1 if summary.count(IngestStatus.REFUSED) else 0


def cmd_import(args: argparse.Namespace) -> int:
    """Bulk import of a folder or archive, N files at a time; a re-run skips what is stored (resume). An s3:// URL,
    or a folder with --in-place, is registered where it is instead (core.ingest.register)."""
    earmark = current_earmark()
    in_place = args.in_place or args.path.startswith("s3://")
    if in_place:
        root = parse_source(args.path)  # before the owner account is made: a bad source leaves nothing behind
        default_name = PurePosixPath(root.url.split("://", 1)[1].rstrip("/")).name
    else:
        source = Path(args.path).expanduser()
        if not source.exists():
            raise ValidationError("path", f"{source} does not exist.")
        default_name = source.name.split(".")[0]
    dataset = args.dataset or check_dataset_name(re.sub(r"[^A-Za-z0-9_.-]", "_", default_name) or "imported")
    with earmark.db.write() as session:
        users = UserService(session)
        owner = users.by_name(args.user) if args.user else users.system_user(dataset, "dataset", about_me=f"Owner of dataset {dataset}.")
    options = UploadOptions(dataset=dataset, max_bytes=earmark.settings.max_upload_bytes, tags=tuple(clean_tags(args.tags)),
                            purpose=args.purpose, description=args.description)
    bars: list[tqdm] = []  # made once the work is known, so a bad path prints only its error
    started, done_bytes = time.monotonic(), 0

    def plan(files: int, _bytes: int) -> None:
        bars.append(tqdm(total=files, unit="file", desc=f"{'register' if in_place else 'import'} {dataset}",
                         disable=args.quiet, dynamic_ncols=True))

    def progress(result: IngestResult) -> None:
        nonlocal done_bytes
        done_bytes += result.size
        bars[0].set_postfix_str(f"{done_bytes / 1e6 / max(time.monotonic() - started, 1e-6):.1f} MB/s", refresh=False)
        bars[0].update(1)

    try:
        if in_place:
            return _registered(register(earmark.db, earmark.storage, owner, args.path, options, metadata_sources=args.metadata,
                                        path_column=args.path_column, workers=args.workers, progress=progress, on_plan=plan),
                               dataset, time.monotonic() - started, done_bytes)
        summary = import_path(earmark.db, earmark.storage, owner, source, options, metadata_files=[Path(m) for m in args.metadata],
                              path_column=args.path_column, workers=args.workers, max_files=args.max_files,
                              progress=progress, on_plan=plan)
    finally:
        for bar in bars:
            bar.close()
    for note in summary.notes:
        print(f"metadata: {note}", file=sys.stderr)
    for result in summary.results:
        if result.status in (IngestStatus.REFUSED, IngestStatus.SKIPPED) or _twin_elsewhere(result):
            print(f"{result.status} {result.path}: {result.reason}", file=sys.stderr)
    elapsed = time.monotonic() - started
    print(f"Imported into {dataset}: {summary.line()} in {elapsed:.1f} s ({done_bytes / 1e6:.1f} MB stored).")
    return 1 if summary.count(IngestStatus.REFUSED) else 0


def _twin_elsewhere(result: IngestResult) -> bool:
    """A duplicate of a file stored under another path (named: its metadata row is not joined, the twin keeps its
    own); one already stored at its own path is an earlier run's, resumed, and not listed (a million of them would
    bury the rest)."""
    return result.status == IngestStatus.DUPLICATE and result.duplicate_of not in (None, result.path)


def _registered(summary: RegisterSummary, dataset: str, elapsed: float, read_bytes: int) -> int:
    """Print what a registration did: its notes, every refusal, examples of what it skipped, one summary line."""
    for note in summary.notes:
        print(f"metadata: {note}", file=sys.stderr)
    for result in summary.refused:
        print(f"{IngestStatus.REFUSED} {result.path}: {result.reason}", file=sys.stderr)
    for reason, examples in summary.skipped.items():
        print(f"{IngestStatus.SKIPPED} ({reason}): {', '.join(examples)}{', ...' if len(examples) == EXAMPLES else ''}", file=sys.stderr)
    print(f"Registered {summary.source} into {dataset} in place: {summary.line()} in {elapsed:.1f} s "
          f"({read_bytes / 1e6:.1f} MB read; nothing of the source written or deleted).")
    return 1 if summary.counts[IngestStatus.REFUSED] else 0


def cmd_purge(args: argparse.Namespace) -> int:
    earmark = current_earmark()
    with earmark.db.write() as session:
        files, size = FileService(session, earmark.storage).purge_expired()
    print(f"Purged {files} expired file{'s' if files != 1 else ''} ({human_bytes(size)}).")
    findings = consistency.repair(earmark.db, earmark.storage)
    print(f"Leftovers older than a day: {findings.line()}, removed.")
    _say_foreign(findings)
    return 0


def cmd_fsck(args: argparse.Namespace) -> int:
    """Objects without rows and rows without objects (older than a day); with --repair, remove them. Objects
    Earmark did not write are counted and left alone either way."""
    earmark = current_earmark()
    if args.repair:
        findings = consistency.repair(earmark.db, earmark.storage)
        print(f"Removed: {findings.line()}.")
        _say_foreign(findings)
        return 0
    findings = consistency.check(earmark.db, earmark.storage)
    for key in findings.orphans:
        print(f"object without a row: {key}")
    for key in findings.missing:
        print(f"row without an object: {key}")
    print(f"{findings.line()}." + (" Run fsck --repair to remove them." if findings.orphans or findings.missing else ""))
    _say_foreign(findings)
    return 1 if findings.orphans or findings.missing else 0


def _say_foreign(findings: consistency.Findings) -> None:
    if sentence := findings.foreign_line():
        print(sentence)


def cmd_delete_dataset(args: argparse.Namespace) -> int:
    """Delete a dataset's sounds, annotations and Earmark's objects of them; nothing else in storage."""
    if not args.yes:
        raise ValidationError("yes", f"Deleting dataset {args.dataset!r} removes its sounds, annotations and audio: add --yes.")
    earmark = current_earmark()
    with earmark.db.read() as session:
        operator = acting_admin(UserService(session))
    deleted = delete_dataset(earmark.db, earmark.storage, operator, args.dataset)
    print(f"Deleted dataset {args.dataset}: {deleted:,} sound{'s' if deleted != 1 else ''} with their annotations and files.")
    return 0


def cmd_delete_sound(args: argparse.Namespace) -> int:
    """Delete sounds by id, with their annotations and Earmark's objects of them (a registered file stays where it
    is); as the HTTP API's DELETE /api/v1/sounds/{id} does for the account that made them."""
    if not args.yes:
        raise ValidationError("yes", f"Deleting {len(args.sound_ids)} sound(s) removes their annotations and audio: add --yes.")
    earmark = current_earmark()
    for sound_id in args.sound_ids:  # each on its own: an unknown id stops here, the ones before it are gone
        with earmark.db.write() as session:
            SoundService(session, earmark.storage).delete(acting_admin(UserService(session)), sound_id)
        print(f"Deleted sound {sound_id} with its annotations and files.")
    return 0


def cmd_db(args: argparse.Namespace) -> int:
    """The database's schema revision (Alembic): upgrade it, say where it is, list the revisions."""
    db = Database(settings().database_url)
    try:
        if args.db_command == "history":
            for revision, what in migrate.history():
                print(f"{revision}  {what}")
        elif args.db_command == "current":
            found = migrate.current(db)
            print(f"{found}{' (newest)' if found == migrate.head() else ''}" if found else "(none: an empty database)")
        else:
            print(f"{db.safe_url} is at revision {migrate.upgrade(db)} (newest: {migrate.head()}).")
    finally:
        db.dispose()
    return 0


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
    earmark = current_earmark()
    password = _password(args.name)
    with earmark.db.write() as session:
        users = UserService(session)
        if users.admin_count() == 0:
            if not args.admin:
                raise EarmarkError("The first account must be an administrator: add --admin.")
            user = users.create(None, args.name, password, args.type, is_admin=True, email=args.email)
        else:
            operator = acting_admin(users)
            user = users.create(operator, args.name, password, args.type, is_admin=args.admin, email=args.email)
    role = "administrator" if user.is_admin else "user"
    print(f"Created {user.user_type} {role} {user.user_name} (id {user.id}).")
    return 0


def cmd_sounds(args: argparse.Namespace) -> int:
    earmark = current_earmark()
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
    earmark = current_earmark()
    with earmark.db.read() as session:
        stats = catalogue_stats(session)
    if args.json:
        print(json.dumps(stats.as_dict(), indent=2))
        return 0
    by_type = ", ".join(f"{n} {t}" for t, n in stats.users_by_type.items())
    print(f"Sounds:      {stats.sounds} in {stats.datasets} datasets, {human_duration(stats.total_duration_seconds)}")
    print(f"Annotations: {stats.annotations}")
    print(f"Users:       {stats.users} ({by_type}; {stats.admins} admin)")
    print(f"Storage:     {stats.files} files, {human_bytes(stats.storage_bytes)} in {earmark.storage.url}: {storage_parts(stats)}")
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

    imp = commands.add_parser(
        "import", help="bulk-import a folder or a ZIP/TAR archive of audio, or register a bucket or folder in place",
        description="Import every audio file under DIR (or in ARCHIVE), keeping relative paths, N files at a time. "
                    "Files already stored are skipped, so running it again resumes an interrupted import. "
                    "An s3:// URL (or DIR with --in-place) is registered where it is: read, never written or deleted.",
    )
    imp.add_argument("path", metavar="DIR|ARCHIVE|s3://BUCKET/PREFIX")
    imp.add_argument("--in-place", action="store_true",
                     help="register the folder's files where they are instead of copying them (always so for s3:// URLs); "
                          "a re-run adds new files and marks vanished ones missing")
    imp.add_argument("--metadata", action="append", default=[], metavar="CSV",
                     help="a CSV or JSON-lines table to join (by path, or by speaker folder); may be repeated; "
                          "with --in-place it may be an s3:// URL")
    imp.add_argument("--path-column", help="the table's column holding each file's relative path")
    imp.add_argument("--dataset", help="dataset name (default: the folder's name)")
    imp.add_argument("--user", help="account that owns the sounds (default: a dataset account named after the dataset)")
    imp.add_argument("--tags", default="", help="comma-separated tags for every sound")
    imp.add_argument("--purpose", choices=["ingestion", "training"], default="ingestion")
    imp.add_argument("--description")
    imp.add_argument("--workers", type=positive, default=16, help="files uploaded at once (default 16)")
    imp.add_argument("--max-files", type=positive, help="import at most N audio files")
    imp.add_argument("--quiet", action="store_true", help="no progress bar")
    imp.set_defaults(func=cmd_import)
    export_commands.add_parsers(commands)  # export, then jobs and worker: --help keeps the order people read it in
    jobs_commands.add_parsers(commands)

    purge = commands.add_parser("purge", help="delete files whose expiry date has passed, and Earmark's own leftovers "
                                              "(never an object Earmark did not write)")
    purge.set_defaults(func=cmd_purge)
    fsck = commands.add_parser("fsck", help="find Earmark's objects without rows and rows without objects (older than a "
                                            "day); objects Earmark did not write are counted and left alone")
    fsck.add_argument("--repair", action="store_true", help="remove them (a row's sound and annotations go too)")
    fsck.set_defaults(func=cmd_fsck)
    drop = commands.add_parser("delete-dataset", help="delete a dataset's sounds, annotations and audio (only objects Earmark wrote)")
    drop.add_argument("dataset")
    drop.add_argument("--yes", action="store_true", help="really delete it")
    drop.set_defaults(func=cmd_delete_dataset)
    remove = commands.add_parser("delete-sound", help="delete sounds by id with their annotations and audio (only objects Earmark wrote)")
    remove.add_argument("sound_ids", nargs="+", metavar="SOUND_ID")
    remove.add_argument("--yes", action="store_true", help="really delete them")
    remove.set_defaults(func=cmd_delete_sound)

    db = commands.add_parser("db", help="the database schema's revision (Alembic migrations)")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    db_commands.add_parser("upgrade", help="bring the database to this code's revision (the app and commands do it on start)")
    db_commands.add_parser("current", help="the database's revision")
    db_commands.add_parser("history", help="every revision, oldest first")
    db.set_defaults(func=cmd_db)

    stats = commands.add_parser("stats", help="what the catalogue holds")
    stats.add_argument("--json", action="store_true")
    stats.set_defaults(func=cmd_stats)
    for group in COMMAND_GROUPS:
        group.add_parsers(commands)
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
