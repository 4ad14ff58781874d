"""Analyzers run as tracked jobs: the job queue that workers claim from, the worker pool, what a job wrote, and the analyzers themselves (analyzers/).

May import: every domain below it (store, accounts, audio, catalogue, annotations) and core.context; never api, ui or cli.
"""
