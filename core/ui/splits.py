"""The Download page's split options: shares, the columns that keep a group together, stratification, and what the
shares count. The rule itself (and its checks) is core/export/splits.py's."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from core.catalogue.search import CatalogueQuery
from core.export.splits import SplitRule, Weight, check_columns, counted, parse_shares, preview, split_lines
from core.store.db import Database
from core.ui import shell

DEFAULT_SHARES = "train=0.8,dev=0.1,test=0.1"
_NO_STRATUM = "(none)"
PREVIEW_UP_TO = 20_000  # matching sounds placed on every run of the page to say what each split gets; more: on a click
# Columns that usually name a speaker, a recording session or a prompt: offered first as groups, in this order.
_GROUPISH = ("speaker_id", "speaker", "client_id", "session", "session_id", "video_id", "sentence", "prompt")


@dataclass(frozen=True)
class SplitForm:
    shares: str
    group_by: tuple[str, ...]
    stratify: str | None
    weight: Weight
    resplit: bool = False

    def rule(self, seed: int) -> SplitRule:
        """The rule these options make; ValidationError (one sentence) for shares that are not a split."""
        return SplitRule(parse_shares(self.shares), group_by=self.group_by, stratify=self.stratify, weight=self.weight,
                         seed=seed, resplit=self.resplit)


def split_options(columns: list[str]) -> SplitForm:
    """Draw the options; ``columns`` are the metadata columns of the sounds the filters choose."""
    shares_col, weight_col = st.columns([2, 1])
    shares = shares_col.text_input("Splits and their shares", value=DEFAULT_SHARES, key="dl_split_shares",
                                   help="Names and shares adding up to 1, e.g. train=0.8,dev=0.1,test=0.1")
    weight = weight_col.radio("Shares count", list(Weight), horizontal=True, key="dl_split_weight",
                              format_func=lambda w: {Weight.SOUNDS: "sounds", Weight.HOURS: "hours of audio"}[w])
    group_col, stratify_col = st.columns(2)
    ordered = sorted(columns, key=lambda c: (_GROUPISH.index(c) if c in _GROUPISH else len(_GROUPISH), c))  # README's order
    group_by = group_col.multiselect(
        "Keep together (no value spans two splits)", ordered, default=[c for c in ordered if c in _GROUPISH][:1],
        key="dl_split_group_by", help="A speaker, recording session or prompt text in two splits leaks: a model is "
                                      "tested on what it trained on. Sounds without a value are placed one by one.")
    stratify = stratify_col.selectbox("Stratify by (each value split in the same shares)", [_NO_STRATUM, *columns],
                                      key="dl_split_stratify")
    resplit = st.checkbox("Place anew (forget the stored splits)", key="dl_split_resplit",
                          help="When the download starts, the stored split field of every matching sound is deleted and "
                               "all of them are placed from scratch with these choices and the seed. Without it a sound "
                               "an earlier download placed keeps its split.")
    return SplitForm(shares, tuple(group_by), None if stratify == _NO_STRATUM else stratify, Weight(weight or Weight.SOUNDS),
                     resplit)


def columns_found(db: Database, query: CatalogueQuery, rule: SplitRule, viewer_id: str) -> bool:
    """Whether the matching sounds have values in the columns chosen to keep together and stratify by; if not, the
    core's sentence naming the column and the columns they have (the download would be refused: better before it)."""
    def check() -> bool:
        with db.read() as session:
            check_columns(session, query, rule, viewer_id)
        return True
    return shell.run(check) is not None


def placement(db: Database, query: CatalogueQuery, rule: SplitRule, viewer_id: str, matches: int | None) -> dict | None:
    """What the download would place (core/export/splits.py's preview: nothing stored), read from the splits stored
    now: before a download what it will hold, on any run after it what it stored. Beyond PREVIEW_UP_TO matching
    sounds (or uncounted) only on a click; None without one (or on an error, which the shell shows)."""
    if (matches is None or matches > PREVIEW_UP_TO) and not st.button("Show what each split gets", key="dl_split_preview"):
        return None
    with db.read() as session:
        return shell.run(lambda: preview(session, query, rule, viewer_id))


