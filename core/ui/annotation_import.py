"""The Upload page's Annotations tab: annotation files made in other tools (core/annotations/imports/) dropped for a
dataset, imported as one's own annotations or as a featurebot's suggestions, with a line saying what went in and a
table of every row left out (file, place, reason). Kept here so pages/1_Upload.py only places the tab."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.accounts.permissions import Action, can
from core.annotations.imports.detect import FORMATS, ImportFile
from core.annotations.imports.service import ImportReport, import_annotations
from core.context import Earmark
from core.store.models import User
from core.ui import shell

DETECT = "(detect from name and content)"
MAX_MB = 64  # per file: annotation tables, not audio (the API's body limit for a request: core/api/guards.py)


def section(app: Earmark, user: User) -> None:
    st.caption("RTTM, Praat TextGrid, Audacity labels, ELAN .eaf, CSV (file, start, end, label, text), Label Studio "
               "JSON, NeMo manifests, or a Kaldi folder's segments, text and wav.scp. Rows are matched to the dataset's "
               "sounds by path, file name or sound id; a row that cannot be read or placed is listed below and the rest "
               "go in. Importing the same file again adds nothing.")
    left, right = st.columns(2)
    dataset = left.text_input("Dataset", value=user.user_name, key="annotations_dataset")
    fmt = right.selectbox("Format", [DETECT, *FORMATS], key="annotations_format")
    suggestions = can(user, Action.IMPORT_SUGGESTIONS) and left.checkbox(
        "As a featurebot's suggestions (people accept or reject them)", key="annotations_as_suggestions")
    bot = right.text_input("Featurebot name (its account: bot-<name>)", value="import", key="annotations_bot",
                           disabled=not suggestions)
    files = st.file_uploader("Annotation files", accept_multiple_files=True, key="annotations_files", max_upload_size=MAX_MB)
    folder = st.file_uploader("Or a folder of them (an export's labels/ and transcripts/, a Kaldi data folder)",
                              accept_multiple_files="directory", key="annotations_folder", max_upload_size=MAX_MB)
    dropped = [ImportFile(f.name, f.getvalue()) for f in [*(files or []), *(folder or [])]]
    if st.button("Import annotations", key="annotations_submit", type="primary", disabled=not dropped):
        def work(progress: shell.Progress) -> ImportReport:
            return import_annotations(app.db, user, dataset.strip(), dropped, fmt=None if fmt == DETECT else fmt,
                                      as_suggestions=bool(suggestions), bot=bot,
                                      on_plan=progress.plan, progress=lambda rows: _steps(progress, rows))

        report = shell.run(lambda: shell.track(work, "Importing annotations"))
        st.session_state["annotations_report"] = report
    _show(st.session_state.get("annotations_report"))


def _steps(progress: shell.Progress, rows: int) -> None:
    """shell.track's bar counts steps: one per row written."""
    for _ in range(rows):
        progress.step()


def _show(report: ImportReport | None) -> None:
    if report is None:
        return
    (st.warning if report.problems else st.success)(shell.plain(f"{report.line()}."))
    if report.problems:
        st.dataframe(pd.DataFrame([{"file": p.file, "where": p.where, "reason": p.reason} for p in report.problems]),
                     hide_index=True, key="annotations_problems")
