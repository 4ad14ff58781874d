"""A labelling team's work (issue 27): assignments of sounds to annotators, each annotator's queue and submissions,
review into a gold version, agreement figures and progress.

May import: core.store, core.accounts, core.catalogue, core.annotations and core.errors (not core.api, core.ui or
the command line, which call in here).
"""
