"""Upload: drop files, folders and archives into a dataset; and the registry of every stored file."""

import datetime as dt

import pandas as pd
import streamlit as st

from core.accounts.permissions import Action, can
from core.catalogue.files import (
    UPLOAD_CATEGORIES,
    UPLOAD_SUFFIXES,
    FileService,
    parse_extra,
    public_file,
)
from core.catalogue.metadata import METADATA_FORMATS
from core.catalogue.stats import human_bytes, storage_by_kind
from core.ingest.pipeline import UploadOptions, ingest_upload, without_common_folder
from core.ingest.register import register
from core.ingest.states import IngestStatus
from core.store.models import PURPOSES
from core.ui import annotation_import, shell

st.set_page_config(page_title="Upload · Earmark", page_icon=shell.ICON, layout="wide")
user = shell.page("Upload", Action.UPLOAD)
app = shell.earmark()
PAGE_SIZE = 50

registers = can(user, Action.REGISTER_SOURCES)
tabs = st.tabs(["Upload", "Register in place", "Annotations", "Files"] if registers else ["Upload", "Annotations", "Files"])
upload_tab, annotations_tab, files_tab = tabs[0], tabs[-2], tabs[-1]  # "Register in place": administrators
with annotations_tab:
    annotation_import.section(app, user)

with upload_tab:
    left, right = st.columns(2)
    dataset = left.text_input("Dataset", value=user.user_name, key="upload_dataset",
                              help="Sounds are stored under audio/<dataset>/<path in the upload>, so subsets keep the layout.")
    tags = right.text_input("Tags for every sound (comma-separated)", key="upload_tags")
    purpose = left.radio("Purpose", PURPOSES[::-1], horizontal=True, key="upload_purpose")
    path_column = right.text_input("Path column of the metadata table (empty: detect)", key="upload_path_column",
                                   help=f"A metadata table ({', '.join(METADATA_FORMATS)}) dropped with the audio is joined "
                                        "by `path` or `file_name`, or by the speaker folder for a speaker-level table.")
    description = st.text_input("Description", key="upload_description")
    extra = st.text_area("Metadata (JSON object, optional)", key="upload_extra", placeholder='{"source": "studio"}', height=68)
    expires = st.checkbox("Delete these files after a date", key="upload_expires")
    expiry = st.date_input("Expiry date", value=dt.date.today() + dt.timedelta(days=30), key="upload_expiry",
                           min_value=dt.date.today() + dt.timedelta(days=1), disabled=not expires)
    # the limit in words: Streamlit's drop zone rounds any limit above 500 MB to "1GB per file", so its own line
    # (size and a list of 37 suffixes) is hidden and the labels say what the server takes
    per_file = f"up to {app.settings.max_upload_mb:,} MB per file"
    st.html("<style>.st-key-upload_files [data-testid='stFileUploaderDropzoneInstructions'],"
            ".st-key-upload_folder [data-testid='stFileUploaderDropzoneInstructions']{display:none}</style>")
    files = st.file_uploader(
        f"Audio (WAV, FLAC, OGG, MP3, AIFF), ZIP/TAR archives, metadata tables ({', '.join(METADATA_FORMATS)}) and "
        f"other data, text and video files, {per_file}", type=list(UPLOAD_SUFFIXES),
        accept_multiple_files=True, key="upload_files", max_upload_size=app.settings.max_upload_mb,
        help="Accepted: " + ", ".join(UPLOAD_SUFFIXES),
    )
    folder = st.file_uploader(f"Or a whole folder, {per_file}", type=list(UPLOAD_SUFFIXES), accept_multiple_files="directory",
                              key="upload_folder", max_upload_size=app.settings.max_upload_mb)
    folder_paths, folder_name = without_common_folder([f.name for f in folder or []])
    if folder_name:
        st.caption(f"The folder's own name {shell.plain(folder_name)}/ is left out of the paths, as unzip tools do: "
                   f"{shell.plain(folder_paths[0])} is stored as audio/{shell.plain(dataset)}/{shell.plain(folder_paths[0])}.")
    named = [(f.name, f) for f in files or []] + list(zip(folder_paths, folder or [], strict=True))
    dropped = [f for _, f in named]
    if st.button("Upload", key="upload_submit", type="primary", disabled=not dropped):
        def upload(progress: shell.Progress):
            options = UploadOptions(
                dataset=dataset, max_bytes=app.settings.max_upload_bytes, tags=tuple(t for t in tags.split(",") if t.strip()),
                purpose=purpose, description=description, extra=parse_extra(extra),
                expires_at=dt.datetime.combine(expiry, dt.time(), dt.UTC) if expires else None,
            )
            return ingest_upload(app.db, app.storage, user, named, options,
                                 path_column=path_column.strip() or None, progress=lambda r: progress.step(r.path),
                                 on_plan=progress.plan)

        summary = shell.run(lambda: shell.track(upload, "Storing files"))
        if summary is not None:
            st.session_state["upload_summary"] = summary
    summary = st.session_state.get("upload_summary")
    if summary is not None:
        (st.success if not summary.count(IngestStatus.REFUSED) else st.warning)(f"{summary.line()}.")
        for note in summary.notes:
            st.info(f"Metadata {shell.plain(note)}.")
        st.dataframe(
            pd.DataFrame([{"file": r.path, "kind": r.kind, "result": "already there" if r.status == IngestStatus.DUPLICATE else str(r.status),
              "reason": r.reason, "sound id": r.sound_id or ""} for r in summary.results]),
            hide_index=True, key="upload_results",
        )

