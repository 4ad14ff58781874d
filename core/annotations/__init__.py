"""Annotations: time segments of a sound with tags, text or a data URL, versioned so no edit is lost, and machine suggestions people accept or reject.

May import: core.store, core.accounts, core.catalogue and core.errors.
"""
