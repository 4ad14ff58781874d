"""A Python client for Earmark's HTTP API (/api/v1), for bots and scripts.

    from core.client import Client
    earmark = Client("http://localhost:8501", token="em_...")          # or user=..., password=...
    for sound in earmark.sounds(dataset="demo", tags=["drums"]):        # paging is handled here
        earmark.annotate(sound["id"], start=0.5, end=1.0, tags=["kick"])
    earmark.upload_folder("recordings/", dataset="field", workers=8)
    earmark.download("subset.zip", count=100, dataset="demo", seed=7, balance="gender")

Every error the server sends back is raised as an :class:`ApiError` subclass carrying the server's message.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx2 as httpx

from core.jobs.states import FINISHED

API = "/api/v1"


class ApiError(Exception):
    """The server refused a request; ``status`` is the HTTP status, the message is the server's."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class BadRequest(ApiError):
    pass


class Unauthorized(ApiError):
    pass


class Forbidden(ApiError):
    pass


class NotFound(ApiError):
    pass


class Conflict(ApiError):
    pass


_ERRORS = {400: BadRequest, 401: Unauthorized, 403: Forbidden, 404: NotFound, 409: Conflict}


class Client:
    def __init__(self, url: str, *, user: str | None = None, password: str | None = None, token: str | None = None,
                 timeout: float = 60.0) -> None:
        if token:
            auth: Any = None
            headers = {"Authorization": f"Bearer {token}"}
        elif user and password:
            auth, headers = (user, password), {}
        else:
            raise ValueError("Give a token, or a user and a password.")
        self.http = httpx.Client(base_url=url.rstrip("/"), auth=auth, headers=headers, timeout=timeout)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing --------------------------------------------------------------------------------------
    def _check(self, response: httpx.Response) -> httpx.Response:
        if response.status_code < 400:
            return response
        try:
            message = response.json().get("error") or response.text
        except (ValueError, AttributeError):
            message = response.text or response.reason_phrase
        raise _ERRORS.get(response.status_code, ApiError)(response.status_code, message)

    def _fetch(self, url: str, **kwargs: Any) -> httpx.Response:
        """GET, sent once more if the connection drops: a kept-alive connection the server closes just as a
        request goes out (idle for its keep-alive time, or a replica restarting) loses that request. Only reads
        are sent again; a write that dropped may have been done, so it is left to the caller."""
        try:
            return self._check(self.http.get(url, **kwargs))
        except (httpx.NetworkError, httpx.RemoteProtocolError):
            return self._check(self.http.get(url, **kwargs))

    def _get(self, path: str, **params: Any) -> Any:
        return self._fetch(API + path, params=_params(params)).json()

    def _post(self, path: str, body: dict[str, Any]) -> Any:
        return self._check(self.http.post(API + path, json={k: v for k, v in body.items() if v is not None})).json()

    def _pages(self, path: str, **params: Any) -> Iterator[dict[str, Any]]:
        page = self._get(path, **params)
        while True:
            yield from page["items"]
            if not page.get("next"):
                return
            page = self._fetch(page["next"]).json()

    # -- the catalogue ---------------------------------------------------------------------------------
    def stats(self) -> dict[str, int]:
        return self._get("/")

    def users(self, user_type: str | None = None, user_name: str | None = None) -> Iterator[dict[str, Any]]:
        return self._pages("/users", user_type=user_type, user_name=user_name, page_size=500)

    def user(self, user_id: str) -> dict[str, Any]:
        return self._get(f"/users/{user_id}")

    def create_user(self, user_name: str, password: str, user_type: str = "human", **profile: Any) -> dict[str, Any]:
        """Administrators only."""
        return self._post("/users", {"user_name": user_name, "password": password, "user_type": user_type, **profile})

    def sounds(self, dataset: str | None = None, tags: Iterable[str] = (), created_by: str | None = None,
               sort: str | None = None, descending: bool = False, page_size: int = 500) -> Iterator[dict[str, Any]]:
        """Every matching sound (pages are fetched as you iterate); ``sort``: date, name, duration, annotations."""
        return self._pages("/sounds", dataset=dataset, tags=",".join(tags) or None, created_by=created_by, sort=sort,
                           descending="true" if descending else None, page_size=page_size)

    def sound(self, sound_id: str) -> dict[str, Any]:
        return self._get(f"/sounds/{sound_id}")

    def create_sound(self, title: str, duration_seconds: float, **fields: Any) -> dict[str, Any]:
        return self._post("/sounds", {"title": title, "duration_seconds": duration_seconds, **fields})

    def annotations(self, sound_id: str | None = None, tags: Iterable[str] = (),
                    time_range: tuple[float, float] | None = None) -> Iterator[dict[str, Any]]:
        path = f"/sounds/{sound_id}/annotations" if sound_id else "/annotations"
        span = f"{time_range[0]},{time_range[1]}" if time_range else None
        return self._pages(path, tags=",".join(tags) or None, time_range=span, page_size=500)

    def annotate(self, sound_id: str, *, start: float, end: float | None = None, duration: float | None = None,
                 tags: Iterable[str] = (), text: str | None = None, data_url: str | None = None) -> dict[str, Any]:
        return self._post(f"/sounds/{sound_id}/annotations", {
            "start_seconds": start, "end_seconds": end, "duration_seconds": duration, "tags": list(tags),
            "text": text, "data_url": data_url})

    def annotation(self, annotation_id: str) -> dict[str, Any]:
        return self._get(f"/annotations/{annotation_id}")

    def update_annotation(self, annotation: dict[str, Any], **changes: Any) -> dict[str, Any]:
        """Change an annotation as read (its ``version`` guards against overwriting someone else's change:
        a stale one raises :class:`Conflict`)."""
        response = self.http.patch(f"{API}/annotations/{annotation['id']}", json={"version": annotation["version"], **changes})
        return self._check(response).json()

    def delete_annotation(self, annotation_id: str) -> None:
        self._check(self.http.delete(f"{API}/annotations/{annotation_id}"))

    def accept(self, annotation_id: str, **changes: Any) -> dict[str, Any]:
        """Accept a featurebot's suggestion (``start_seconds``, ``end_seconds``, ``tags`` or ``text`` change it on
        the way): the new annotation, yours. :class:`Conflict` if someone reviewed it first."""
        return self._post(f"/annotations/{annotation_id}/accept", changes)

    def reject(self, annotation_id: str) -> None:
        """Reject a featurebot's suggestion: deleted, and not suggested again by a re-run of the same analyzer."""
        self._check(self.http.post(f"{API}/annotations/{annotation_id}/reject"))

    def unreview(self, suggestion: dict[str, Any], accepted_id: str | None = None) -> dict[str, Any]:
        """Undo your review of ``suggestion`` (as :meth:`annotations` listed it before the review): it is suggested
        again; give the annotation :meth:`accept` returned as ``accepted_id`` to delete it on the way."""
        body = {key: suggestion[key] for key in ("source", "start_seconds", "end_seconds", "tags", "text")}
        return self._post(f"/sounds/{suggestion['sound_id']}/suggestions", body | {"accepted_id": accepted_id})

    def audio(self, sound_id: str, start: float | None = None, end: float | None = None) -> bytes:
        return self._fetch(f"{API}/sounds/{sound_id}/audio", params=_params({"start": start, "end": end})).content

    def peaks(self, sound_id: str, start: float = 0.0, end: float | None = None, points: int = 2000,
              channel: int | None = None) -> dict[str, Any]:
        """The waveform of a view (``x`` seconds, ``y`` -1..1): real samples, or min/max pairs, at most ``points``."""
        return self._get(f"/sounds/{sound_id}/peaks", start=start, end=end, points=points, channel=channel)

    def spectrogram(self, sound_id: str, start: float = 0.0, end: float | None = None, channel: int | None = None) -> bytes:
        """The spectrogram of a view (up to two minutes) as PNG bytes."""
        return self._fetch(f"{API}/sounds/{sound_id}/spectrogram", params=_params({"start": start, "end": end, "channel": channel})).content

    # -- files -----------------------------------------------------------------------------------------
    def upload(self, path: str | Path, *, dataset: str | None = None, purpose: str = "ingestion",
               description: str | None = None, metadata: dict[str, Any] | None = None, name: str | None = None) -> dict[str, Any]:
        """Upload one file: audio becomes a sound of ``dataset``, anything else a registry file."""
        path = Path(path)
        form = _params({"dataset": dataset, "purpose": purpose, "description": description,
                        "metadata": json.dumps(metadata) if metadata else None})
        with path.open("rb") as data:
            response = self.http.post(f"{API}/data/upload", files={"file": (name or path.name, data)}, data=form)
        return self._check(response).json()

    def upload_folder(self, folder: str | Path, *, dataset: str, workers: int = 4, **options: Any) -> list[dict[str, Any]]:
        """Upload every file under ``folder`` (relative paths kept), ``workers`` at a time; refusals are
        returned as ``{"file": path, "error": message}`` instead of stopping the rest."""
        folder = Path(folder)
        files = sorted(p for p in folder.rglob("*") if p.is_file())

        def one(path: Path) -> dict[str, Any]:
            relative = path.relative_to(folder).as_posix()
            try:
                return self.upload(path, dataset=dataset, name=relative, **options)
            except ApiError as exc:
                return {"file": relative, "error": str(exc), "status": exc.status}

        with ThreadPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(one, files))

    def files(self, purpose: str | None = None, category: str | None = None) -> Iterator[dict[str, Any]]:
        offset = 0
        while True:
            page = self._get("/data/files", purpose=purpose, category=category, limit=500, offset=offset)
            yield from page["files"]
            offset += len(page["files"])
            if not page["files"] or offset >= page["total"]:
                return

    def delete_file(self, path: str) -> None:
        self._check(self.http.delete(f"{API}/data/files/{path}"))

    # -- jobs ------------------------------------------------------------------------------------------
    def analyzers(self) -> list[dict[str, Any]]:
        return self._get("/analyzers")["items"]

    def submit_job(self, analyzer: str, *, sound_ids: list[str] | None = None, dataset: str | None = None,
                   tags: Iterable[str] = (), params: dict[str, Any] | None = None) -> dict[str, Any]:
        return self._post("/jobs", {"analyzer": analyzer, "sound_ids": sound_ids, "dataset": dataset,
                                    "tags": list(tags) or None, "params": params})

    def job(self, job_id: str) -> dict[str, Any]:
        return self._get(f"/jobs/{job_id}")

    def wait_job(self, job_id: str, timeout: float = 3600.0, poll: float = 1.0) -> dict[str, Any]:
        """The job once it has ended (completed, failed or cancelled); TimeoutError if it has not by ``timeout``."""
        import time

        deadline = time.monotonic() + timeout
        while not _done(job := self.job(job_id)):
            if time.monotonic() > deadline:
                raise TimeoutError(f"Job {job_id} is still {job['state']} after {timeout:g} s.")
            time.sleep(poll)
        return job

    def job_results(self, job_id: str) -> list[dict[str, Any]]:
        """Per sound the job did: {sound_id, dataset, path, annotations, fields}."""
        return self._get(f"/jobs/{job_id}/results")["sounds"]

    def cancel_job(self, job_id: str) -> dict[str, Any]:
        return self._check(self.http.post(f"{API}/jobs/{job_id}/cancel")).json()

    def download(self, out: str | Path, *, count: int = 10, dataset: str | None = None, tags: Iterable[str] = (),
                 where: dict[str, str] | None = None, seed: int | None = None, balance: str | None = None,
                 cap: int | None = None, formats: Iterable[str] = ("csv",)) -> Path:
        """A subset ZIP, streamed to ``out`` (memory stays flat); returns the path."""
        params = _params({"count": count, "dataset": dataset, "tags": ",".join(tags) or None, "seed": seed,
                          "balance": balance, "cap": cap, "formats": ",".join(formats)})
        params["where"] = [f"{k}={v}" for k, v in (where or {}).items()]
        out = Path(out)
        with self.http.stream("GET", f"{API}/download", params=params) as response:
            if response.status_code >= 400:
                response.read()
                self._check(response)
            with out.open("wb") as target:
                for chunk in response.iter_bytes():
                    target.write(chunk)
        return out


def _done(job: dict[str, Any]) -> bool:
    return job["state"] in FINISHED


def _params(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v not in (None, "", [])}
