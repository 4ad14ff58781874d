"""Getting subsets out: a reproducible random or balanced subset as one streamed ZIP with its metadata and annotations (CSV, JSON, Audacity, Praat, RTTM).

May import: core.store, core.accounts, core.catalogue, core.annotations and core.errors.
"""
