"""``python -m core jobs submit|list|wait|results|cancel`` and ``python -m core worker``: analyzers run as tracked
jobs (core/jobs/queue.py), followed with a progress bar; ``--wait`` runs a job here when no worker takes it."""

from __future__ import annotations

import argparse
import json
import sys
import time

from tqdm import tqdm

from core.accounts.users import UserService
from core.catalogue.search import CatalogueQuery
from core.catalogue.tags import clean_tags
from core.commands.common import acting_admin, current_earmark, positive
from core.context import Earmark
from core.errors import EarmarkError
from core.jobs import results as job_results
from core.jobs.analyzers import ANALYZERS
from core.jobs.queue import JobService, live_workers, run_job, work, worker_name
from core.jobs.states import FINISHED, JobState


def add_parsers(commands: argparse._SubParsersAction) -> None:
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
    listing.add_argument("--limit", type=positive, default=20)
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


def _job_line(job) -> str:
    return (f"{job.id}  {job.analyzer:12s} {job.state:9s} {job.done + job.failed}/{job.total}"
            + (f" ({job.failed} failed)" if job.failed else "") + f"  {job.date_created:%Y-%m-%d %H:%M}")


def cmd_jobs_submit(args: argparse.Namespace) -> int:
    earmark = current_earmark()
    params = dict(item.split("=", 1) for item in args.param) if all("=" in p for p in args.param) else None
    if params is None:
        raise EarmarkError("Give parameters as NAME=VALUE.")
    with earmark.db.write() as session:
        query = CatalogueQuery(dataset=args.dataset, tags=tuple(clean_tags(args.tags)))
        job = JobService(session).submit(acting_admin(UserService(session)), args.analyzer, query=query, params=params)
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
    earmark = current_earmark()
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
    return _wait(current_earmark(), args.job_id, args.quiet)


def cmd_jobs_results(args: argparse.Namespace) -> int:
    """What a job wrote: JSON lines, one per sound, or a CSV table with --csv."""
    earmark = current_earmark()
    with earmark.db.read() as session:
        job = JobService(session).get(args.job_id)
        if args.csv:
            sys.stdout.write(job_results.as_csv(session, job))
        else:
            for sound in job_results.sounds(session, job):
                print(json.dumps(sound))
    return 0


def cmd_jobs_cancel(args: argparse.Namespace) -> int:
    earmark = current_earmark()
    with earmark.db.write() as session:
        job = JobService(session).cancel(acting_admin(UserService(session)), args.job_id)
    print(f"Job {job.id}: {'cancelled' if job.state == 'cancelled' else 'will stop after its current sound'}.")
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    """Run jobs until Ctrl-C (or, with --once, until the queue is empty)."""
    import signal
    import threading

    earmark = current_earmark()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        finished = work(earmark.db, earmark.storage, stop, once=args.once)
    except KeyboardInterrupt:
        stop.set()
        finished = 0
    print(f"Worker stopped after {finished} job(s).")
    return 0
