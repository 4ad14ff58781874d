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
from core.catalogue.search import CatalogueQuery, parse_where
from core.catalogue.sounds import SoundFilter, SoundService, delete_dataset
from core.catalogue.stats import catalogue_stats, human_bytes, human_duration, storage_parts
from core.catalogue.tags import clean_tags
from core.commands import agreement as agreement_commands
from core.commands import annotations as annotation_commands
from core.commands import team as team_commands
from core.context import Earmark, open_earmark
from core.errors import EarmarkError, UnknownFormat, ValidationError
from core.export.formats import TRAINING_FORMATS, FormatOptions, Segments, export_formats, parse_formats
from core.export.splits import SplitRule, Weight, export_splits, parse_shares
from core.export.subset import (
    FORMATS,
    ExportRequest,
    check_count,
    default_seed,
    export_to_file,
)
from core.ingest.demo import load_demo
from core.ingest.pipeline import (
    IngestResult,
    UploadOptions,
    check_dataset_name,
    import_path,
)
from core.ingest.register import EXAMPLES, RegisterSummary, register
from core.ingest.states import IngestStatus
from core.jobs import results as job_results
from core.jobs.analyzers import ANALYZERS
from core.jobs.queue import JobService, live_workers, run_job, work, worker_name
from core.jobs.states import FINISHED, JobState
from core.store import migrate
from core.store.config import settings
from core.store.db import Database
from core.store.paging import PageRequest
from core.store.sources import parse_source
from core.team.versions import Version

# Commands kept in their own modules (core/commands/), one per domain; each adds its parsers.
COMMAND_GROUPS: tuple = (annotation_commands, agreement_commands, team_commands)


def _earmark() -> Earmark:
    return open_earmark(settings())


def cmd_demo(args: argparse.Namespace) -> int:
    earmark = _earmark()
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
    earmark = _earmark()
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
        if result.status in (IngestStatus.REFUSED, IngestStatus.SKIPPED):
            print(f"{result.status} {result.path}: {result.reason}", file=sys.stderr)
    elapsed = time.monotonic() - started
    print(f"Imported into {dataset}: {summary.line()} in {elapsed:.1f} s ({done_bytes / 1e6:.1f} MB stored).")
    return 1 if summary.count(IngestStatus.REFUSED) else 0


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


def cmd_export(args: argparse.Namespace) -> int:
    earmark = _earmark()
    seed = args.seed if args.seed is not None else default_seed()
    try:
        zip_formats, training = parse_formats(args.formats)
    except UnknownFormat as exc:
        raise ValidationError("formats", f"Unknown format {exc.name!r} in --formats: choose from {', '.join(exc.choices)}.") from None
    request = ExportRequest(
        query=CatalogueQuery(dataset=args.dataset, tags=tuple(clean_tags(args.tags)), where=parse_where(args.where)),
        count=check_count(args.count), seed=seed, balance=args.balance, cap=args.cap,
        formats=zip_formats, on_missing=args.on_missing, suggestions=args.suggestions,
        annotation_version=args.annotation_version,
    )
    if training:
        return _export_formats(earmark, request, args)
    if args.split or args.to:
        return _export_splits(earmark, request, args)
    if not args.out:
        raise ValidationError("out", "Say where to write the subset: --out F.zip (or --split ... --to DIR for one ZIP per split).")
    bars: list[tqdm] = []
    plan, manifest = export_to_file(
        earmark.db, earmark.storage, request, Path(args.out),
        progress=lambda _path: bars[0].update(1),
        on_plan=lambda n: bars.append(tqdm(total=n, unit="file", desc="export", disable=args.quiet)),
    )
    for bar in bars:
        bar.close()
    for path in manifest["missing"]:
        print(f"missing from storage: {path}", file=sys.stderr)
    size = Path(args.out).stat().st_size
    print(f"Wrote {args.out} ({manifest['name']}): {manifest['count_included']} files, {manifest['annotations']} annotations, "
          f"{human_bytes(size)}; seed {seed}" + (f"; {len(manifest['missing'])} missing" if manifest["missing"] else "") + ".")
    return 0


