"""``python -m core agreement --dataset D [--json]``: how far the people annotating a dataset agree
(core/team/agreement.py): a table of the figures for all people, each pair, each person against the gold version,
and each tag; with --json the same figures as one JSON document (what GET /api/v1/agreement answers)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable

from core.context import open_earmark
from core.store.config import settings
from core.team.agreement import Agreement, Figures, agreement, as_dict


def add_parsers(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "agreement", help="how far a dataset's annotators agree (segment F1, start/end deviation, kappa, WER)",
        description="Agreement between any two people who annotated the same sounds of a dataset, and of each with "
                    "the reviewer's gold version: segment F1 (one-to-one at IoU >= 0.5), the mean start and end "
                    "deviation of matched segments, Cohen's kappa per tag on 10 ms frames, and the word error rate "
                    "between matched transcripts. Machine suggestions are left out.")
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--json", action="store_true", help="one JSON document instead of the tables")
    parser.set_defaults(func=cmd_agreement)


def cmd_agreement(args: argparse.Namespace) -> int:
    earmark = open_earmark(settings())
    with earmark.db.read() as session:
        result = agreement(session, args.dataset)
    print(json.dumps(as_dict(result), indent=2) if args.json else "\n".join(table(result)))
    return 0


def _number(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _line(name: str, figures: Figures) -> str:
    kappas = ", ".join(f"{tag} {_number(k)}" for tag, k in figures.kappa.items()) or "-"
    return (f"{name:<28} {figures.sounds:>7,} {figures.regions_first:>8,} {figures.regions_second:>8,} {figures.matched:>8,} "
            f"{_number(figures.segment_f1):>6} {_number(figures.start_ms, 0):>6} {_number(figures.end_ms, 0):>6} "
            f"{_number(figures.wer):>6}  {kappas}")


def table(result: Agreement) -> Iterable[str]:
    """The figures as lines of text: a summary sentence, then one row for all people, each pair and each person
    against gold, then one row per tag."""
    sounds = "1 sound" if result.sounds == 1 else f"{result.sounds:,} sounds"
    yield f"Agreement on dataset {result.dataset!r}: {sounds} annotated by two or more people (or a person and gold)."
    if not result.sounds:
        return
    yield (f"{'who':<28} {'sounds':>7} {'regions':>8} {'regions':>8} {'matched':>8} {'F1':>6} {'start':>6} {'end':>6} "
           f"{'WER':>6}  kappa per tag")
    yield f"{'':<28} {'':>7} {'(first)':>8} {'(second)':>8} {'':>8} {'':>6} {'ms':>6} {'ms':>6}"
    yield _line("all pairs of people", result.overall)
    for pair in (*result.pairs, *result.gold):
        yield _line(f"{pair.first} ~ {pair.second}", pair.figures)
    if result.overall.tags:
        yield ""
        yield f"{'tag':<28} {'regions':>8} {'regions':>8} {'matched':>8} {'F1':>6} {'start':>6} {'end':>6} {'kappa':>6}"
        for tag in result.overall.tags:
            yield (f"{tag.tag:<28} {tag.regions_first:>8,} {tag.regions_second:>8,} {tag.matched:>8,} "
                   f"{_number(tag.segment_f1):>6} {_number(tag.start_ms, 0):>6} {_number(tag.end_ms, 0):>6} {_number(tag.kappa):>6}")
