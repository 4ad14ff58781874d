"""Earmark's core: everything the pages, the HTTP API and the command line do goes through here."""

__version__ = "0.1.0"
