"""Analyzers and jobs: what each analyzer does and takes, submitting a job over sounds, its progress, what it
wrote (JSON or CSV), cancelling."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from core.api.deps import PREFIX, App, Bounded, Caller
from core.catalogue.search import CatalogueQuery, parse_where
from core.jobs import results
from core.jobs.analyzers import ANALYZERS
from core.jobs.queue import JobService
from core.store.models import Job

router = APIRouter(route_class=Bounded, tags=["jobs"])


class NewJob(BaseModel):
    """An analyzer over `sound_ids`, or over the sounds matching `dataset`, `tags` and `where` now."""

    analyzer: str = Field("", max_length=100)
    sound_ids: list[Annotated[str, Field(max_length=64)]] | None = Field(None, max_length=1_000_000)
    dataset: str | None = Field(None, max_length=200)
    tags: list[str] = Field(default_factory=list, max_length=100)
    where: list[str] = Field(default_factory=list, max_length=100, description="COLUMN=VALUE")
    params: dict[str, Any] = Field(default_factory=dict)


def public_job(job: Job) -> dict[str, Any]:
    return {"id": job.id, "analyzer": job.analyzer, "version": job.version, "params": job.params, "state": job.state,
            "done": job.done, "failed": job.failed, "total": job.total, "submitted_by": f"{PREFIX}/users/{job.submitted_by}",
            "date_created": job.date_created.isoformat(), "finished": job.finished.isoformat() if job.finished else None,
            "output": job.output}


@router.get("/analyzers", summary="The analyzers: what each does, its parameters (default, range) and its output")
def list_analyzers(user: Caller) -> dict:
    return {"items": [{"name": a.name, "version": a.version, "description": a.description, "outputs": a.outputs,
                       "params": {n: {"default": p.default, "minimum": p.minimum, "maximum": p.maximum,
                                      "choices": list(p.choices) or None, "help": p.help} for n, p in a.params.items()}}
                      for a in ANALYZERS.values()]}


@router.post("/jobs", status_code=201, summary="Queue an analyzer over sound_ids, or over the sounds matching dataset/tags/where")
def submit_job(app: App, user: Caller, body: NewJob) -> dict:
    query = CatalogueQuery(dataset=body.dataset, tags=tuple(body.tags), where=parse_where(body.where))
    with app.db.write() as session:
        job = JobService(session).submit(user, body.analyzer, sound_ids=body.sound_ids, query=query, params=body.params)
        return public_job(job)


@router.get("/jobs", summary="Recent jobs, newest first")
def list_jobs(app: App, user: Caller, limit: Annotated[int, Query(ge=1, le=1000, description="how many")] = 50) -> dict:
    with app.db.read() as session:
        return {"items": [public_job(j) for j in JobService(session).list(limit)]}


@router.get("/jobs/{job_id}", summary="One job: its state, progress and output")
def get_job(app: App, user: Caller, job_id: str) -> dict:
    with app.db.read() as session:
        return public_job(JobService(session).get(job_id))


@router.get("/jobs/{job_id}/results", summary="What a job wrote, per sound: its suggestions and metadata fields (JSON; format=csv for a table)", response_model=None)
def job_results(app: App, user: Caller, job_id: str,
                format: Annotated[Literal["json", "csv"], Query(description="json or csv")] = "json") -> dict | Response:
    with app.db.read() as session:
        job = JobService(session).get(job_id)
        if format == "csv":
            return Response(results.as_csv(session, job), media_type="text/csv",
                            headers={"Content-Disposition": f'attachment; filename="job-{job.id}.csv"'})
        return {"job": public_job(job), "sounds": list(results.sounds(session, job))}


@router.post("/jobs/{job_id}/cancel", summary="Cancel a job (yours; administrators: any)")
def cancel_job(app: App, user: Caller, job_id: str) -> dict:
    with app.db.write() as session:
        return public_job(JobService(session).cancel(user, job_id))
