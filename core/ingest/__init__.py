"""Getting files in: uploads and bulk imports checked by content, hashed, deduplicated and stored with their metadata; safe archive unpacking; the generated demo dataset.

May import: core.store, core.accounts, core.audio, core.catalogue and core.errors.
"""