def _export_splits(earmark: Earmark, request: ExportRequest, args: argparse.Namespace) -> int:
    """``export --split ... --to DIR``: one ZIP per split and DIR/manifest.json with the leakage report."""
    if not (args.split and args.to):
        raise ValidationError("split", "--split and --to go together: --split train=0.8,dev=0.1,test=0.1 --to DIR.")
    rule = SplitRule(parse_shares(args.split), group_by=tuple(args.group_by), stratify=args.stratify,
                     weight=Weight(args.split_by), seed=request.seed)
    with tqdm(unit="file", desc="export", disable=args.quiet) as bar:
        summary = export_splits(earmark.db, earmark.storage, request, rule, Path(args.to), progress=lambda _path: bar.update(1))
    leaks = summary["leakage"]
    for name, part in summary["exports"].items():
        print(f"{name}: {part['count_included']:,} files in {Path(args.to) / part['file']} "
              f"(share {summary['shares_met'][name]:.3f} of {dict(rule.shares)[name]:g} asked)")
    for name in (n for n in rule.names if n not in summary["exports"]):
        print(f"{name}: empty, no ZIP written (share 0 of {dict(rule.shares)[name]:g} asked: too few groups to reach it)")
    print(f"Leakage: {leaks['groups_across_splits']['count']} group(s), {leaks['identical_audio_across_splits']['count']} "
          f"identical recording(s) and {leaks['identical_transcripts_across_splits']['count']} identical transcript(s) "
          f"across splits; report in {Path(args.to) / 'manifest.json'}; seed {request.seed}.")
    return 0


def _export_formats(earmark: Earmark, request: ExportRequest, args: argparse.Namespace) -> int:
    """``export --formats parquet,... --to DIR|s3://...``: core/export/formats, a folder per split with --split."""
    if not args.to:
        raise ValidationError("to", f"Say where to write {args.formats}: --to DIR or --to s3://bucket/prefix.")
    rule = SplitRule(parse_shares(args.split), group_by=tuple(args.group_by), stratify=args.stratify,
                     weight=Weight(args.split_by), seed=request.seed) if args.split else None
    options = FormatOptions(Segments(args.segments), shard_mb=args.shard_mb, speaker_column=args.speaker_column)
    with tqdm(unit="file", desc="export", disable=args.quiet) as bar:
        manifest = export_formats(earmark.db, earmark.storage, earmark.settings, request, args.formats, args.to, options,
                                  rule, progress=lambda _path: bar.update(1))
    for name, part in manifest["exports"].items():
        for path in part["missing"] + part["unreadable"]:
            print(f"{name or 'export'}: left out {path} (missing from storage or unreadable)", file=sys.stderr)
        size = sum(f["size"] for f in part["files"])
        print(f"{name or 'export'}: {part['count_included']:,} sounds, {len(part['files'])} files, {human_bytes(size)}")
    if rule:
        leaks = manifest["leakage"]
        print(f"Leakage: {leaks['groups_across_splits']['count']} group(s), {leaks['identical_audio_across_splits']['count']} "
              f"identical recording(s) and {leaks['identical_transcripts_across_splits']['count']} identical transcript(s) across splits.")
    print(f"Wrote {', '.join(manifest['formats'])} to {manifest['target']} (manifest.json on top); seed {request.seed}.")
    return 0


def _job_line(job) -> str:
    return (f"{job.id}  {job.analyzer:12s} {job.state:9s} {job.done + job.failed}/{job.total}"
            + (f" ({job.failed} failed)" if job.failed else "") + f"  {job.date_created:%Y-%m-%d %H:%M}")


def cmd_jobs_submit(args: argparse.Namespace) -> int:
    earmark = _earmark()
    params = dict(item.split("=", 1) for item in args.param) if all("=" in p for p in args.param) else None
    if params is None:
        raise EarmarkError("Give parameters as NAME=VALUE.")
    with earmark.db.write() as session:
        query = CatalogueQuery(dataset=args.dataset, tags=tuple(clean_tags(args.tags)))
        job = JobService(session).submit(_operator(UserService(session)), args.analyzer, query=query, params=params)
    print(job.id)
    return _wait(earmark, job.id, args.quiet) if args.wait else 0


NO_WORKER_SECONDS = 5.0  # a live worker (the app's, or `worker`) claims a queued job within a second or two


def _wait(earmark: Earmark, job_id: str, quiet: bool) -> int:
    """Follow a job with a progress bar until it ends; run it here if no worker has taken it after
    NO_WORKER_SECONDS (at once when this server runs no workers), saying so."""
    with earmark.db.read() as session:
        total = JobService(session).get(job_id).total
    untaken_until = time.monotonic() + (0 if earmark.settings.workers == 0 else NO_WORKER_SECONDS)
    with tqdm(total=total, unit="sound", desc="job", disable=quiet) as bar:
        while True:
            with earmark.db.read() as session:
                job = JobService(session).get(job_id)
            bar.n = job.done + job.failed
            bar.refresh()
            if job.state in FINISHED:
                break
            if job.state == JobState.QUEUED and time.monotonic() >= untaken_until:
                if earmark.settings.workers:
                    print(f"No worker took job {job_id} within {NO_WORKER_SECONDS:g} s: running it here.", file=sys.stderr)
                run_job(earmark.db, earmark.storage, job_id, worker_name())
            else:
                time.sleep(0.5)
    print(f"Job {job.id} {job.state}: {job.done} done, {job.failed} failed; {job.output.get('annotations', 0)} annotations, "
          f"{job.output.get('objects', 0)} objects, {job.output.get('fields', 0)} fields written.")
    return 0 if job.state == JobState.COMPLETED else 1


