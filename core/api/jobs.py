"""Analyzers and jobs: what each analyzer does and takes, submitting a job over sounds, its progress, what it
wrote (JSON or CSV), cancelling."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal, Union

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field, create_model

from core.api.deps import PREFIX, App, Bounded, Caller
from core.api.models import (
    AUTHENTICATED,
    UNION_TAGS,
    AnalyzerList,
    Body,
    Id,
    JobList,
    JobOut,
    JobResults,
    Responses,
    Tag,
    Where,
    errors,
    free_text,
)
from core.catalogue.search import CatalogueQuery, parse_where
from core.jobs import results
from core.jobs.analyzers import ANALYZERS, Analyzer
from core.jobs.queue import JobService
from core.store.models import Job

router = APIRouter(route_class=Bounded, tags=["jobs"], responses=AUTHENTICATED)


class JobTarget(Body):
    """An analyzer over `sound_ids`, or over the sounds matching `dataset`, `tags` and `where` now."""

    sound_ids: list[Id] | None = Field(None, max_length=1_000_000)
    dataset: str | None = free_text(200)
    tags: list[Tag] | None = Field(None, max_length=100)
    where: list[Where] | None = Field(None, max_length=100, description="COLUMN=VALUE")


def _param(spec: Any) -> Any:
    """One analyzer parameter as a typed, bounded field (its default, range or choices)."""
    if spec.choices:
        kind: Any = Literal[tuple(spec.choices)]
    elif isinstance(spec.default, str):  # a metadata column's name (speaker-check's speaker_column)
        kind = Annotated[str, Field(max_length=128)]
    elif isinstance(spec.default, int):
        kind = Annotated[int, Field(ge=spec.minimum, le=spec.maximum)]
    else:
        kind = Annotated[float, Field(ge=spec.minimum, le=spec.maximum, allow_inf_nan=False)]
    return (kind, Field(spec.default, description=spec.help))


def _job_of(analyzer: Analyzer) -> type[JobTarget]:
    """The body that submits ``analyzer``: its name, and its parameters with their ranges (no others)."""
    title = "".join(part.title() for part in analyzer.name.split("-"))
    params = create_model(f"{title}Params", __config__=ConfigDict(strict=True, extra="forbid"),
                          **{name: _param(spec) for name, spec in analyzer.params.items()})
    UNION_TAGS.add(analyzer.name)
    return create_model(f"{title}Job", __base__=JobTarget, analyzer=(Literal[analyzer.name], ...),
                        params=(params | None, Field(None, description=f"{analyzer.description} (default: every parameter's default)")))


if TYPE_CHECKING:  # what a checker can know of the union built from the analyzers below
    class NewJob(JobTarget):
        analyzer: str
        params: BaseModel | None
else:
    NewJob = Annotated[Union[tuple(_job_of(a) for a in ANALYZERS.values())], Field(discriminator="analyzer")]  # noqa: UP007


def public_job(job: Job) -> dict[str, Any]:
    return {"id": job.id, "analyzer": job.analyzer, "version": job.version, "params": job.params, "state": job.state,
            "done": job.done, "failed": job.failed, "total": job.total, "submitted_by": f"{PREFIX}/users/{job.submitted_by}",
            "date_created": job.date_created.isoformat(), "finished": job.finished.isoformat() if job.finished else None,
            "output": job.output}


@router.get("/analyzers", summary="The analyzers: what each does, its parameters (default, range) and its output",
            response_model=AnalyzerList)
def list_analyzers(user: Caller) -> dict[str, Any]:
    return {"items": [{"name": a.name, "version": a.version, "description": a.description, "outputs": a.outputs,
                       "params": {n: {"default": p.default, "minimum": p.minimum, "maximum": p.maximum,
                                      "choices": list(p.choices) or None, "help": p.help} for n, p in a.params.items()}}
                      for a in ANALYZERS.values()]}


@router.post("/jobs", status_code=201, summary="Queue an analyzer over sound_ids, or over the sounds matching dataset/tags/where",
             response_model=JobOut, responses=errors(400, 404, 413),
             description="No sound to analyze (an unknown id, or nothing that matches) is a 404.")
def submit_job(app: App, user: Caller, body: NewJob) -> dict[str, Any]:
    query = CatalogueQuery(dataset=body.dataset, tags=tuple(body.tags or ()), where=parse_where(body.where or []))
    params = body.params.model_dump() if body.params else {}
    with app.db.write() as session:
        job = JobService(session).submit(user, body.analyzer, sound_ids=body.sound_ids, query=query, params=params)
        return public_job(job)


@router.get("/jobs", summary="Recent jobs, newest first", response_model=JobList, responses=errors(400))
def list_jobs(app: App, user: Caller, limit: Annotated[int, Query(ge=1, le=1000, description="how many")] = 50) -> dict[str, Any]:
    with app.db.read() as session:
        return {"items": [public_job(j) for j in JobService(session).list(limit)]}


@router.get("/jobs/{job_id}", summary="One job: its state, progress and output", response_model=JobOut, responses=errors(400, 404))
def get_job(app: App, user: Caller, job_id: str) -> dict[str, Any]:
    with app.db.read() as session:
        return public_job(JobService(session).get(job_id))


@router.get("/jobs/{job_id}/results", summary="What a job wrote, per sound: its suggestions and metadata fields (JSON; format=csv for a table)",
            response_model=None, response_class=Response,
            responses=Responses({200: {"model": JobResults, "description": "JSON, or with format=csv one row per suggestion",
                                       "content": {"text/csv": {"schema": {"type": "string"}}}}}) | errors(400, 404))
def job_results(app: App, user: Caller, job_id: str,
                format: Annotated[Literal["json", "csv"], Query(description="json or csv")] = "json") -> Response:
    with app.db.read() as session:
        job = JobService(session).get(job_id)
        if format == "csv":
            return Response(results.as_csv(session, job), media_type="text/csv",
                            headers={"Content-Disposition": f'attachment; filename="job-{job.id}.csv"'})
        answer = JobResults.model_validate({"job": public_job(job), "sounds": list(results.sounds(session, job))})
    return Response(answer.model_dump_json(), media_type="application/json")


@router.post("/jobs/{job_id}/cancel", summary="Cancel a job (yours; administrators: any)", response_model=JobOut,
             responses=errors(400, 404, 409, 413), description="A job that has already finished is a 409.")
def cancel_job(app: App, user: Caller, job_id: str) -> dict[str, Any]:
    with app.db.write() as session:
        return public_job(JobService(session).cancel(user, job_id))
