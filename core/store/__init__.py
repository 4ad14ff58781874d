"""Storage of everything: settings (the one place that reads the environment), the database and its models, object storage, time-ordered ids and paging.

May import: core.errors only. It knows no domain: nothing here imports accounts, catalogue or anything above.
"""
