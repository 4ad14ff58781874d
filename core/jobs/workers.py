"""The background worker pool that runs jobs inside the app process (EARMARK_WORKERS threads; 0: none, then
`python -m core worker` processes do the work)."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from core.context import open_earmark
from core.jobs.queue import work
from core.store.config import settings


class WorkerPool:
    def __init__(self, size: int) -> None:
        self.size = size
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []

    def start(self) -> None:
        if self.size <= 0:
            return
        app = open_earmark(settings(), check_storage=False)
        for number in range(self.size):
            thread = threading.Thread(target=work, args=(app.db, app.storage, self.stop), daemon=True, name=f"earmark-worker-{number}")
            thread.start()
            self.threads.append(thread)

    def shutdown(self, timeout: float = 10.0) -> None:
        """Ask the workers to stop after the sound each is on; a job left running is taken back by the next start."""
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout)


@asynccontextmanager
async def lifespan(_app: Any) -> AsyncIterator[dict[str, Any]]:
    """st.App's lifespan: the pool runs while the server does."""
    pool = WorkerPool(settings().workers)
    pool.start()
    try:
        yield {"workers": pool}
    finally:
        pool.shutdown()
