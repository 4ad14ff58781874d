"""How ingesting one file ended, defined once: the pipeline, the in-place registration, the HTTP API's upload
answer, the command line, the Upload page and the Python client (earmark_client/models.py, checked against this by
tests/test_client_package.py) all use these (plain ``str`` values, as the JSON answers hold them). Imports nothing
of Earmark's, like core/jobs/states.py."""

from __future__ import annotations

from enum import StrEnum


class IngestStatus(StrEnum):
    """How ingesting one file ended (``IngestResult.status``; its ``reason`` says more):

    - ``stored``: it is in now, its object written (or, registered in place, its row recorded) with its metadata.
    - ``duplicate``: already there: the same content (sha256) is in the dataset, or in the file registry; nothing
      new is stored, and the reason names the copy that is there.
    - ``refused``: not taken: it failed a check (extension, content, size, name, a path that holds other content,
      a metadata table that cannot be read or joined) or could not be read; the reason says which. The rest of
      the batch goes on.
    - ``skipped``: left out on purpose, never an error: a file of an imported folder or archive that is not audio
      (a table not given as metadata, an archive inside the archive, ...); the reason says what it is.
    """

    STORED = "stored"
    DUPLICATE = "duplicate"
    REFUSED = "refused"
    SKIPPED = "skipped"
