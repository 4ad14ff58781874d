"""``python -m core annotations import FILE... --dataset D [--as-suggestions [--bot NAME]] [--format F]``: annotations
made in other tools into a dataset (core/annotations/imports/). A folder given is read whole (a Kaldi data folder,
a folder of TextGrids; a ``labels`` folder with the ``transcripts`` folder beside it, as an export writes them). Each
row left out is one line on stderr naming its file, place and reason; the summary is one line on stdout. Exit 0 when
every row went in (or was there already), 1 when a row was left out (the good rows are imported all the same, as the
audio import exits 1 when it refuses a file) or the import was refused (nothing written)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path, PurePosixPath

from tqdm import tqdm

from core.accounts.users import UserService
from core.annotations.imports.audacity import transcripts_beside
from core.annotations.imports.detect import FORMATS, ImportFile
from core.annotations.imports.service import import_annotations
from core.commands.common import acting_admin
from core.context import open_earmark
from core.errors import ValidationError
from core.store.config import settings


def add_parsers(commands: argparse._SubParsersAction) -> None:
    group = commands.add_parser("annotations", help="annotations made in other tools")
    actions = group.add_subparsers(dest="annotations_command", required=True, metavar="ACTION")
    load = actions.add_parser("import", help="import RTTM, TextGrid, Audacity, ELAN, CSV, Label Studio JSON, NeMo or "
                                             "Kaldi annotations into a dataset (a bad row is named and left out)")
    load.add_argument("files", nargs="+", metavar="FILE", help="annotation files, or folders of them (a Kaldi data folder)")
    load.add_argument("--dataset", required=True, help="the dataset whose sounds they are on")
    load.add_argument("--format", choices=FORMATS, help="the files' format (default: told by name and content)")
    load.add_argument("--as-suggestions", action="store_true", help="as a featurebot's suggestions for people to review")
    load.add_argument("--bot", default="import", help="the featurebot's name with --as-suggestions (account bot-NAME)")
    load.add_argument("--user", help="whose annotations they become (default: an active administrator)")
    load.add_argument("--quiet", action="store_true", help="no progress bar")
    load.set_defaults(func=cmd_import)


def _files(paths: list[str]) -> list[ImportFile]:
    """The files named, a folder's files (its relative paths kept under the folder's name) in name order."""
    found: list[ImportFile] = []
    for given in _with_transcripts(paths):
        path = Path(given).expanduser()
        if path.is_dir():
            found += [ImportFile(f"{path.name}/{f.relative_to(path).as_posix()}", f.read_bytes())
                      for f in sorted(path.rglob("*")) if f.is_file()]
        elif path.is_file():
            found.append(ImportFile(given, path.read_bytes()))
        else:
            raise ValidationError("file", f"{given} does not exist.")
    return found


def _with_transcripts(paths: list[str]) -> list[str]:
    """``paths`` and, after a ``labels`` folder given without it, the ``transcripts`` folder beside it."""
    given = {Path(p).expanduser().resolve() for p in paths}
    found = list(paths)
    for p in paths:
        path = Path(p).expanduser()
        beside = transcripts_beside(PurePosixPath(path.resolve().as_posix())) if path.is_dir() else None
        if beside is not None and Path(beside).is_dir() and Path(beside) not in given:
            found.append(str(beside))
            given.add(Path(beside))
    return found


def cmd_import(args: argparse.Namespace) -> int:
    files = _files(args.files)
    earmark = open_earmark(settings())
    with earmark.db.read() as session:
        users = UserService(session)
        actor = users.by_name(args.user) if args.user else acting_admin(users)
    bars: list[tqdm] = []
    try:
        report = import_annotations(
            earmark.db, actor, args.dataset, files, fmt=args.format, as_suggestions=args.as_suggestions, bot=args.bot,
            on_plan=lambda rows: bars.append(tqdm(total=rows, unit="row", desc=f"import into {args.dataset}", disable=args.quiet)),
            progress=lambda rows: bars[0].update(rows))
    finally:
        for bar in bars:
            bar.close()
    for problem in report.problems:
        print(f"left out: {problem}", file=sys.stderr)
    print(f"{report.line()}.")
    return 1 if report.problems else 0
