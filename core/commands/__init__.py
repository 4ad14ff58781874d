"""Command-line commands grouped by domain, split out of core/cli.py as it grew.

Each module here has ``add_parsers(commands)``, which adds its sub-commands to the ``python -m core`` parser and
sets each one's ``func`` (a handler taking the parsed arguments and returning the exit code); core/cli.py calls it.
Like core/cli.py, these are thin shells over the domains: they may import any core package; nothing in core imports
them.
"""