def cmd_jobs_list(args: argparse.Namespace) -> int:
    """Recent jobs, then whether any worker is alive to run the queued ones."""
    earmark = _earmark()
    with earmark.db.read() as session:
        for job in JobService(session).list(args.limit):
            print(_job_line(job))
        workers = live_workers(session)
    if workers:
        print(f"Workers alive: {len(workers)} ({', '.join(w.name for w in workers)}).")
    else:
        print("No worker is running: queued jobs wait until one starts (python -m core worker, or the app with "
              "EARMARK_WORKERS of 1 or more); jobs submit --wait runs a job itself.")
    return 0


def cmd_jobs_wait(args: argparse.Namespace) -> int:
    return _wait(_earmark(), args.job_id, args.quiet)


def cmd_jobs_results(args: argparse.Namespace) -> int:
    """What a job wrote: JSON lines, one per sound, or a CSV table with --csv."""
    earmark = _earmark()
    with earmark.db.read() as session:
        job = JobService(session).get(args.job_id)
        if args.csv:
            sys.stdout.write(job_results.as_csv(session, job))
        else:
            for sound in job_results.sounds(session, job):
                print(json.dumps(sound))
    return 0


def cmd_jobs_cancel(args: argparse.Namespace) -> int:
    earmark = _earmark()
    with earmark.db.write() as session:
        job = JobService(session).cancel(_operator(UserService(session)), args.job_id)
    print(f"Job {job.id}: {'cancelled' if job.state == 'cancelled' else 'will stop after its current sound'}.")
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    """Run jobs until Ctrl-C (or, with --once, until the queue is empty)."""
    import signal
    import threading

    earmark = _earmark()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        finished = work(earmark.db, earmark.storage, stop, once=args.once)
    except KeyboardInterrupt:
        stop.set()
        finished = 0
    print(f"Worker stopped after {finished} job(s).")
    return 0


def cmd_purge(args: argparse.Namespace) -> int:
    earmark = _earmark()
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
    earmark = _earmark()
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
    earmark = _earmark()
    with earmark.db.read() as session:
        operator = _operator(UserService(session))
    deleted = delete_dataset(earmark.db, earmark.storage, operator, args.dataset)
    print(f"Deleted dataset {args.dataset}: {deleted:,} sound{'s' if deleted != 1 else ''} with their annotations and files.")
    return 0