if registers:
    with tabs[1]:
        st.caption("Catalogue the audio of a bucket or a folder on the server where it is: Earmark reads each file once to "
                   "check and measure it, keeps its own rows and waveform peaks in its own storage, and never writes or "
                   "deletes anything of the source. Run it again to add new files and mark vanished ones missing. "
                   "For millions of files, the command line shows the same progress: python -m core import s3://bucket/prefix")
        source_left, source_right = st.columns(2)
        source = source_left.text_input("Bucket or folder", key="register_source", placeholder="s3://bucket/voxceleb2/dev",
                                        help="An s3:// URL (reached with the EARMARK_SOURCE_* settings, by default Earmark's "
                                             "own S3 settings) or a folder on the server.")
        register_dataset = source_right.text_input("Dataset", key="register_dataset", placeholder="voxceleb2")
        register_tables = st.text_input("Metadata tables (comma-separated; s3:// URLs or server paths)", key="register_metadata")
        if st.button("Register", key="register_submit", type="primary", disabled=not (source.strip() and register_dataset.strip())):
            def register_work(progress: shell.Progress):
                options = UploadOptions(dataset=register_dataset, max_bytes=app.settings.max_upload_bytes)
                return register(app.db, app.storage, user, source, options,
                                metadata_sources=[t.strip() for t in register_tables.split(",") if t.strip()],
                                progress=lambda r: progress.step(r.path), on_plan=progress.plan)

            registered = shell.run(lambda: shell.track(register_work, "Reading new files"))
            if registered is not None:
                st.session_state["register_summary"] = registered
        registered = st.session_state.get("register_summary")
        if registered is not None:
            (st.success if not registered.counts[IngestStatus.REFUSED] else st.warning)(
                f"{shell.plain(registered.source)}: {registered.line()}.")
            for note in registered.notes:
                st.info(f"Metadata {shell.plain(note)}.")
            rows = [{"file": r.path, "result": str(IngestStatus.REFUSED), "reason": r.reason} for r in registered.refused]
            rows += [{"file": example, "result": str(IngestStatus.SKIPPED), "reason": reason}
                     for reason, examples in registered.skipped.items() for example in examples]
            if rows:
                st.dataframe(pd.DataFrame(rows), hide_index=True, key="register_results")

with files_tab:
    filter_purpose, filter_category = st.columns(2)
    purpose_filter = filter_purpose.selectbox("Purpose", ["(any)", *PURPOSES], key="files_purpose")
    category_filter = filter_category.selectbox("Category", ["(any)", *UPLOAD_CATEGORIES], key="files_category")
    page_number = st.session_state.setdefault("files_page", 0)
    with app.db.read() as session:
        service = FileService(session, app.storage)
        total, page = service.list(
            purpose=None if purpose_filter == "(any)" else purpose_filter,
            category=None if category_filter == "(any)" else category_filter,
            limit=PAGE_SIZE, offset=page_number * PAGE_SIZE,
        )
        stats = service.stats()
        uploaders = service.uploader_names(page)
        derived = storage_by_kind(session).get("derived", 0)
    st.caption(f"{total:,} files; {stats.total_files:,} in all, {human_bytes(stats.total_bytes)}. Home's Storage used adds "
               f"{human_bytes(derived)} of files Earmark made (waveform peaks, analyzer outputs) and any expired ones.")
    st.dataframe(
        pd.DataFrame([{"path": f.key, "category": f.category, "purpose": f.purpose, "size": human_bytes(f.size),
          "uploaded by": uploaders.get(f.created_by, "?"), "uploaded": f.date_created.strftime("%Y-%m-%d %H:%M"), "expires": f.expires_at.strftime("%Y-%m-%d") if f.expires_at else "",
          "description": f.description or "", "sha256": f.sha256} for f in page]),
        hide_index=True, key="files_table",
    )
    back, forward = st.columns(2)
    if back.button("← Previous", key="files_prev", disabled=page_number == 0):
        st.session_state["files_page"] -= 1
        st.rerun()
    if forward.button("Next →", key="files_next", disabled=(page_number + 1) * PAGE_SIZE >= total):
        st.session_state["files_page"] += 1
        st.rerun()

    by_purpose, by_category = st.columns(2)
    by_purpose.dataframe([{"purpose": k, "files": v["count"], "size": human_bytes(v["bytes"])} for k, v in stats.by_purpose.items()],
                         hide_index=True, key="files_stats_purpose")
    by_category.dataframe([{"category": k, "files": v["count"], "size": human_bytes(v["bytes"])} for k, v in stats.by_category.items()],
                          hide_index=True, key="files_stats_category")

    if page:
        by_id = {f.id: f for f in page}
        chosen = by_id[st.selectbox("File", list(by_id), format_func=lambda i: by_id[i].key, key="files_chosen")]
        st.json(public_file(chosen), expanded=False)
        st.download_button("Download", data=lambda: app.storage.read_bytes(chosen.key), file_name=chosen.original_filename,
                           key="files_download", on_click="ignore")
        if can(user, Action.DELETE_SOUND, owner_id=chosen.created_by):
            with st.expander("Delete this file"):
                with app.db.read() as session:
                    holds_sound = FileService(session, app.storage).sound_of(chosen) is not None
                warning = "It holds a sound: the sound and all its annotations are deleted too." if holds_sound else ""
                sure = st.checkbox(f"Yes, delete {shell.plain(chosen.key)}. {warning}", key="files_delete_confirm")
                if st.button("Delete", key="files_delete", disabled=not sure, type="primary"):
                    def delete():
                        with app.db.write() as session:
                            FileService(session, app.storage).delete(user, chosen.id)
                    shell.run(delete, f"Deleted {chosen.key}.", rerun=True)
