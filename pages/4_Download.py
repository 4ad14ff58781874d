"""Download: one click streams a reproducible random (or balanced) subset as a ZIP."""

import html

import streamlit as st

from core.catalogue.search import count_at_once
from core.catalogue.sounds import SoundService
from core.export.formats import TRAINING_FORMATS, Segments
from core.export.links import LinkedExport, subset_link
from core.export.subset import (
    FORMATS,
    ExportRequest,
    check_count,
    check_request,
    count_candidates,
    default_seed,
)
from core.ui import shell
from core.ui.splits import columns_found, placement, placement_sentence, show_placement, split_options

TRAINING_LABELS = {"parquet": "Parquet shards", "webdataset": "WebDataset shards", "nemo": "NeMo manifest",
                   "lhotse": "Lhotse manifests", "kaldi": "Kaldi data folder", "eaf": "ELAN .eaf"}

st.set_page_config(page_title="Download · Earmark", page_icon=shell.ICON, layout="wide")
user = shell.page("Download")
app = shell.earmark()
state = st.session_state

query = shell.run(lambda: shell.catalogue_filters("dl"))
if query is None:
    st.stop()
with app.db.read() as session:
    columns = SoundService(session, app.storage).field_names(query.dataset)

mode = st.radio("What to download", ["subset", "splits"], horizontal=True, key="dl_mode",
                format_func=lambda m: {"subset": "A random or balanced subset",
                                       "splits": "Every matching sound, split into train / dev / test"}[m])
splitting = mode == "splits"
if splitting:  # every matching sound: no count
    count, (seed_col, new_seed_col) = "1", st.columns([2, 1])
else:
    count_col, seed_col, new_seed_col = st.columns([1, 1, 1])
    count = count_col.text_input("How many sounds", value="10", key="dl_count")
state.setdefault("dl_seed", default_seed())
if new_seed_col.button("New random seed", key="dl_new_seed", width="stretch"):
    state["dl_seed"] = default_seed()
seed = seed_col.number_input("Random seed (the same seed and filters give the same files)", min_value=0, step=1, key="dl_seed")
balance, cap = "(no balance)", 0
if splitting:
    split_form = split_options(columns)
else:
    balance_col, cap_col = st.columns(2)
    balance = balance_col.selectbox("Balance by (equal numbers per value)", ["(no balance)", *columns], key="dl_balance")
    cap = cap_col.number_input("At most this many per value (0: no cap)", min_value=0, value=0, step=1, key="dl_cap")
formats_col, training_col = st.columns(2)
formats = formats_col.multiselect("Annotation formats", FORMATS, default=["csv"], key="dl_formats",
                                  format_func=lambda f: {"csv": "CSV", "json": "JSON", "audacity": "Audacity labels",
                                                         "textgrid": "Praat TextGrid", "rttm": "RTTM"}[f])
training = training_col.multiselect(
    "Training formats", TRAINING_FORMATS, key="dl_training", format_func=TRAINING_LABELS.__getitem__,
    help="Written beside the audio in the ZIP: Parquet shards (Hugging Face Audio layout), WebDataset tar shards, "
         "NeMo and Lhotse manifests, a Kaldi data folder, ELAN files. README's 'Training formats' says what each holds.")
segments = Segments.OFFSETS
if training:
    segments = st.radio("Annotated segments", list(Segments), horizontal=True, key="dl_segments",
                        format_func=lambda v: {Segments.OFFSETS: "offsets into the whole files",
                                               Segments.CLIPS: "cut into clips (lossless)"}[v]) or Segments.OFFSETS
on_missing = st.radio("If a file is missing from storage", ["skip", "fail"], horizontal=True, key="dl_on_missing",
                      format_func=lambda v: {"skip": "export the rest and list it in the manifest", "fail": "stop"}[v])

request = shell.run(lambda: check_request(ExportRequest(
    query=query, viewer_id=user.id, count=check_count(count), seed=int(seed),
    balance=None if balance == "(no balance)" else balance, cap=int(cap) or None, formats=tuple(formats),
    on_missing=on_missing)))
rule = shell.run(lambda: split_form.rule(int(seed))) if splitting else None
if request is None or (splitting and rule is None):
    st.stop()
with app.db.read() as session:  # a small catalogue is counted on every run; a large one is left to the download
    matches = count_candidates(session, request) if count_at_once(session) else None
if matches == 0:
    st.error("No sounds match these filters.")
    st.stop()
if rule is not None and not columns_found(app.db, request.query, rule, user.id):
    st.stop()

if rule is not None:
    taken = matches
    sounds = "every matching sound" if matches is None else f"all {matches:,} sound{'s' if matches != 1 else ''}"
else:
    taken = request.count if matches is None else min(request.count, matches)
    sounds = f"{taken:,} sound{'s' if taken != 1 else ''}"
link = subset_link(app.settings, LinkedExport(request, rule, tuple(training), Segments(segments)), user)
# A plain link with ``download``: the browser saves the stream in this tab, no new tab, nothing built first.
st.html(f'<a class="earmark-download" data-testid="earmark-download" href="{html.escape(link)}" download>'
        f"Download {sounds} as a ZIP</a>"
        "<style>.earmark-download{display:inline-block;padding:.45rem 1rem;border-radius:.5rem;"
        "background:var(--primary-color,#ff4b4b);color:#fff!important;text-decoration:none!important;font-weight:600}"
        ".earmark-download:hover{filter:brightness(.92)}</style>")
if rule is not None:
    about = st.container()  # the sentence stays under the button; the preview (or its button) comes below it
    placed = placement(app.db, request.query, rule, user.id, matches)
    about.caption(shell.plain(f"{placement_sentence(placed, rule, sounds[0].upper() + sounds[1:])} "
                  f"Each sound's split is stored as its metadata field '{rule.field}' when you download"
                  + (" (the matching sounds' stored splits are deleted first)" if rule.resplit else "")
                  + ", and kept: a later download (or a grown dataset) puts every sound where it was, and new groups where "
                  "the shares need them. manifest.json records the rule, the seed, the shares met and the leakage report (groups, identical "
                  "audio and identical transcripts across splits). The link works for an hour."))  # split names as typed
    if placed is not None:
        show_placement(placed, rule)
else:
    among = "" if matches is None else f" of the {matches:,} that match"
    st.caption(f"{sounds}{among}, chosen with seed {request.seed}: the same seed and filters give the same files. "
               "The ZIP streams as it is built; its manifest.json records the filters, seed and a checksum of every file. "
               "The link works for an hour.")
