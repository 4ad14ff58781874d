"""``python -m core export``: a reproducible subset as a ZIP (``--out``), split with a leakage report (``--split ...
--to DIR``), or in training formats to a folder or S3 (``--formats parquet,... --to DIR|s3://...``). The work is
core/export's; this parses, shows progress and prints one summary line per part."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from tqdm import tqdm

from core.catalogue.search import CatalogueQuery, parse_where
from core.catalogue.stats import human_bytes
from core.catalogue.tags import clean_tags
from core.commands.common import current_earmark, file_bar, positive
from core.context import Earmark
from core.errors import UnknownFormat, ValidationError
from core.export.formats import TRAINING_FORMATS, FormatOptions, Segments, export_formats, parse_formats
from core.export.splits import SplitRule, Weight, counted, export_splits, leakage_line, parse_shares, split_lines
from core.export.subset import FORMATS, ExportRequest, check_count, default_seed, export_to_file
from core.team.versions import Version


def add_parsers(commands: argparse._SubParsersAction) -> None:
    export = commands.add_parser(
        "export", help="write a reproducible subset: a ZIP, splits with a leakage report, or training formats",
        description="Write a subset as a ZIP (--out): audio in its original layout, filtered_metadata.csv, metadata.csv "
                    "(Hugging Face AudioFolder), annotations in the formats asked for, and manifest.json. With --split "
                    "and --to, one ZIP per split and manifest.json with the leakage report; with training formats in "
                    "--formats (parquet, webdataset, nemo, lhotse, kaldi, eaf), a folder or S3 prefix (per split). "
                    "The same --seed and filters always give the same files.",
    )
    export.add_argument("--out", metavar="F.zip")
    export.add_argument("--split", metavar="NAME=SHARE,...", help="split every matching sound, e.g. train=0.8,dev=0.1,test=0.1 "
                        "(each sound's split is stored as its metadata field 'split', and kept on later runs)")
    export.add_argument("--group-by", action="append", default=[], metavar="COL",
                        help="metadata column whose values stay in one split (speaker, session); may be repeated")
    export.add_argument("--stratify", metavar="COL", help="split each value of this column in the same shares")
    export.add_argument("--split-by", choices=[w.value for w in Weight],
                        help="what the shares count (default: sounds)")
    export.add_argument("--resplit", action="store_true",
                        help="with --split: forget the stored splits of the matching sounds and place them all anew")
    export.add_argument("--to", metavar="DIR|s3://bucket/prefix",
                        help="with --split: one ZIP per split and manifest.json (with the leakage report); with training "
                             "formats (parquet, ...): a folder, or an S3 prefix, per split")
    export.add_argument("--count", default="10", help="how many sounds (default 10; more than match means all)")
    export.add_argument("--seed", type=int, help="random seed (default: a new one, printed at the end)")
    export.add_argument("--dataset")
    export.add_argument("--tags", default="", help="only sounds with all these tags (comma-separated)")
    export.add_argument("--where", nargs="*", default=[], metavar="COL=VAL", help="metadata conditions, all of them")
    export.add_argument("--balance", metavar="COL", help="equal numbers per value of this metadata column")
    export.add_argument("--cap", type=positive, help="at most this many per value of --balance")
    export.add_argument("--formats", default="csv", help=f"comma-separated: the ZIP's annotation formats ({','.join(FORMATS)}) "
                        f"and training formats written to --to ({','.join(TRAINING_FORMATS)})")
    export.add_argument("--segments", choices=[s.value for s in Segments], default=Segments.OFFSETS.value,
                        help="training formats: annotated segments as offsets into whole files, or cut into clips")
    export.add_argument("--shard-mb", type=positive, default=256, help="Parquet and WebDataset shard size (MB)")
    export.add_argument("--speaker-column", metavar="COL", help="metadata column naming the speaker (default speaker_id or speaker)")
    export.add_argument("--overwrite", action="store_true",
                        help="replace an earlier export in --to (only the files its manifest.json lists are deleted; other "
                             "files there refuse the export); without it, a --to that holds files is refused")
    export.add_argument("--annotation-version", choices=[v.value for v in Version], default=Version.GOLD.value,
                        help="gold: accepted sounds' reviewed version, the rest as annotated (default); annotators: each one's own")
    export.add_argument("--suggestions", action="store_true",
                        help="machine suggestions in the label formats too (TextGrid, RTTM, Audacity, ELAN, NeMo, ...)")
    export.add_argument("--on-missing", choices=["skip", "fail"], default="skip",
                        help="a file missing from storage: export the rest and list it in the manifest (skip), or stop")
    export.add_argument("--quiet", action="store_true", help="no progress bar")
    export.set_defaults(func=cmd_export)


def cmd_export(args: argparse.Namespace) -> int:
    _check_split_options(args)
    earmark = current_earmark()
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


def _check_split_options(args: argparse.Namespace) -> None:
    """The split options mean nothing without --split: one sentence rather than a random subset that ignored them."""
    given = [option for option, value in (("--group-by", args.group_by), ("--stratify", args.stratify),
                                          ("--split-by", args.split_by), ("--resplit", args.resplit)) if value]
    if given and not args.split:
        several = len(given) > 1
        raise ValidationError("split", f"{', '.join(given)} only {'shape' if several else 'shapes'} a split: add --split "
                                       f"NAME=SHARE,... (as in --split train=0.8,dev=0.1,test=0.1), or leave {'them' if several else 'it'} out.")


def _rule(args: argparse.Namespace, seed: int) -> SplitRule:
    """The split rule the arguments name (with --split)."""
    return SplitRule(parse_shares(args.split), group_by=tuple(args.group_by), stratify=args.stratify,
                     weight=Weight(args.split_by or Weight.SOUNDS.value), seed=seed, resplit=args.resplit)


def _without_a_group_value(summary: dict[str, Any], rule: SplitRule) -> None:
    """Say how many sounds had no value in a --group-by column (each then a group of its own): the column exists
    (core/export/splits.py refuses one no sound has), but these sounds would leak if they belong with others."""
    lone = summary["placed_now"]["sounds_without_a_group_value"]
    if lone and rule.group_by:
        print(f"{counted(lone, 'sound')} {'has' if lone == 1 else 'have'} no value in --group-by {', '.join(rule.group_by)}: "
              f"{'it was' if lone == 1 else 'each was'} placed as a group of its own.")


def _export_splits(earmark: Earmark, request: ExportRequest, args: argparse.Namespace) -> int:
    """``export --split ... --to DIR``: one ZIP per split and DIR/manifest.json with the leakage report."""
    if not (args.split and args.to):
        raise ValidationError("split", "--split and --to go together: --split train=0.8,dev=0.1,test=0.1 --to DIR.")
    rule = _rule(args, request.seed)
    with file_bar("export", args.quiet) as progress:
        summary = export_splits(earmark.db, earmark.storage, request, rule, Path(args.to), progress=progress,
                                overwrite=args.overwrite)
    written = {name: f"{part['count_included']:,} files in {Path(args.to) / part['file']}" for name, part in summary["exports"].items()}
    print("\n".join(split_lines(summary, written, "no ZIP written")))
    _without_a_group_value(summary, rule)
    print(f"{leakage_line(summary['leakage'])}; report in {Path(args.to) / 'manifest.json'}; seed {request.seed}.")
    return 0


def _export_formats(earmark: Earmark, request: ExportRequest, args: argparse.Namespace) -> int:
    """``export --formats parquet,... --to DIR|s3://...``: core/export/formats, a folder per split with --split."""
    if not args.to:
        raise ValidationError("to", f"Say where to write {args.formats}: --to DIR or --to s3://bucket/prefix.")
    rule = _rule(args, request.seed) if args.split else None
    options = FormatOptions(Segments(args.segments), shard_mb=args.shard_mb, speaker_column=args.speaker_column)
    with file_bar("export", args.quiet) as progress:
        manifest = export_formats(earmark.db, earmark.storage, earmark.settings, request, args.formats, args.to, options,
                                  rule, progress=progress, overwrite=args.overwrite)
    written: dict[str, str] = {}
    for name, part in manifest["exports"].items():
        for path in part["missing"] + part["unreadable"]:
            print(f"{name or 'export'}: left out {path} (missing from storage or unreadable)", file=sys.stderr)
        size = sum(f["size"] for f in part["files"])
        written[name] = f"{part['count_included']:,} sounds, {len(part['files'])} files, {human_bytes(size)}"
    print("\n".join(split_lines(manifest, written, "no folder written") if rule else [f"export: {written['']}"]))
    if rule:
        _without_a_group_value(manifest, rule)
        print(f"{leakage_line(manifest['leakage'])}.")
    print(f"Wrote {', '.join(manifest['formats'])} to {manifest['target']} (manifest.json on top); seed {request.seed}.")
    return 0
