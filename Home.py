"""Home: what the catalogue holds and what to do next."""

import streamlit as st

from core.accounts.permissions import Action, can_any
from core.catalogue.stats import catalogue_stats, human_bytes, human_duration, storage_parts
from core.ingest.demo import load_demo
from core.ui import shell

st.set_page_config(page_title="Earmark", page_icon=shell.ICON, layout="wide")
user = shell.page("Earmark")
app = shell.earmark()

with app.db.read() as session:
    stats = catalogue_stats(session)

cols = st.columns(5)
cols[0].metric("Sounds", f"{stats.sounds:,}")
cols[1].metric("Total duration", human_duration(stats.total_duration_seconds))
cols[2].metric("Annotations", f"{stats.annotations:,}")
cols[3].metric("Users", f"{stats.users:,}")
cols[4].metric("Storage used", human_bytes(stats.storage_bytes), help=storage_parts(stats))
st.caption(
    "Users by type: " + ", ".join(f"{n} {t}" for t, n in stats.users_by_type.items())
    + f" ({stats.admins} administrator{'s' if stats.admins != 1 else ''}). "
    + f"Datasets: {stats.datasets}. Storage used: {storage_parts(stats)}, in `{app.storage.url}`."
)

if stats.sounds == 0:
    st.subheader("Get started")
    st.write(
        "The catalogue is empty. Load the demo dataset (32 generated drum and tone clips with known onsets, "
        "in the VoxCeleb folder layout), or run `python -m core demo` on the server."
    )
    if can_any(user, Action.UPLOAD):
        if st.button("Load the demo dataset", key="load_demo", type="primary"):
            with st.spinner("Generating and ingesting the demo clips..."):
                summary = shell.run(lambda: load_demo(app.db, app.storage, max_bytes=app.settings.max_upload_bytes))
            if summary is not None:
                shell.flash(f"Demo dataset: {summary.line()}.")
                st.rerun()
    else:
        st.info("Ask a dataset user or an administrator to load data: your account can annotate but not upload.")
else:
    st.subheader("What next")
    st.write("Upload more recordings, browse the catalogue, or manage accounts." if can_any(user, Action.UPLOAD)
             else "Browse the catalogue, annotate its sounds, or download a subset.")

for entry in shell.offered(user)[1:]:  # Home itself first
    purpose = entry.purpose + (" and all accounts" if entry.label == "Users" and user.is_admin else "")
    st.page_link(entry.path, label=f"{entry.label}: {purpose}", icon=entry.icon)
st.markdown(":material/api: [HTTP API](/api/v1/docs): the same things for bots and scripts (Basic or token), "
            "and a Python client, `earmark_client.Client` (`pip install` this repository).")
