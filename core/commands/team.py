"""``python -m core assign --dataset D --to alice,bob [--per-sound 2] [--share 0.1] [--seed N] [--tags a,b]
[--where COL=VAL ...] [--not-blind] [--hide-suggestions]``: hand a dataset's sounds out to annotators
(core/team/assignments.py), with ``assign move`` and ``assign take-back`` for work not yet submitted. One summary
line on stdout; a refusal is one line on stderr (core/cli.py's main)."""

from __future__ import annotations

import argparse

from core.accounts.users import UserService
from core.catalogue.search import CatalogueQuery, parse_where
from core.commands.common import acting_admin
from core.context import open_earmark
from core.errors import ValidationError
from core.store.config import settings
from core.team.assignments import AssignRequest, assign, move, take_back


def _share(value: str) -> float:
    try:
        share = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number (0.1 is 10 %)") from None
    if not 0 < share <= 1:
        raise argparse.ArgumentTypeError(f"{value} must be more than 0 and at most 1 (0.1 is 10 %)")
    return share


def _count(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number of at least 1")
    return int(value)


def _names(value: str) -> tuple[str, ...]:
    return tuple(name.strip() for name in value.split(",") if name.strip())


def add_parsers(commands: argparse._SubParsersAction) -> None:
    group = commands.add_parser("assign", help="hand a dataset's sounds out to annotators (and move or take back work)")
    group.add_argument("--dataset", required=True, help="the dataset whose sounds are handed out")
    group.add_argument("--to", type=_names, help="annotators' user names, separated by commas")
    group.add_argument("--per-sound", type=_count, default=1, help="people per sound (default 1)")
    group.add_argument("--share", type=_share, default=1.0, help="of the sounds, the share that gets --per-sound people "
                                                                  "(a seeded choice; the rest get one). Default: all")
    group.add_argument("--seed", type=int, default=0, help="picks the share (default 0)")
    group.add_argument("--tags", default="", help="only sounds with all these tags")
    group.add_argument("--where", action="append", default=[], metavar="COLUMN=VALUE", help="only sounds with this metadata")
    group.add_argument("--not-blind", action="store_true", help="annotators see each other's regions")
    group.add_argument("--hide-suggestions", action="store_true", help="annotators do not see machine suggestions")
    group.add_argument("--as", dest="actor", help="act as this user (default: an active administrator)")
    group.set_defaults(func=cmd_assign)
    actions = group.add_subparsers(dest="assign_command", metavar="ACTION")
    moving = actions.add_parser("move", help="give one annotator's unsubmitted work to another")
    moving.add_argument("--from", dest="source", required=True, help="whose work moves")
    moving.add_argument("--to", dest="target", required=True, help="who gets it")
    moving.add_argument("--sound", action="append", dest="sounds", help="only this sound (repeat for more)")
    moving.set_defaults(func=cmd_move)
    back = actions.add_parser("take-back", help="withdraw one annotator's unsubmitted work (their regions stay)")
    back.add_argument("--from", dest="source", required=True, help="whose work is taken back")
    back.add_argument("--sound", action="append", dest="sounds", help="only this sound (repeat for more)")
    back.set_defaults(func=cmd_take_back)


def _actor(users: UserService, args: argparse.Namespace):
    return users.by_name(args.actor) if args.actor else acting_admin(users)


def cmd_assign(args: argparse.Namespace) -> int:
    if not args.to:
        raise ValidationError("to", "Name the annotators with --to alice,bob.")
    query = CatalogueQuery(dataset=args.dataset, tags=_names(args.tags), where=parse_where(args.where))
    request = AssignRequest(query, args.to, args.per_sound, args.share, args.seed, not args.not_blind, args.hide_suggestions)
    with open_earmark(settings()).db.write() as session:
        summary = assign(session, _actor(UserService(session), args), request)
    print(summary.line() if summary.sounds else f"Nothing new to assign in {args.dataset}: every chosen sound has its annotators.")
    return 0


def cmd_move(args: argparse.Namespace) -> int:
    with open_earmark(settings()).db.write() as session:
        moved = move(session, _actor(UserService(session), args), args.dataset, args.source, args.target, args.sounds)
    print(f"Moved {moved:,} assignment{'s' if moved != 1 else ''} from {args.source} to {args.target}.")
    return 0


def cmd_take_back(args: argparse.Namespace) -> int:
    with open_earmark(settings()).db.write() as session:
        gone = take_back(session, _actor(UserService(session), args), args.dataset, args.source, args.sounds)
    print(f"Took back {gone:,} assignment{'s' if gone != 1 else ''} from {args.source}.")
    return 0
