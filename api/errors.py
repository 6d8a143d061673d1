"""Every error body the service answers, and the handlers that turn exceptions into them.

Bodies as a Prefect server gives them: `{"detail": ...}` for 400, 404 and 405;
`{"exception_message": ...}` for 401, 413, 500 and 503; Prefect's 422 for invalid requests.
"""

import logging
from collections.abc import Callable, Coroutine, Mapping
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from api.endpoints import allowed_methods
from api.request_log import SERVICE_LOGGER
from api.settings import RECORD_TABLE_VARIABLES, TABLE_VARIABLES
from storage.repository import StateTooLarge, StorageMisconfigured, StorageUnavailable
from storage.table_shapes import RecordTable

logger = logging.getLogger(SERVICE_LOGGER)
storage_logger = logging.getLogger(f"{SERVICE_LOGGER}.storage")

MINIMUM_API_VERSION = (0, 8, 0)
RETRY_AFTER_SECONDS = "1"


def detail_response(
    status: int, detail: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


def exception_response(
    status: int, message: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    return JSONResponse({"exception_message": message}, status_code=status, headers=headers)


def unmatched_route(method: str, path: str) -> JSONResponse | None:
    """The 404 or 405 for a request no declared endpoint serves, else None."""
    methods = allowed_methods(path)
    if methods is None:
        return detail_response(404, "Not Found")
    if method not in methods:
        return detail_response(405, "Method Not Allowed", {"Allow": ", ".join(methods)})
    return None


def version_error(header: str | None) -> JSONResponse | None:
    """Prefect's answer to an `X-Prefect-Api-Version` header it cannot accept, else None."""
    if not header:
        return None
    try:
        # int() as Prefect's server applies it, so both accept and refuse the same headers.
        major, minor, patch = (int(part) for part in header.split("."))
    except ValueError:
        return detail_response(
            400,
            "Invalid X-PREFECT-API-VERSION header format."
            f"Expected header in format 'x.y.z' but received {header}",
        )
    if (major, minor, patch) < MINIMUM_API_VERSION:
        return detail_response(
            400,
            f"The request specified API version {header} but this server requires "
            f"version {'.'.join(map(str, MINIMUM_API_VERSION))} or higher.",
        )
    return None


def _plain(value: Any) -> Any:
    # An exception (a `value_error`'s `ctx.error`) is `{}`, as Prefect's encoder writes it.
    if isinstance(value, Exception):
        return {}
    return value if isinstance(value, str | int | float | bool | None) else str(value)


def _text(value: Any) -> Any:
    """A raw body as text: FastAPI hands over bytes where the body is not JSON."""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def _input(problem: Mapping[str, Any]) -> Any:
    """What an error reports as its input. A missing query parameter or top-level body field
    has none, as on Prefect 3.9.1: its body fields are separate parameters, where FastAPI,
    reading the body as one model here, reports the whole body."""
    if problem["type"] == "missing" and len(problem["loc"]) <= 2:
        return None
    return _text(problem["input"])


async def _validation_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)
    details = []
    for problem in error.errors():
        detail = {key: problem[key] for key in ("type", "loc", "msg")}
        detail["input"] = _input(problem)
        if "ctx" in problem:
            detail["ctx"] = {key: _plain(value) for key, value in problem["ctx"].items()}
        details.append(detail)
    return JSONResponse(
        {
            "exception_message": "Invalid request received.",
            "exception_detail": details,
            "request_body": _text(error.body),
        },
        status_code=422,
    )


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    if error.status_code == 405:  # a path this app serves only in part: name every method
        return unmatched_route(request.method, request.url.path) or detail_response(
            405, "Method Not Allowed"
        )
    return detail_response(error.status_code, error.detail, error.headers)


async def _too_large(request: Request, error: Exception) -> Response:
    return exception_response(413, str(error))


async def _unavailable(request: Request, error: Exception) -> Response:
    logger.warning("DynamoDB unavailable: %s", error)
    return exception_response(503, "Service Unavailable", {"Retry-After": RETRY_AFTER_SECONDS})


async def _misconfigured(request: Request, error: Exception) -> Response:
    assert isinstance(error, StorageMisconfigured)
    table = error.table
    variable = (
        RECORD_TABLE_VARIABLES[table].name
        if isinstance(table, RecordTable)
        else TABLE_VARIABLES[table].name
    )
    storage_logger.error(
        "DynamoDB table %r (set by %s) answered %s: check that it exists and that this "
        "function may use it",
        error.name,
        variable,
        error.code,
    )
    return exception_response(500, "Internal Server Error")


ExceptionHandler = Callable[[Request, Exception], Coroutine[Any, Any, Response]]

EXCEPTION_HANDLERS: Mapping[int | type[Exception], ExceptionHandler] = {
    RequestValidationError: _validation_error,
    HTTPException: _http_error,
    StateTooLarge: _too_large,
    StorageUnavailable: _unavailable,
    StorageMisconfigured: _misconfigured,
}
