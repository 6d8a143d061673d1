"""What the OpenAPI document says each route can answer besides its success."""

from typing import Any

from api.schemas import DetailBody, ExceptionBody, ValidationErrorBody

Responses = dict[int | str, dict[str, Any]]

_GATE: Responses = {
    400: {"model": DetailBody, "description": "The X-Prefect-Api-Version header is refused"},
    401: {"model": ExceptionBody, "description": "Auth is on and the request lacks it"},
    405: {"model": DetailBody, "description": "Method not allowed; `Allow` names the methods"},
    422: {"model": ValidationErrorBody, "description": "The request is invalid"},
    500: {"model": ExceptionBody, "description": "Unexpected error"},
}
_STORAGE: Responses = {
    503: {"model": ExceptionBody, "description": "DynamoDB throttled or unreachable"},
}


def error_responses(
    *, storage: bool = True, not_found: bool = False, too_large: bool = False
) -> Responses:
    responses = dict(_GATE)
    if storage:
        responses |= _STORAGE
    if not_found:
        responses[404] = {"model": DetailBody, "description": "No such state"}
    if too_large:
        responses[413] = {"model": ExceptionBody, "description": "Too large for DynamoDB or Lambda"}
    return responses
