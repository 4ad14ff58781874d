"""Upload: drop audio files into a dataset; each is checked, hashed, deduplicated and stored."""

import streamlit as st

from core import ui
from core.ingest import ingest_audio
from core.permissions import Action

st.set_page_config(page_title="Upload · Earmark", page_icon=":material/upload:", layout="wide")
user = ui.page("Upload", Action.UPLOAD)
app = ui.earmark()

dataset = st.text_input("Dataset", value=st.session_state.get("upload_dataset_default", user.user_name), key="upload_dataset",
                        help="Sounds are stored under audio/<dataset>/<file path>.")
tags = st.text_input("Tags for every file (comma-separated)", key="upload_tags")
files = st.file_uploader(
    "Audio files (WAV, FLAC, OGG, MP3, AIFF)", accept_multiple_files=True, key="upload_files",
    max_upload_size=app.settings.max_upload_mb,
)
if st.button("Upload", key="upload_submit", type="primary", disabled=not files):
    results = []
    bar = st.progress(0.0, text="Storing files...")
    for i, uploaded in enumerate(files, start=1):
        results.append(ingest_audio(
            app.db, app.storage, user, dataset, uploaded.name, uploaded,
            max_bytes=app.settings.max_upload_bytes, tags=[t for t in tags.split(",") if t.strip()],
        ))
        bar.progress(i / len(files), text=f"{i} of {len(files)}: {uploaded.name}")
    bar.empty()
    stored = sum(r.status == "stored" for r in results)
    st.success(f"{stored} stored, {sum(r.status == 'duplicate' for r in results)} already there, "
               f"{sum(r.status == 'refused' for r in results)} refused.")
    st.dataframe([{"file": r.path, "result": r.status, "reason": r.reason, "sound id": r.sound_id or ""} for r in results],
                 hide_index=True, key="upload_results")
