"""Jobs: run an analyzer over sounds, follow its progress, cancel it, read its report."""

import json

import pandas as pd
import streamlit as st

from core.accounts.permissions import Action
from core.jobs import results as job_results
from core.jobs.analyzers import ANALYZERS
from core.jobs.queue import JobService
from core.jobs.states import ACTIVE, JobState
from core.ui import shell

st.set_page_config(page_title="Jobs · Earmark", page_icon=shell.ICON, layout="wide")
user = shell.page("Jobs", Action.RUN_JOBS)
app = shell.earmark()

st.subheader("New job")
name = st.selectbox("Analyzer", list(ANALYZERS), key="jobs_analyzer")
analyzer = ANALYZERS[name]
st.markdown(f"{analyzer.description}  \n**Output:** {analyzer.outputs}. Version {analyzer.version}.")
params = {}
PER_ROW = 4  # more in one row and their names wrap
specs = list(analyzer.params.items())
columns = [column for start in range(0, len(specs), PER_ROW) for column in st.columns(PER_ROW)]
for column, (param, spec) in zip(columns, specs, strict=False):  # the last row may have spare columns
    if spec.choices:
        params[param] = column.selectbox(param, spec.choices, key=f"jobs_param_{name}_{param}", help=spec.help)
    elif isinstance(spec.default, str):  # a metadata column's name (speaker-check's speaker_column)
        params[param] = column.text_input(param, value=spec.default, key=f"jobs_param_{name}_{param}", help=spec.help)
    else:
        kind = type(spec.default)
        params[param] = column.number_input(param, min_value=kind(spec.minimum), max_value=kind(spec.maximum), value=spec.default,
                                            key=f"jobs_param_{name}_{param}", help=spec.help)
st.caption("The sounds to analyze: the same filters as Browse.")
query = shell.run(lambda: shell.catalogue_filters("jobs"))
if query is not None and st.button("Submit the job", key="jobs_submit", type="primary"):
    def submit():
        with app.db.write() as session:
            return JobService(session).submit(user, name, query=query, params=params)
    job = shell.run(submit)
    if job is not None:
        st.session_state["jobs_following"] = job.id  # its line below follows it to its end
        st.rerun()


def followed_line(job) -> None:
    """The job just submitted, as it goes: queued, running with its count, then how it ended."""
    what = f"Job {job.id} {job.state}: {job.analyzer} over {job.total:,} sound{'s' if job.total != 1 else ''}"
    if job.state in ACTIVE:
        st.info(f"{what}; {job.done + job.failed:,} of {job.total:,} done.")
    elif job.state == JobState.COMPLETED:
        st.success(f"{what}; {job.done:,} done, {job.failed:,} failed.")
    else:
        st.warning(f"{what}; {job.done:,} done, {job.failed:,} failed.")


@st.fragment(run_every=2)
def recent_jobs() -> None:
    st.subheader("Jobs")
    with app.db.read() as session:
        jobs = JobService(session).list(50)
        followed = next((j for j in jobs if j.id == st.session_state.get("jobs_following")), None)
    if followed is not None:
        followed_line(followed)
    if not jobs:
        st.caption("No jobs yet.")
        return
    st.dataframe(pd.DataFrame([{"job": j.id, "analyzer": j.analyzer, "state": j.state, "progress": (j.done + j.failed) / max(j.total, 1),
                   "done": j.done, "failed": j.failed, "total": j.total, "annotations": j.output.get("annotations", 0),
                   "submitted": j.date_created.strftime("%Y-%m-%d %H:%M")} for j in jobs]),
                 hide_index=True, key="jobs_table",
                 column_config={"progress": st.column_config.ProgressColumn("progress", min_value=0.0, max_value=1.0),
                                "state": st.column_config.TextColumn("state", width=100)})
    by_id = {j.id: j for j in jobs}
    chosen = by_id[st.selectbox("Job", list(by_id), key="jobs_chosen",
                                format_func=lambda i: f"{i} · {by_id[i].analyzer} · {by_id[i].state}")]
    middle, right, left = st.columns(3)  # the two downloads first, always in the same place; cancel while it runs
    if chosen.state in ACTIVE and left.button("Cancel this job", key="jobs_cancel", width="stretch"):
        def cancel():
            with app.db.write() as session:
                JobService(session).cancel(user, chosen.id)
        shell.run(cancel, f"Job {chosen.id} cancelled (a running job stops after its current sound).")
    report = {"job": chosen.id, "analyzer": chosen.analyzer, "version": chosen.version, "params": chosen.params,
              "state": chosen.state, "done": chosen.done, "failed": chosen.failed, "total": chosen.total, "output": chosen.output}
    middle.download_button("Download the report (JSON)", json.dumps(report, indent=2), file_name=f"job-{chosen.id}.json",
                           key="jobs_report", on_click="ignore", width="stretch")

    def results_csv() -> str:
        with app.db.read() as session:
            return job_results.as_csv(session, JobService(session).get(chosen.id))

    right.download_button("Download the results (CSV)", results_csv, file_name=f"job-{chosen.id}.csv", mime="text/csv",
                          key="jobs_results", on_click="ignore", help="per sound, the suggestions and metadata fields the job wrote",
                          width="stretch")
    if chosen.output.get("errors"):
        st.dataframe(pd.DataFrame(chosen.output["errors"]), hide_index=True, key="jobs_errors")


recent_jobs()
