"""The client itself: one method per thing a script does, each answer parsed into the typed models of
earmark_client/models.py, each refusal raised as an :class:`ApiError` subclass carrying the server's sentence."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Literal, TypeVar

import httpx2 as httpx

from earmark_client.models import (
    FINISHED,
    Accepted,
    AgreementOut,
    AnalyzerList,
    AnalyzerOut,
    AnnotationImport,
    AnnotationOut,
    Answer,
    AssignmentOut,
    AssignmentState,
    AssignOut,
    FileList,
    FileRecord,
    IngestStatus,
    JobOut,
    JobResults,
    LanesOut,
    Moved,
    Peaks,
    ProgressList,
    ProgressOut,
    ResultSound,
    ReviewItemOut,
    ReviewList,
    SoundOut,
    Taken,
    TimeAdded,
    Totals,
    Uploaded,
    UserOut,
    WorkItemOut,
    WorkList,
)

API = "/api/v1"
A = TypeVar("A", bound=Answer)


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


class TooLarge(ApiError):
    pass


class TooManyRequests(ApiError):
    pass


_ERRORS = {400: BadRequest, 401: Unauthorized, 403: Forbidden, 404: NotFound, 409: Conflict, 413: TooLarge,
           429: TooManyRequests}


class UploadRefused(Answer):
    """A file of :meth:`Client.upload_folder` the server refused: its relative path, the server's sentence and HTTP
    status (made by the client, not an answer of the server's). ``status`` is ``refused`` where an uploaded file's is
    ``stored`` or ``duplicate``, so ``[u for u in uploaded if u.status == IngestStatus.REFUSED]`` lists the refusals;
    ``sound_id`` is None, as for an uploaded file that is not audio, so ``[u.sound_id for u in uploaded if
    u.sound_id]`` lists the sounds made."""

    file: str
    error: str
    http_status: int
    status: Literal[IngestStatus.REFUSED] = IngestStatus.REFUSED
    sound_id: None = None


class Client:
    """Earmark's HTTP API for a script: ``Client(url, token=...)`` or ``Client(url, user=..., password=...)``."""

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

    def _get(self, model: type[A], path: str, **params: Any) -> A:
        return model.model_validate(self._fetch(API + path, params=_params(params)).json())

    def _send(self, model: type[A], method: str, path: str, **kwargs: Any) -> A:
        return model.model_validate(self._check(self.http.request(method, API + path, **kwargs)).json())

    def _post(self, model: type[A], path: str, body: Mapping[str, Any]) -> A:
        return self._send(model, "POST", path, json={k: v for k, v in body.items() if v is not None})

    def _pages(self, model: type[A], path: str, **params: Any) -> Iterator[A]:
        page = self._fetch(API + path, params=_params(params)).json()
        while True:
            yield from (model.model_validate(item) for item in page["items"])
            if not page.get("next"):
                return
            page = self._fetch(page["next"]).json()

    # -- the catalogue ---------------------------------------------------------------------------------
    def stats(self) -> Totals:
        return self._get(Totals, "/")

    def users(self, user_type: str | None = None, user_name: str | None = None) -> Iterator[UserOut]:
        return self._pages(UserOut, "/users", user_type=user_type, user_name=user_name, page_size=500)

    def user(self, user_id: str) -> UserOut:
        return self._get(UserOut, f"/users/{user_id}")

    def create_user(self, user_name: str, password: str, user_type: str = "human", **profile: Any) -> UserOut:
        """Administrators only."""
        return self._post(UserOut, "/users", {"user_name": user_name, "password": password, "user_type": user_type, **profile})

    def sounds(self, dataset: str | None = None, tags: Iterable[str] = (), created_by: str | None = None,
               sort: str | None = None, descending: bool = False, page_size: int = 500,
               where: dict[str, str] | None = None) -> Iterator[SoundOut]:
        """Every matching sound (pages are fetched as you iterate); ``sort``: date, name, duration, annotations;
        ``where``: metadata fields and the values they must have (``{"split": "dev"}``), as on Browse."""
        return self._pages(SoundOut, "/sounds", dataset=dataset, tags=",".join(tags) or None, created_by=created_by,
                           sort=sort, descending="true" if descending else None, page_size=page_size,
                           where=[f"{k}={v}" for k, v in (where or {}).items()] or None)

    def sound(self, sound_id: str) -> SoundOut:
        return self._get(SoundOut, f"/sounds/{sound_id}")

    def create_sound(self, title: str, duration_seconds: float, **fields: Any) -> SoundOut:
        return self._post(SoundOut, "/sounds", {"title": title, "duration_seconds": duration_seconds, **fields})

    def delete_sound(self, sound_id: str) -> None:
        """Delete a sound with its annotations and stored audio (your own as a dataset user; administrators: any)."""
        self._check(self.http.delete(f"{API}/sounds/{sound_id}"))

    def annotations(self, sound_id: str | None = None, tags: Iterable[str] = (),
                    time_range: tuple[float, float] | None = None) -> Iterator[AnnotationOut]:
        path = f"/sounds/{sound_id}/annotations" if sound_id else "/annotations"
        span = f"{time_range[0]},{time_range[1]}" if time_range else None
        return self._pages(AnnotationOut, path, tags=",".join(tags) or None, time_range=span, page_size=500)

    def annotate(self, sound_id: str, *, start: float, end: float | None = None, duration: float | None = None,
                 tags: Iterable[str] = (), text: str | None = None, data_url: str | None = None,
                 gold: bool = False) -> AnnotationOut:
        """``gold``: a region of the sound's reviewed version (its reviewers only)."""
        return self._post(AnnotationOut, f"/sounds/{sound_id}/annotations", {
            "start_seconds": start, "end_seconds": end, "duration_seconds": duration, "tags": list(tags),
            "text": text, "data_url": data_url, "is_gold": gold or None})

    def annotation(self, annotation_id: str) -> AnnotationOut:
        return self._get(AnnotationOut, f"/annotations/{annotation_id}")

    def update_annotation(self, annotation: AnnotationOut | Mapping[str, Any], **changes: Any) -> AnnotationOut:
        """Change an annotation as read (its ``version`` guards against overwriting someone else's change:
        a stale one raises :class:`Conflict`)."""
        body = {"version": annotation["version"], **changes}
        return self._send(AnnotationOut, "PATCH", f"/annotations/{annotation['id']}", json=body)

    def delete_annotation(self, annotation_id: str) -> None:
        self._check(self.http.delete(f"{API}/annotations/{annotation_id}"))

    def accept(self, annotation_id: str, **changes: Any) -> AnnotationOut:
        """Accept a featurebot's suggestion (``start_seconds``, ``end_seconds``, ``tags`` or ``text`` change it on
        the way): the new annotation, yours. :class:`Conflict` if someone reviewed it first."""
        return self._post(AnnotationOut, f"/annotations/{annotation_id}/accept", changes)

    def reject(self, annotation_id: str) -> None:
        """Reject a featurebot's suggestion: deleted, and not suggested again by a re-run of the same analyzer."""
        self._check(self.http.post(f"{API}/annotations/{annotation_id}/reject"))

    def unreview(self, suggestion: AnnotationOut | Mapping[str, Any], accepted_id: str | None = None) -> AnnotationOut:
        """Undo your review of ``suggestion`` (as :meth:`annotations` listed it before the review): it is suggested
        again; give the annotation :meth:`accept` returned as ``accepted_id`` to delete it on the way."""
        body = {key: suggestion[key] for key in ("source", "start_seconds", "end_seconds", "tags", "text")}
        sound_id = suggestion["sound"].rsplit("/", 1)[-1]
        return self._post(AnnotationOut, f"/sounds/{sound_id}/suggestions", body | {"accepted_id": accepted_id})

    def import_annotations(self, paths: Iterable[str | Path], *, dataset: str, format: str | None = None,
                           as_suggestions: bool = False, bot: str | None = None) -> AnnotationImport:
        """Import annotation files made in other tools (RTTM, TextGrid, Audacity labels, ELAN, CSV, Label Studio JSON,
        NeMo manifests, a Kaldi folder) into ``dataset``: a folder is sent whole, its files named under its name. Each
        row left out is in ``problems``; a file that is not its format at all raises :class:`BadRequest`, nothing
        written. ``as_suggestions``: as the featurebot bot-``bot``'s suggestions."""
        files = []
        for given in paths:
            path = Path(given)
            if path.is_dir():
                files += [(f"{path.name}/{f.relative_to(path).as_posix()}", f.read_bytes())
                          for f in sorted(path.rglob("*")) if f.is_file()]
            else:
                files.append((path.name, path.read_bytes()))
        form = _params({"dataset": dataset, "format": format, "as_suggestions": "true" if as_suggestions else None, "bot": bot})
        return self._send(AnnotationImport, "POST", "/annotation-imports", files=[("files", f) for f in files], data=form)

    def audio(self, sound_id: str, start: float | None = None, end: float | None = None) -> bytes:
        return self._fetch(f"{API}/sounds/{sound_id}/audio", params=_params({"start": start, "end": end})).content

    def peaks(self, sound_id: str, start: float = 0.0, end: float | None = None, points: int = 2000,
              channel: int | None = None) -> Peaks:
        """The waveform of a view (``x`` seconds, ``y`` -1..1): real samples, or min/max pairs, at most ``points``."""
        return self._get(Peaks, f"/sounds/{sound_id}/peaks", start=start, end=end, points=points, channel=channel)

    def spectrogram(self, sound_id: str, start: float = 0.0, end: float | None = None, channel: int | None = None) -> bytes:
        """The spectrogram of a view (up to two minutes) as PNG bytes."""
        params = _params({"start": start, "end": end, "channel": channel})
        return self._fetch(f"{API}/sounds/{sound_id}/spectrogram", params=params).content

    # -- files -----------------------------------------------------------------------------------------
    def upload(self, path: str | Path, *, dataset: str | None = None, purpose: str = "ingestion",
               description: str | None = None, metadata: dict[str, Any] | None = None, name: str | None = None) -> Uploaded:
        """Upload one file: audio becomes a sound of ``dataset`` (its id in ``sound_id``), anything else a
        registry file."""
        path = Path(path)
        form = _params({"dataset": dataset, "purpose": purpose, "description": description,
                        "metadata": json.dumps(metadata) if metadata else None})
        with path.open("rb") as data:
            return self._send(Uploaded, "POST", "/data/upload", files={"file": (name or path.name, data)}, data=form)

    def upload_folder(self, folder: str | Path, *, dataset: str, workers: int = 4,
                      **options: Any) -> list[Uploaded | UploadRefused]:
        """Upload every file under ``folder`` (relative paths kept), ``workers`` at a time; a refused file is an
        :class:`UploadRefused` in the list instead of stopping the rest."""
        folder = Path(folder)
        files = sorted(p for p in folder.rglob("*") if p.is_file())

        def one(path: Path) -> Uploaded | UploadRefused:
            relative = path.relative_to(folder).as_posix()
            try:
                return self.upload(path, dataset=dataset, name=relative, **options)
            except ApiError as exc:
                return UploadRefused(file=relative, error=str(exc), http_status=exc.status)

        with ThreadPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(one, files))

    def files(self, purpose: str | None = None, category: str | None = None) -> Iterator[FileRecord]:
        offset = 0
        while True:
            page = self._get(FileList, "/data/files", purpose=purpose, category=category, limit=500, offset=offset)
            yield from page.files
            offset += len(page.files)
            if not page.files or offset >= page.total:
                return

    def delete_file(self, path: str) -> None:
        self._check(self.http.delete(f"{API}/data/files/{path}"))

    # -- jobs ------------------------------------------------------------------------------------------
    def analyzers(self) -> list[AnalyzerOut]:
        """Each analyzer: its name, parameters (default, range) and output."""
        return self._get(AnalyzerList, "/analyzers").items

    def submit_job(self, analyzer: str, *, sound_ids: list[str] | None = None, dataset: str | None = None,
                   tags: Iterable[str] = (), params: dict[str, Any] | None = None) -> JobOut:
        return self._post(JobOut, "/jobs", {"analyzer": analyzer, "sound_ids": sound_ids, "dataset": dataset,
                                            "tags": list(tags) or None, "params": params})

    def job(self, job_id: str) -> JobOut:
        return self._get(JobOut, f"/jobs/{job_id}")

    def wait_job(self, job_id: str, timeout: float = 3600.0, poll: float = 1.0) -> JobOut:
        """The job once it has ended (completed, failed or cancelled); TimeoutError if it has not by ``timeout``."""
        deadline = time.monotonic() + timeout
        while (job := self.job(job_id)).state not in FINISHED:
            if time.monotonic() > deadline:
                raise TimeoutError(f"Job {job_id} is still {job.state} after {timeout:g} s.")
            time.sleep(poll)
        return job

    def job_results(self, job_id: str) -> list[ResultSound]:
        """Per sound the job did: its id, dataset, path, the suggestions it made (``annotations``) and ``fields``."""
        return self._get(JobResults, f"/jobs/{job_id}/results").sounds

    # -- a labelling team ---------------------------------------------------------------------------------
    def agreement(self, dataset: str) -> AgreementOut:
        """How far the people annotating ``dataset`` agree: segment F1, start and end deviation (ms), kappa per tag
        and word error rate, for all pairs of people (``overall``), each pair, each person against the gold version
        and per tag; ``worst`` the sounds of least agreement. For those who may review the dataset."""
        return self._get(AgreementOut, "/agreement", dataset=dataset)

    def assign(self, dataset: str, to: Iterable[str], *, per_sound: int = 1, share: float = 1.0, seed: int = 0,
               tags: Iterable[str] = (), where: dict[str, str] | None = None, blind: bool = True,
               hide_suggestions: bool = False) -> AssignOut:
        """Hand the sounds of ``dataset`` (with all ``tags`` and the ``where`` metadata) to the annotators ``to``:
        ``per_sound`` people each, for every sound or a seeded ``share`` of them (the rest get one). Sounds already
        assigned are left alone, so calling it again assigns only new sounds."""
        return self._post(AssignOut, "/assignments", {
            "dataset": dataset, "to": list(to), "per_sound": per_sound, "share": share, "seed": seed,
            "tags": list(tags) or None, "where": [f"{k}={v}" for k, v in (where or {}).items()] or None, "blind": blind,
            "hide_suggestions": hide_suggestions})

    def move_work(self, dataset: str, from_annotator: str, to: str, sound_ids: Iterable[str] | None = None) -> int:
        """Give ``from_annotator``'s unsubmitted work (all, or on ``sound_ids``) to ``to``; returns how many moved."""
        return self._post(Moved, "/assignments/move", {"dataset": dataset, "from_annotator": from_annotator, "to": to,
                                                        "sound_ids": list(sound_ids) if sound_ids is not None else None}).count

    def take_back(self, dataset: str, annotator: str, sound_ids: Iterable[str] | None = None) -> int:
        """Withdraw ``annotator``'s unsubmitted work (all, or on ``sound_ids``); returns how many."""
        return self._post(Moved, "/assignments/take-back", {"dataset": dataset, "annotator": annotator,
                                                             "sound_ids": list(sound_ids) if sound_ids is not None else None}).count

    def my_work(self, dataset: str | None = None, state: AssignmentState | str | None = None) -> list[WorkItemOut]:
        """Your assigned sounds: returned first (with the reviewer's comment), in progress, to do, then the rest."""
        return self._get(WorkList, "/my-work", dataset=dataset, state=state).items

    def open_work(self, sound_id: str) -> AssignmentOut:
        """Mark your work on an assigned sound in progress."""
        return self._send(AssignmentOut, "POST", f"/my-work/{sound_id}/open")

    def submit(self, sound_id: str) -> AssignmentOut:
        """Done: your work on the sound goes to review (a second submit raises :class:`Conflict`)."""
        return self._send(AssignmentOut, "POST", f"/my-work/{sound_id}/submit")

    def add_time(self, sound_id: str, seconds: float) -> float:
        """Add seconds of active work on the sound (at most 300 count per call); returns the seconds counted."""
        return self._post(TimeAdded, f"/my-work/{sound_id}/time", {"seconds": float(seconds)}).counted

    def reviews(self, dataset: str | None = None) -> list[ReviewItemOut]:
        """Sounds with submitted work you may review."""
        return self._get(ReviewList, "/reviews", dataset=dataset).items

    def review(self, sound_id: str) -> LanesOut:
        """One sound for review: each person's regions (``people``), the gold version so far and each state."""
        return self._get(LanesOut, f"/reviews/{sound_id}")

    def take(self, sound_id: str, *, annotator: str | None = None, annotation_ids: Iterable[str] = ()) -> list[AnnotationOut]:
        """Copy one person's whole set (``annotator``) or chosen regions into the gold version; returns the copies
        (edit them with :meth:`update_annotation`)."""
        body = {"annotator": annotator} if annotator else {"annotation_ids": list(annotation_ids)}
        return self._post(Taken, f"/reviews/{sound_id}/take", body).items

    def accept_sound(self, sound_id: str, *, allow_empty: bool = False) -> int:
        """Accept the sound's gold version; returns how many assignments were accepted. Someone else accepting it
        first raises :class:`Conflict`."""
        return self._send(Accepted, "POST", f"/reviews/{sound_id}/accept",
                          params={"allow_empty": "true"} if allow_empty else None).accepted

    def return_work(self, sound_id: str, annotator: str, comment: str) -> AssignmentOut:
        """Send ``annotator``'s submitted work on the sound back with a comment they will see."""
        return self._post(AssignmentOut, f"/reviews/{sound_id}/return", {"annotator": annotator, "comment": comment})

    def progress(self, dataset: str) -> list[ProgressOut]:
        """Per assignment batch (``annotator`` None) and per annotator: sounds done, audio hours, throughput, returned share."""
        return self._get(ProgressList, "/progress", dataset=dataset).items

    def cancel_job(self, job_id: str) -> JobOut:
        return self._send(JobOut, "POST", f"/jobs/{job_id}/cancel")

    def download(self, out: str | Path, *, count: int = 10, dataset: str | None = None, tags: Iterable[str] = (),
                 where: dict[str, str] | None = None, seed: int | None = None, balance: str | None = None,
                 cap: int | None = None, formats: Iterable[str] = ("csv",), split: dict[str, float] | None = None,
                 group_by: Iterable[str] = (), stratify: str | None = None, split_by: str = "sounds", resplit: bool = False,
                 annotation_version: str = "gold", segments: str = "offsets") -> Path:
        """A subset ZIP, streamed to ``out`` (memory stays flat); returns the path.

        With ``split`` (e.g. ``{"train": 0.8, "dev": 0.1, "test": 0.1}``) every matching sound is placed instead of
        a sample (count, balance and cap are ignored): one folder per split, no value of the ``group_by`` columns in
        two splits, and manifest.json with the rule, seed and leakage report. The server stores each sound's split
        (its metadata field ``split``) and keeps it on later downloads; ``resplit`` forgets the matching sounds' stored
        splits first and places them all anew. ``formats`` may name training formats too
        (parquet, webdataset, nemo, lhotse, kaldi, eaf), written beside the audio in the ZIP, with annotated
        ``segments`` as ``offsets`` into the whole files or cut into ``clips``. ``annotation_version``: ``gold`` (accepted
        sounds' reviewed version, the rest as annotated) or ``annotators`` (each annotator's own); the manifest says which."""
        params = _params({"count": count, "dataset": dataset, "tags": ",".join(tags) or None, "seed": seed,
                          "balance": balance, "cap": cap, "formats": ",".join(formats),
                          "split": ",".join(f"{name}={share}" for name, share in (split or {}).items()) or None,
                          "group_by": ",".join(group_by) or None, "stratify": stratify,
                          "split_by": split_by if split else None, "resplit": "true" if split and resplit else None,
                          "annotation_version": annotation_version if annotation_version != "gold" else None,
                          "segments": segments if segments != "offsets" else None})
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


def _params(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v not in (None, "", [])}
