"""Agreement figures over HTTP (core/team/agreement.py): a dataset's figures as JSON, or as CSV with format=csv
(one row per scope, pair and tag). For those who may review the dataset (core/accounts/permissions.py)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from core.api.deps import App, Bounded, Caller
from core.api.models import AUTHENTICATED, AgreementOut, Responses, errors
from core.team.agreement import agreement_for, as_csv, as_dict

router = APIRouter(route_class=Bounded, tags=["team"], responses=AUTHENTICATED)


@router.get("/agreement", summary="How far a dataset's annotators agree: per pair of people, against gold, per tag (JSON; format=csv for a table)",
            response_model=None, response_class=Response,
            responses=Responses({200: {"model": AgreementOut, "description": "JSON, or with format=csv one row per scope, pair and tag",
                                       "content": {"text/csv": {"schema": {"type": "string"}}}}}) | errors(400, 404),
            description="Segment F1 (one-to-one at IoU >= 0.5; overall by time alone, per tag within the tag), the mean "
                        "start and end deviation of matched segments in ms, Cohen's kappa per tag on 10 ms frames, and "
                        "the word error rate between matched transcripts. Machine suggestions are left out. For those "
                        "who may review the dataset; an unknown dataset is a 404.")
def get_agreement(app: App, user: Caller, dataset: Annotated[str, Query(min_length=1, max_length=128, description="the dataset")],
                  format: Annotated[Literal["json", "csv"], Query(description="json or csv")] = "json") -> Response:
    with app.db.read() as session:
        result = agreement_for(session, user, dataset)
    if format == "csv":
        return Response(as_csv(result), media_type="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="agreement-{_file_part(dataset)}.csv"'})
    return Response(AgreementOut.model_validate(as_dict(result)).model_dump_json(), media_type="application/json")


def _file_part(name: str) -> str:
    """The dataset's name as a file name's part: letters, digits, '.', '_' and '-' kept, the rest '_'."""
    return "".join(c if c.isascii() and (c.isalnum() or c in "._-") else "_" for c in name)
