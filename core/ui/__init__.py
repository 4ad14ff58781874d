"""Streamlit glue shared by the pages: the page shell (login, errors shown as text, progress, shared filters) and the Annotate screen assembled in one call.

May import: any domain package and core.context; only pages/ and Home.py import it.
"""
