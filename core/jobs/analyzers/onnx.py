"""The one way an analyzer loads a model shipped in models/ (see models/README.md): checksum first, one thread.

A damaged or missing file is a ConfigError naming it, not a model that loads and answers wrongly; one thread
per session because workers run side by side, one sound each, on machines shared with the app.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from core.errors import ConfigError


def load(path: Path, sha256: str, what: str, provider: str = "CPUExecutionProvider"):  # -> onnxruntime.InferenceSession
    import onnxruntime  # here: commands start without it

    data = path.read_bytes() if path.exists() else b""
    if hashlib.sha256(data).hexdigest() != sha256:
        raise ConfigError(what, f"The {what} {path} is missing or damaged: reinstall Earmark.")
    if provider not in onnxruntime.get_available_providers():
        raise ConfigError("provider", f"The execution provider {provider!r} is not available here "
                          f"(available: {', '.join(onnxruntime.get_available_providers())}).")
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    options.log_severity_level = 4
    return onnxruntime.InferenceSession(data, sess_options=options, providers=[provider])
