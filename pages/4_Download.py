"""Download: one click gives a reproducible random (or balanced) subset as a ZIP."""

import streamlit as st

from core.catalogue.links import file_link
from core.catalogue.sounds import SoundService
from core.catalogue.stats import human_bytes
from core.export.subset import (
    FORMATS,
    ExportRequest,
    check_count,
    default_seed,
    export_to_storage,
)
from core.ui import shell

st.set_page_config(page_title="Download · Earmark", page_icon=shell.ICON, layout="wide")
user = shell.page("Download")
app = shell.earmark()
state = st.session_state

query = shell.run(lambda: shell.catalogue_filters("dl"))
if query is None:
    st.stop()
with app.db.read() as session:
    columns = SoundService(session, app.storage).field_names(query.dataset)

count_col, seed_col, new_seed_col = st.columns([1, 1, 1])
count = count_col.text_input("How many sounds", value="10", key="dl_count")
state.setdefault("dl_seed", default_seed())
if new_seed_col.button("New random seed", key="dl_new_seed", width="stretch"):
    state["dl_seed"] = default_seed()
seed = seed_col.number_input("Random seed (the same seed and filters give the same files)", min_value=0, step=1, key="dl_seed")
balance_col, cap_col = st.columns(2)
balance = balance_col.selectbox("Balance by (equal numbers per value)", ["(no balance)", *columns], key="dl_balance")
cap = cap_col.number_input("At most this many per value (0: no cap)", min_value=0, value=0, step=1, key="dl_cap")
formats = st.multiselect("Annotation formats", FORMATS, default=["csv"], key="dl_formats",
                         format_func=lambda f: {"csv": "CSV", "json": "JSON", "audacity": "Audacity labels",
                                                "textgrid": "Praat TextGrid", "rttm": "RTTM"}[f])
on_missing = st.radio("If a file is missing from storage", ["skip", "fail"], horizontal=True, key="dl_on_missing",
                      format_func=lambda v: {"skip": "export the rest and list it in the manifest", "fail": "stop"}[v])

if st.button("Build the ZIP", key="dl_build", type="primary"):
    def build(progress: shell.Progress):
        request = ExportRequest(
            query=query, viewer_id=user.id, count=check_count(count), seed=int(seed),
            balance=None if balance == "(no balance)" else balance, cap=int(cap) or None, formats=tuple(formats),
            on_missing=on_missing,
        )
        return export_to_storage(app.db, app.storage, user, request, progress=progress.step, on_plan=progress.plan)

    built = shell.run(lambda: shell.track(build, "Building the ZIP"))
    if built is not None:
        state["dl_result"] = built
if result := state.get("dl_result"):
    stored, manifest = result
    note = f"; {len(manifest['missing'])} missing from storage (listed in manifest.json)" if manifest["missing"] else ""
    (st.warning if manifest["missing"] else st.success)(
        f"{manifest['name']}: {manifest['count_included']} files, {manifest['annotations']} annotations, "
        f"{human_bytes(stored.size)}, seed {manifest['request']['seed']}{note}.")
    st.link_button(f"Download {shell.plain(manifest['name'])}", file_link(app.settings, stored, user.id), type="primary")
    st.caption("The link works for an hour; the ZIP is kept for a day.")
    with st.expander("manifest.json"):
        st.json(manifest, expanded=False)
