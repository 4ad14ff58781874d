"""The Download page's split options: shares, the columns that keep a group together, stratification, and what the
shares count. The rule itself (and its checks) is core/export/splits.py's."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from core.export.splits import SplitRule, Weight, parse_shares

DEFAULT_SHARES = "train=0.8,dev=0.1,test=0.1"
_NO_STRATUM = "(none)"
# Columns that usually name a speaker, a recording session or a prompt: offered first as groups.
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
    ordered = sorted(columns, key=lambda c: (c not in _GROUPISH, c))
    group_by = group_col.multiselect(
        "Keep together (no value spans two splits)", ordered, default=[c for c in ordered if c in _GROUPISH][:1],
        key="dl_split_group_by", help="A speaker, recording session or prompt text in two splits leaks: a model is "
                                      "tested on what it trained on. Sounds without a value are placed one by one.")
    stratify = stratify_col.selectbox("Stratify by (each value split in the same shares)", [_NO_STRATUM, *columns],
                                      key="dl_split_stratify")
    return SplitForm(shares, tuple(group_by), None if stratify == _NO_STRATUM else stratify, Weight(weight or Weight.SOUNDS))