def placement_sentence(summary: dict | None, rule: SplitRule, sounds: str) -> str:
    """The sentence beside the download button, true of what the download does: the splits that get sounds (the
    empty ones named) and whether it places groups with the seed or keeps splits an earlier download stored. Without
    a preview (a large catalogue before its click) what holds whatever is stored."""
    if summary is None:
        how = (f"all placed anew with seed {rule.seed}" if rule.resplit else
               f"a sound an earlier download placed keeps its split, the rest are placed with seed {rule.seed}")
        return f"{sounds} in {' / '.join(rule.names)}, a folder for each that gets sounds: {how}."
    sizes = summary["leakage"]["splits"]
    filled = [name for name in rule.names if sizes[name]["sounds"]]
    empty = [name for name in rule.names if not sizes[name]["sounds"]]
    where = f"{sounds} in {' / '.join(filled)}, {'one folder each' if len(filled) != 1 else 'one folder'}"
    if empty:
        where += f" ({_listed(empty)} {'gets' if len(empty) == 1 else 'get'} no sounds)"
    return f"{where}{_how_placed(summary, rule)}."


def _listed(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def _how_placed(summary: dict, rule: SplitRule) -> str:
    """Whether the seed places anything: a download that only keeps stored splits must not say "placed with seed"."""
    groups, new, kept = summary["placed_now"]["groups"], summary["placed_now"]["sounds"], summary["placed_earlier"]["sounds"]
    anew = " anew" if rule.resplit else ""
    if not new:
        return ": every sound keeps the split an earlier download stored (nothing is placed now, so the seed changes nothing)"
    if not groups:
        return (f": {counted(kept, 'sound')} {'keeps' if kept == 1 else 'keep'} the split an earlier download stored and "
                f"{counted(new, 'new sound')} {'joins its' if new == 1 else 'join their'} group's split (no group is placed "
                "now, so the seed changes nothing)")
    if not kept:
        return f", placed{anew} with seed {rule.seed}"
    return (f": {counted(kept, 'sound')} {'keeps' if kept == 1 else 'keep'} the split an earlier download stored, "
            f"{counted(new, 'sound')} in {counted(groups, 'group')} {'is' if new == 1 else 'are'} placed with seed {rule.seed}")


def show_placement(summary: dict, rule: SplitRule) -> None:
    """What each split gets, in the command line's lines (core/export/splits.py's split_lines), labelled from the
    data: "Stored now" where every sound's split is already stored (as on any run after a download: a plain link
    cannot tell the page it was used), "Will be placed when you download" where none is, and per split both counts
    when some are."""
    sizes, stored = summary["leakage"]["splits"], summary["stored_now"]
    empty = [name for name in rule.names if not sizes[name]["sounds"]]
    new, kept = summary["placed_now"]["sounds"], summary["placed_earlier"]["sounds"]
    if empty:
        verb = "gets" if len(empty) == 1 else "get"
        st.warning(f"{len(empty)} of the {len(sizes)} splits {verb} no sounds with these choices: see below." if new else
                   f"{shell.plain(_listed(empty))} {verb} no sounds: the splits stored now leave {'it' if len(empty) == 1 else 'them'} "
                   "empty. \"Place anew\" places every sound from scratch.")
    written = {name: f"{counted(part['sounds'], 'sound')}, {counted(part['groups'], 'group')}" for name, part in sizes.items()}
    if new and kept:
        written = {name: f"{text}: {stored[name]:,} stored now, {sizes[name]['sounds'] - stored[name]:,} placed when you "
                         "download" for name, text in written.items()}
        st.caption("What each split gets: stored now (kept by the download), and placed when you download:")
    elif new:
        st.caption("Will be placed when you download (each sound's split is stored then, and kept):"
                   if not rule.resplit else "Will be placed when you download (the stored splits are forgotten first):")
    else:
        st.caption("Stored now (by an earlier download; downloading again keeps them):")
    st.text("\n".join(split_lines(summary, written, "no folder in the ZIP")))