def cmd_delete_sound(args: argparse.Namespace) -> int:
    """Delete sounds by id, with their annotations and Earmark's objects of them (a registered file stays where it
    is); as the HTTP API's DELETE /api/v1/sounds/{id} does for the account that made them."""
    if not args.yes:
        raise ValidationError("yes", f"Deleting {len(args.sound_ids)} sound(s) removes their annotations and audio: add --yes.")
    earmark = _earmark()
    for sound_id in args.sound_ids:  # each on its own: an unknown id stops here, the ones before it are gone
        with earmark.db.write() as session:
            SoundService(session, earmark.storage).delete(_operator(UserService(session)), sound_id)
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

    from core.store.models import User

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
    print(f"Storage:     {stats.files} files, {human_bytes(stats.storage_bytes)} in {earmark.storage.url}: {storage_parts(stats)}")
    return 0


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a positive number")
    return value


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
    imp.add_argument("--workers", type=_positive, default=16, help="files uploaded at once (default 16)")
    imp.add_argument("--max-files", type=_positive, help="import at most N audio files")
    imp.add_argument("--quiet", action="store_true", help="no progress bar")
    imp.set_defaults(func=cmd_import)

    export = commands.add_parser(
        "export", help="write a reproducible random (or balanced) subset as a ZIP",
        description="Write a subset as a ZIP: audio in its original layout, filtered_metadata.csv, metadata.csv "
                    "(Hugging Face AudioFolder), annotations in the formats asked for, and manifest.json. "
                    "The same --seed and filters always give the same files.",
    )
    export.add_argument("--out", metavar="F.zip")
    export.add_argument("--split", metavar="NAME=SHARE,...", help="split every matching sound, e.g. train=0.8,dev=0.1,test=0.1 "
                        "(each sound's split is stored as its metadata field 'split', and kept on later runs)")
    export.add_argument("--group-by", action="append", default=[], metavar="COL",
                        help="metadata column whose values stay in one split (speaker, session); may be repeated")
    export.add_argument("--stratify", metavar="COL", help="split each value of this column in the same shares")
    export.add_argument("--split-by", choices=[w.value for w in Weight], default=Weight.SOUNDS.value,
                        help="what the shares count (default: sounds)")
    export.add_argument("--to", metavar="DIR|s3://bucket/prefix",
                        help="with --split: one ZIP per split and manifest.json (with the leakage report); with training "
                             "formats (parquet, ...): a folder, or an S3 prefix, per split")
    export.add_argument("--count", default="10", help="how many sounds (default 10; more than match means all)")
    export.add_argument("--seed", type=int, help="random seed (default: a new one, printed at the end)")
    export.add_argument("--dataset")
    export.add_argument("--tags", default="", help="only sounds with all these tags (comma-separated)")
    export.add_argument("--where", nargs="*", default=[], metavar="COL=VAL", help="metadata conditions, all of them")
    export.add_argument("--balance", metavar="COL", help="equal numbers per value of this metadata column")
    export.add_argument("--cap", type=_positive, help="at most this many per value of --balance")
    export.add_argument("--formats", default="csv", help=f"comma-separated: the ZIP's annotation formats ({','.join(FORMATS)}) "
                        f"and training formats written to --to ({','.join(TRAINING_FORMATS)})")
    export.add_argument("--segments", choices=[s.value for s in Segments], default=Segments.OFFSETS.value,
                        help="training formats: annotated segments as offsets into whole files, or cut into clips")
    export.add_argument("--shard-mb", type=_positive, default=256, help="Parquet and WebDataset shard size (MB)")
    export.add_argument("--speaker-column", metavar="COL", help="metadata column naming the speaker (default speaker_id or speaker)")
    export.add_argument("--annotation-version", choices=[v.value for v in Version], default=Version.GOLD.value,
                        help="gold: accepted sounds' reviewed version, the rest as annotated (default); annotators: each one's own")
    export.add_argument("--suggestions", action="store_true",
                        help="machine suggestions in the label formats too (TextGrid, RTTM, Audacity, ELAN, NeMo, ...)")
    export.add_argument("--on-missing", choices=["skip", "fail"], default="skip",
                        help="a file missing from storage: export the rest and list it in the manifest (skip), or stop")
    export.add_argument("--quiet", action="store_true", help="no progress bar")
    export.set_defaults(func=cmd_export)

    jobs = commands.add_parser("jobs", help="run analyzers over sounds as tracked jobs")
    jobs_commands = jobs.add_subparsers(dest="jobs_command", required=True, metavar="ACTION")
    submit = jobs_commands.add_parser("submit", help="queue an analyzer over sounds (prints the job id)",
                                      description="Analyzers: " + "; ".join(f"{a.name}: {a.description}" for a in ANALYZERS.values()))
    submit.add_argument("analyzer", choices=sorted(ANALYZERS))
    submit.add_argument("--dataset")
    submit.add_argument("--tags", default="", help="only sounds with all these tags")
    submit.add_argument("--param", action="append", default=[], metavar="NAME=VALUE")
    submit.add_argument("--wait", action="store_true", help="follow it to the end (and run it here if no worker does)")
    submit.add_argument("--quiet", action="store_true")
    submit.set_defaults(func=cmd_jobs_submit)
    listing = jobs_commands.add_parser("list", help="recent jobs")
    listing.add_argument("--limit", type=_positive, default=20)
    listing.set_defaults(func=cmd_jobs_list)
    wait = jobs_commands.add_parser("wait", help="follow a job to its end")
    wait.add_argument("job_id")
    wait.add_argument("--quiet", action="store_true")
    wait.set_defaults(func=cmd_jobs_wait)
    results = jobs_commands.add_parser("results", help="what a job wrote: per sound its suggestions and fields")
    results.add_argument("job_id")
    results.add_argument("--csv", action="store_true", help="a table, one row per suggestion (default: JSON lines)")
    results.set_defaults(func=cmd_jobs_results)
    cancel = jobs_commands.add_parser("cancel", help="stop a job")
    cancel.add_argument("job_id")
    cancel.set_defaults(func=cmd_jobs_cancel)
    worker = commands.add_parser("worker", help="run queued jobs (one more worker process)")
    worker.add_argument("--once", action="store_true", help="stop when the queue is empty")
    worker.set_defaults(func=cmd_worker)

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
