"""Earmark's one entry point: `streamlit run app.py` serves the pages and the HTTP API on one port, and runs
EARMARK_WORKERS background job workers beside them."""

import streamlit as st

from core.api import nodelay
from core.api.app import routes
from core.context import check_settings_or_exit
from core.jobs.workers import lifespan

check_settings_or_exit()
nodelay.install()  # before the server accepts its first connection
app = st.App("Home.py", routes=routes(), lifespan=lifespan)
