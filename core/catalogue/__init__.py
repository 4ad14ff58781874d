"""What the catalogue holds and how to find it: sounds, the file registry, metadata tables, tags and each dataset's vocabulary, Browse's search with keyset paging, the annotation queue, signed links to stored files and the figures on Home.

May import: core.store, core.accounts, core.audio and core.errors.
"""
