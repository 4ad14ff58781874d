"""How errors look over HTTP: JSON ``{"error": "one sentence"}``, a core error with the status its kind calls for,
a request that does not fit its declared types as a 400 whose sentence names the field."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

from core.api.models import PATTERN_PHRASES, UNION_TAGS
from core.errors import AuthenticationFailed, Conflict, EarmarkError, NotFound, PermissionDenied, TooManyAttempts

STATUS = ((TooManyAttempts, 429), (AuthenticationFailed, 401), (PermissionDenied, 403), (NotFound, 404), (Conflict, 409), (EarmarkError, 400))


def error_response(exc: EarmarkError) -> JSONResponse:
    status = next(code for kind, code in STATUS if isinstance(exc, kind))
    headers = {"WWW-Authenticate": 'Basic realm="earmark"'} if status == 401 else None
    if isinstance(exc, TooManyAttempts):
        headers = {"Retry-After": str(exc.retry_after)}
    return JSONResponse({"error": str(exc)}, status_code=status, headers=headers)


# pydantic's error types, said as the end of "<field> must ..."
PHRASES = {"int_parsing": "be a whole number", "int_type": "be a whole number", "int_from_float": "be a whole number",
           "float_parsing": "be a number", "float_type": "be a number",
           "finite_number": "be a finite number", "bool_parsing": "be true or false", "list_type": "be a list",
           "dict_type": "be a JSON object", "string_type": "be text", "missing": "be given",
           "string_too_long": "be at most {max_length} characters long", "greater_than_equal": "be at least {ge}",
           "less_than_equal": "be at most {le}", "greater_than": "be more than {gt}", "literal_error": "be one of {expected}",
           "extra_forbidden": "not be sent (it cannot be changed here)", "bool_type": "be true or false",
           "string_too_short": "be at least {min_length} characters long", "too_long": "have at most {max_length} items",
           "too_short": "have at least {min_length} items", "union_tag_invalid": "be one of {expected_tags}",
           "model_type": "be a JSON object", "model_attributes_type": "be a JSON object"}

RANGES = ("greater_than_equal", "less_than_equal", "greater_than")  # the value was read; show it as a number


def _field(location: tuple[Any, ...]) -> str:
    """``("body", "sound_ids", 0)`` -> ``sound_ids[0]``; the part of the request is left out."""
    parts = [p for p in location if p not in ("body", "query", "path", "header", "form")]
    name = ""
    for part in parts:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name or "body"


def _number(value: Any) -> Any:
    """A limit as people write it: 604800, not 604800.0 (a float field's limits come as floats)."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def validation_message(error: dict[str, Any]) -> str:
    """One sentence naming the field and what it must be, from pydantic's first error."""
    kind, field = error["type"], _field(tuple(p for p in error["loc"] if p not in UNION_TAGS))
    if kind in ("union_tag_invalid", "union_tag_not_found"):  # the field that picks the body's kind (POST /jobs: analyzer)
        field = str(error.get("ctx", {}).get("discriminator", field)).strip("'")
        if kind == "union_tag_not_found":
            return f"{field} must be given."
    if kind == "json_invalid":
        return f"The request body is not JSON ({error.get('ctx', {}).get('error', 'invalid')})."
    if field == "body" and kind in ("model_attributes_type", "model_type", "dict_type"):
        if isinstance(error.get("input"), (bytes, str)):  # not sent as JSON: FastAPI parses only application/json
            return "The request body is not JSON: send a JSON object with Content-Type: application/json."
        return "The request body must be a JSON object."
    phrase = PATTERN_PHRASES.get(error.get("ctx", {}).get("pattern", "")) if kind == "string_pattern_mismatch" else PHRASES.get(kind)
    limits = {k: _number(v) for k, v in error.get("ctx", {}).items()}
    said = f"{field} must {phrase.format(**limits)}" if phrase else f"{field}: {error['msg']}"
    secret = "password" in field  # a refused password is not shown back
    if "input" in error and kind not in ("missing", "extra_forbidden") and not secret and not isinstance(error["input"], (dict, list)):
        shown = str(error["input"]) if kind in RANGES else repr(error["input"])
        said += f", not {shown[:60] + '...' if len(shown) > 60 else shown}"
    return said + "."
