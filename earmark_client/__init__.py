"""A Python client for Earmark's HTTP API (/api/v1), for bots and scripts on any machine: ``pip install`` the
repository (its pyproject.toml builds this package alone; README.md, "HTTP API", says how).

    from earmark_client import Client
    earmark = Client("http://localhost:8501", token="em_...")          # or user=..., password=...
    for sound in earmark.sounds(dataset="demo", tags=["drums"]):        # paging is handled here
        earmark.annotate(sound.id, start=0.5, end=1.0, tags=["kick"])
    earmark.upload_folder("recordings/", dataset="field", workers=8)
    earmark.download("subset.zip", count=100, dataset="demo", seed=7, balance="gender")

Answers are typed (earmark_client/models.py, the server's OpenAPI models); every error the server sends back is
raised as an :class:`ApiError` subclass carrying the server's message. It needs httpx2 and pydantic, nothing of
the server's.
"""

from earmark_client.client import (
    ApiError,
    BadRequest,
    Client,
    Conflict,
    Forbidden,
    NotFound,
    TooLarge,
    TooManyRequests,
    Unauthorized,
    UploadRefused,
)
from earmark_client.models import (
    FINISHED,
    AnalyzerOut,
    AnnotationOut,
    FileRecord,
    IngestStatus,
    JobOut,
    JobState,
    Peaks,
    ResultAnnotation,
    ResultSound,
    SoundOut,
    Totals,
    Uploaded,
    UserOut,
)

__version__ = "0.1.0"

__all__ = [
    "FINISHED", "AnalyzerOut", "AnnotationOut", "ApiError", "BadRequest", "Client", "Conflict", "FileRecord",
    "Forbidden", "IngestStatus", "JobOut", "JobState", "NotFound", "Peaks", "ResultAnnotation", "ResultSound", "SoundOut",
    "TooLarge", "TooManyRequests", "Totals", "Unauthorized", "UploadRefused", "Uploaded", "UserOut",
]
