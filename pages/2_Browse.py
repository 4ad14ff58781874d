"""Browse: the catalogue, a page at a time (keyset paging), filtered by dataset and tags."""

import streamlit as st

from core import ui
from core.paging import PageRequest
from core.sounds import SoundFilter, SoundService
from core.stats import human_duration

st.set_page_config(page_title="Browse · Earmark", page_icon=":material/search:", layout="wide")
user = ui.page("Browse")
app = ui.earmark()

with app.db.read() as session:
    datasets = SoundService(session, app.storage).datasets()
names = [name for name, _ in datasets]
wanted = st.query_params.get("dataset")
left, right, size = st.columns([2, 2, 1])
dataset = left.selectbox(
    "Dataset", ["(all)"] + names, index=(names.index(wanted) + 1) if wanted in names else 0, key="browse_dataset",
    format_func=lambda n: n if n == "(all)" else f"{n} ({dict(datasets)[n]})",
)
tags = right.text_input("Tags (all of, comma-separated)", value=st.query_params.get("tags", ""), key="browse_tags")
page_size = size.selectbox("Per page", [25, 50, 100, 500], index=1, key="browse_page_size")
st.query_params.update({"dataset": "" if dataset == "(all)" else dataset, "tags": tags})

filters_now = (dataset, tags, page_size)
if st.session_state.get("browse_filters") != filters_now:  # new filters: back to the first page
    st.session_state["browse_filters"] = filters_now
    st.session_state["browse_cursor"] = []

cursor: list[str] = st.session_state["browse_cursor"]
filters = SoundFilter(dataset=None if dataset == "(all)" else dataset, tags=tuple(t for t in tags.split(",") if t.strip()))
with ui.shown_errors(), app.db.read() as session:
    page = SoundService(session, app.storage).list(PageRequest(page_size, 1, cursor[-1] if cursor else None), filters)
    first = len(cursor) * page_size + 1
    st.caption(f"{page.total_count:,} sounds match; showing {first:,}–{first + len(page.items) - 1:,}." if page.items
               else "No sounds match these filters.")
    st.dataframe(
        [{"dataset": s.dataset, "path": s.path, "duration": human_duration(s.duration_seconds),
          "rate": s.sample_rate, "channels": s.channels, "tags": ", ".join(s.tag_names), "id": s.id}
         for s in page.items],
        hide_index=True, key="browse_table",
    )
    prev_col, next_col = st.columns(2)
    if prev_col.button("← Previous", key="browse_prev", disabled=not cursor):
        cursor.pop()
        st.rerun()
    if next_col.button("Next →", key="browse_next", disabled=page.next is None):
        cursor.append(page.items[-1].id)
        st.rerun()
