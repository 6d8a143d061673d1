"""What the OpenAPI document says each route can answer besides its success, and the
header the request gate reads."""

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from api.endpoints import UNVERSIONED_PATHS, Endpoint
from api.schemas import DetailBody, ExceptionBody, ValidationErrorBody

Responses = dict[int | str, dict[str, Any]]

_VERSION_REFUSED: Responses = {
    400: {"model": DetailBody, "description": "The X-Prefect-Api-Version header is refused"},
}
_UNAUTHORIZED: Responses = {
    401: {"model": ExceptionBody, "description": "Auth is on and the request lacks it"},
}
_INVALID: Responses = {
    422: {"model": ValidationErrorBody, "description": "The request is invalid"},
}
_ALWAYS: Responses = {
    405: {
        "model": DetailBody,
        "description": "Method not allowed",
        "headers": {
            "Allow": {
                "description": "Every method the path serves",
                "required": True,
                "schema": {"type": "string"},
            }
        },
    },
    500: {"model": ExceptionBody, "description": "Unexpected error"},
}
_STORAGE: Responses = {
    503: {
        "model": ExceptionBody,
        "description": "DynamoDB throttled or unreachable after retries: retry later",
        "headers": {
            "Retry-After": {
                "description": "Seconds to wait before retrying",
                "required": True,
                "schema": {"type": "integer", "minimum": 1},
            }
        },
    },
}

# Checked by the request gate (`api.gate.RequestGate`), so no route declares it.
_VERSION_HEADER: dict[str, Any] = {
    "name": "X-Prefect-Api-Version",
    "in": "header",
    "required": False,
    "description": "The Prefect API version the client speaks, as x.y.z (Prefect's client "
    "sends it); 400 when it is not three dot-separated integers or is below 0.8.0",
    "schema": {"type": "string", "pattern": r"^\d+\.\d+\.\d+$"},
}


def error_responses(
    endpoint: Endpoint,
    *,
    validated: bool = True,
    storage: bool = True,
    not_found: bool = False,
    too_large: bool = False,
) -> Responses:
    """The error answers the endpoint's route can give: the gate's checks it goes through, as
    declared (the API-version header, auth), and, as each flag says, whether its parameters
    and body are validated and whether it reads DynamoDB."""
    responses = dict(_ALWAYS)
    if endpoint.versioned:
        responses |= _VERSION_REFUSED
    if endpoint.authenticated:
        responses |= _UNAUTHORIZED
    if validated:
        responses |= _INVALID
    if storage:
        responses |= _STORAGE
    if not_found:
        responses[404] = {"model": DetailBody, "description": "No such state"}
    if too_large:
        responses[413] = {"model": ExceptionBody, "description": "Too large for DynamoDB or Lambda"}
    return responses


def with_version_header(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """`app.openapi`, adding the version header to every operation that checks it."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        first = app.openapi_schema is None
        document = generate()  # made once, then cached by FastAPI
        if first:
            for path, operations in document["paths"].items():
                if path not in UNVERSIONED_PATHS:
                    for operation in operations.values():
                        operation.setdefault("parameters", []).append(_VERSION_HEADER)
        return document

    return openapi
