"""Team: hand out a dataset's sounds to annotators (how many people per sound, for all or a share), follow the
progress per batch and annotator, and see how far people agree (tables, plots, the sounds to look at, CSV)."""

import streamlit as st

from core.accounts.permissions import Action
from core.catalogue.search import CatalogueQuery
from core.team.assignments import AssignRequest
from core.ui import agreement as agreement_ui
from core.ui import shell
from core.ui import team as team_ui

st.set_page_config(page_title="Team · Earmark", page_icon=shell.ICON, layout="wide")
user = shell.page("Team", Action.ASSIGN)
app = shell.earmark()

mine = team_ui.datasets_to_assign(app, user)
if not mine:
    st.info("You have no dataset to hand out: datasets you uploaded (administrators: any) appear here.")
    st.stop()
dataset = st.selectbox("Dataset", mine, key="team_dataset")
assign_tab, progress_tab, agreement_tab = st.tabs(["Assign", "Progress", "Agreement"])

with assign_tab:
    people = st.multiselect("Annotators", team_ui.annotator_names(app), key="team_to",
                            help="Each gets an equal part of the sounds; with 2 or more per sound, each sound goes to that many.")
    row = st.columns(3)
    per_sound = row[0].number_input("People per sound", 1, 10, 1, key="team_per_sound",
                                    help="1 for throughput; 2-3 to measure agreement.")
    share = row[1].slider("Share of the sounds given to that many (the rest to one)", 0.0, 1.0, 1.0, 0.05,
                          key="team_share", disabled=per_sound < 2, format="%.2f")
    seed = row[2].number_input("Seed (which share)", 0, 2**31 - 1, 0, key="team_seed")
    tags = st.text_input("Only sounds with these tags (comma-separated; empty: all sounds not yet assigned)", key="team_tags")
    flags = st.columns(2)
    blind = flags[0].checkbox("Blind: annotators do not see each other's regions until review", True, key="team_blind")
    hide = flags[1].checkbox("Hide machine suggestions from the annotators", False, key="team_hide")
    if st.button("Assign", key="team_assign", type="primary"):
        request = AssignRequest(CatalogueQuery(dataset=dataset, tags=tuple(t.strip() for t in tags.split(",") if t.strip())),
                                tuple(people), per_sound=int(per_sound), share=float(share) if per_sound > 1 else 1.0,
                                seed=int(seed), blind=blind, hide_suggestions=hide)
        done = team_ui.assign_sounds(app, user, request)
        if done is not None:
            shell.flash(done)
            st.rerun()

with progress_tab:
    table = shell.run(lambda: agreement_ui.progress_table(app, user, dataset))
    if table is not None and table.empty:
        st.info("Nothing of this dataset has been assigned yet.")
    elif table is not None:
        st.dataframe(table, hide_index=True, key="team_progress")
        st.caption("Done: submitted or accepted. Throughput is per hour of active time (the page in use, not open). "
                   "Returned: the share of reviewed work a reviewer sent back at least once.")

with agreement_tab:
    result = agreement_ui.on_request(app, user, dataset)
    if result is not None:
        agreement_ui.show(result)
