"""The Team page's Agreement and Progress views (issue 27): core/team/agreement.py's figures as tables and plots per
pair of annotators, per annotator against gold and per tag, the sounds people disagree on most (each a link to its
review), a CSV of every figure, and core/team/progress.py's figures per batch and annotator.

May import: core.team, core.accounts, core.store, core.ui and streamlit.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pandas as pd
import plotly.express as px
import streamlit as st

from core.accounts.permissions import Action
from core.context import Earmark
from core.store.models import User
from core.team import agreement, progress
from core.team.agreement import Agreement, Figures
from core.team.assignments import require_dataset
from core.ui import shell


def figures(app: Earmark, user: User, dataset: str) -> Agreement:
    """The dataset's agreement, for someone who may review it (the role table, core/accounts/permissions.py)."""
    with app.db.read() as session:
        require_dataset(session, user, Action.REVIEW, dataset)
        return agreement.agreement(session, dataset)


def on_request(app: Earmark, user: User, dataset: str) -> Agreement | None:
    """The dataset's agreement as this person last had it computed, or None before they ask. Agreement reads every
    region of the dataset (seconds for a large one), so it is computed only when the button is pressed, never
    again on the page's other runs (a widget changed elsewhere); the figures say when they were made."""
    kept: dict[str, tuple[Agreement, datetime]] = st.session_state.setdefault("agreement_figures", {})
    if st.button("Compute agreement", key="agreement_compute",
                 help="Reads every region of the dataset: figures stay as they are until you press it again."):
        result = shell.run(lambda: figures(app, user, dataset))
        if result is not None:
            kept[dataset] = (result, datetime.now(UTC))
    if dataset not in kept:
        st.caption("Agreement between the people who annotated the same sounds: press Compute agreement.")
        return None
    result, when = kept[dataset]
    st.caption(f"Figures as of {when:%H:%M:%S} UTC: press Compute agreement again for work done since.")
    return result


def _row(first: str, second: str, found: Figures) -> dict[str, object]:
    return {"first": first, "second": second, "sounds": found.sounds, "regions (first)": found.regions_first,
            "regions (second)": found.regions_second, "matched": found.matched, "segment F1": found.segment_f1,
            "start Δ ms": found.start_ms, "end Δ ms": found.end_ms, "WER": found.wer}


def pair_table(result: Agreement) -> pd.DataFrame:
    """The dataset, each pair of people, each person against gold: one row each."""
    rows = [_row("all pairs", "", result.overall)]
    rows += [_row(p.first, p.second, p.figures) for p in result.pairs]
    rows += [_row(p.first, "gold", p.figures) for p in result.gold]
    return pd.DataFrame(rows)


def tag_table(result: Agreement) -> pd.DataFrame:
    """Per tag over all pairs of people: regions, segment F1, deviations and frame kappa."""
    return pd.DataFrame([{"tag": t.tag, "regions (first)": t.regions_first, "regions (second)": t.regions_second,
                          "matched": t.matched, "segment F1": t.segment_f1, "start Δ ms": t.start_ms,
                          "end Δ ms": t.end_ms, "kappa": t.kappa} for t in result.overall.tags])


def worst_table(result: Agreement) -> pd.DataFrame:
    return pd.DataFrame([{"review": f"/Review?sound={w.sound_id}", "file": w.path, "first": w.first,
                          "second": w.second, "segment F1": w.figures.segment_f1, "matched": w.figures.matched,
                          "regions": f"{w.figures.regions_first} / {w.figures.regions_second}"} for w in result.worst])


def shown(table: pd.DataFrame) -> pd.DataFrame:
    """The table as a person reads it: a figure that does not exist for a row (no transcripts to compare: WER; no
    region matched: deviations) is a dash, as in the metrics above, not the grid's "None"; such a column's figures
    become text to two decimals (the grid draws a missing value as "None" whatever a Styler says). Columns with a
    figure in every row stay numbers."""
    out = table.copy()
    for column in out.columns:
        values = out[column]
        present = values.dropna().infer_objects()
        if values.isna().any() and (present.empty or pd.api.types.is_numeric_dtype(present)):
            out[column] = ["–" if pd.isna(v) else f"{v:.2f}" for v in values]
    return out


def csv_text(result: Agreement) -> str:
    """Every figure as CSV rows (core/team/agreement.py ``rows``; a few rows per pair and tag)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=agreement.CSV_COLUMNS)
    writer.writeheader()
    writer.writerows(agreement.rows(result))
    return out.getvalue()


def show(result: Agreement) -> None:
    """The agreement view: headline figures, per annotator, per tag (with a plot each), the worst sounds, CSV."""
    overall = result.overall
    heads = st.columns(4)
    heads[0].metric("Sounds compared", f"{result.sounds:,}")
    heads[1].metric("Segment F1 (all pairs)", "–" if overall.segment_f1 is None else f"{overall.segment_f1:.2f}")
    heads[2].metric("Mean start / end Δ", "–" if overall.start_ms is None else f"{overall.start_ms:.0f} / {overall.end_ms:.0f} ms")
    heads[3].metric("Word error rate", "–" if overall.wer is None else f"{overall.wer:.1%}")
    if not result.pairs and not result.gold:
        st.info("No sound of this dataset has regions from two people (or a person and an accepted gold version) yet.")
        return
    people = pair_table(result)
    st.markdown("**Per annotator: each pair, and each person against the gold version**")
    st.dataframe(shown(people), hide_index=True, key="agreement_people")
    plotted = people[people["first"] != "all pairs"].assign(pair=lambda d: d["first"] + " · " + d["second"])
    st.plotly_chart(px.bar(plotted, x="pair", y="segment F1", range_y=[0, 1], height=300,
                           title="Segment F1 per pair (IoU ≥ 0.5, one to one)"), key="agreement_people_plot")
    tags = tag_table(result)
    st.markdown("**Per tag (all pairs of people)**")
    st.dataframe(shown(tags), hide_index=True, key="agreement_tags")
    if not tags.empty:
        long = tags.melt(id_vars="tag", value_vars=["segment F1", "kappa"], var_name="figure")
        st.plotly_chart(px.bar(long, x="tag", y="value", color="figure", barmode="group", range_y=[-1, 1], height=300,
                               title="Segment F1 and frame kappa (10 ms) per tag"), key="agreement_tags_plot")
    st.markdown("**Where people disagree most** (lowest segment F1 first; open a sound to review it)")
    st.dataframe(worst_table(result), hide_index=True, key="agreement_worst",
                 column_config={"review": st.column_config.LinkColumn("review", display_text="open")})
    st.download_button("Download every figure (CSV)", csv_text(result), file_name=f"agreement-{result.dataset}.csv",
                       mime="text/csv", key="agreement_csv")


def progress_table(app: Earmark, user: User, dataset: str) -> pd.DataFrame:
    """Per batch (its total first) and annotator: sounds done, audio hours done, throughput, returned share."""
    with app.db.read() as session:
        rows = progress.progress(session, user, dataset)
    return pd.DataFrame([{"batch": row.batch_id, "annotator": row.annotator or "(whole batch)", "assigned": row.assigned,
                          "done": row.done, "accepted": row.accepted, "audio hours done": round(row.audio_hours_done, 3),
                          "active hours": round(row.active_hours, 3),
                          "sounds / active hour": None if row.sounds_per_hour is None else round(row.sounds_per_hour, 1),
                          "audio h / active h": None if row.audio_hours_per_hour is None else round(row.audio_hours_per_hour, 2),
                          "returned": None if row.returned_share is None else f"{row.returned_share:.0%}"} for row in rows])
