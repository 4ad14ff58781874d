"""The Download page's split options: shares, the columns that keep a group together, stratification, and what the
shares count. The rule itself (and its checks) is core/export/splits.py's."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from core.catalogue.search import CatalogueQuery
from core.export.splits import SplitRule, Weight, check_columns, parse_shares, preview, split_lines
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

    def rule(self, seed: int) -> SplitRule:
        """The rule these options make; ValidationError (one sentence) for shares that are not a split."""
        return SplitRule(parse_shares(self.shares), group_by=self.group_by, stratify=self.stratify, weight=self.weight, seed=seed)


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
    return SplitForm(shares, tuple(group_by), None if stratify == _NO_STRATUM else stratify, Weight(weight or Weight.SOUNDS))


def columns_found(db: Database, query: CatalogueQuery, rule: SplitRule, viewer_id: str) -> bool:
    """Whether the matching sounds have values in the columns chosen to keep together and stratify by; if not, the
    core's sentence naming the column and the columns they have (the download would be refused: better before it)."""
    def check() -> bool:
        with db.read() as session:
            check_columns(session, query, rule, viewer_id)
        return True
    return shell.run(check) is not None


def show_placement(db: Database, query: CatalogueQuery, rule: SplitRule, viewer_id: str, matches: int | None) -> None:
    """What each split gets, placed as the download places it (core/export/splits.py's preview: nothing stored),
    in the command line's lines: before the click what the download will hold, after it (the splits then stored and
    kept) what each split got. Beyond PREVIEW_UP_TO matching sounds (or uncounted) only on a click."""
    if (matches is None or matches > PREVIEW_UP_TO) and not st.button("Show what each split gets", key="dl_split_preview"):
        return
    with db.read() as session:
        summary = shell.run(lambda: preview(session, query, rule, viewer_id))
    if summary is None:
        return
    sizes = summary["leakage"]["splits"]
    written = {name: f"{part['sounds']:,} sound(s), {part['groups']:,} group(s)" for name, part in sizes.items()}
    empty = [name for name, part in sizes.items() if not part["sounds"]]
    if empty:
        st.warning(f"{len(empty)} of the {len(sizes)} splits get no sounds with these choices: see below.")
    st.caption("What each split gets (stored as each sound's split when you download, and kept):")
    st.text("\n".join(split_lines(summary, written, "no folder in the ZIP")))
