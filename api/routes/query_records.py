"""Prefect's record queries on the archive: filter, count and (flow runs) paginate, with
Prefect's bodies, order of checks and errors (`queries.bodies`), answered by storage."""

from collections.abc import Callable, Sequence
from typing import Annotated, Any

from fastapi import Body, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRouter

from api.endpoints import Endpoint
from api.openapi import Responses, error_responses
from api.paging import BODY_LIMIT, LAMBDA_RESPONSE_LIMIT, size_in_response
from api.records import PAGINATE_FLOW_RUNS_PATH
from api.routing import declared_route
from api.schemas import ExceptionBody
from api.services import Services
from api.states import json_response
from queries import BodyInvalid, InvalidLimit, Route, pages, parse_body, unanswerable
from queries.bodies import Body as QueryBody

# Any JSON, validated by `queries.bodies` as Prefect validates it (not by FastAPI, whose
# model would report a body that is no object otherwise than Prefect does).
JSONBody = Annotated[Any, Body(description="Prefect's query body (`queries.bodies`)")]

TOO_MANY_BYTES = (
    "The records asked for are too large to answer at once: together they pass Lambda's "
    f"response limit ({LAMBDA_RESPONSE_LIMIT:,} bytes, 6 MB). Ask for fewer with `limit` and "
    "page with `offset`."
)


def _route(endpoint: Endpoint) -> Route:
    return Route(endpoint.path.removeprefix("/api"))


def _parsed(route: Route, body: Any) -> QueryBody | JSONResponse:
    """The body as Prefect reads it; or Prefect's 422 for its limit; or, raised, the
    validation 422 (a malformed body, or a sub-filter the archive cannot answer)."""
    try:
        parsed = parse_body(route, {} if body is None else body)
    except InvalidLimit as error:
        return JSONResponse({"detail": error.detail}, status_code=422)
    except BodyInvalid as error:
        raise RequestValidationError(error.errors, body=body) from None
    if problems := unanswerable(parsed):
        raise RequestValidationError([problem.error() for problem in problems], body=body)
    return parsed


def _json_list(documents: Sequence[str]) -> str | None:
    """The records as one JSON list, None where it would pass Lambda's response limit."""
    size = 2 + max(len(documents) - 1, 0) + sum(map(size_in_response, documents))
    return "[" + ",".join(documents) + "]" if size <= BODY_LIMIT else None


def _responses(endpoint: Endpoint, success: dict[str, Any]) -> Responses:
    return {
        200: success,
        **error_responses(endpoint),
        413: {"model": ExceptionBody, "description": "The page passes Lambda's 6 MB limit"},
    }


def _add_query(
    router: APIRouter,
    endpoint: Endpoint,
    answer: Callable[[QueryBody], Response],
    responses: Responses,
    summary: str,
) -> None:
    """The endpoint's route: the body read as Prefect reads it (`_parsed`), then `answer`ed.
    The route is named after `answer`, as FastAPI would name a route function (its OpenAPI
    operationId)."""
    route = _route(endpoint)

    @declared_route(router, endpoint, responses=responses, summary=summary, name=answer.__name__)
    async def query_records(body: JSONBody = None) -> Response:
        parsed = _parsed(route, body)
        return parsed if isinstance(parsed, Response) else answer(parsed)


def add_filter(router: APIRouter, endpoint: Endpoint, services: Services) -> None:
    records = endpoint.record_kind
    store = services.records()

    def filter_records(parsed: QueryBody) -> Response:
        listed = _json_list(store.find(parsed))
        if listed is None:
            return JSONResponse({"exception_message": TOO_MANY_BYTES}, status_code=413)
        return json_response(listed)

    _add_query(
        router,
        endpoint,
        filter_records,
        _responses(
            endpoint,
            {"model": list[dict[str, Any]], "description": f"The {records.noun}s that match"},
        ),
        f"Find archived {records.noun}s",
    )


def add_count(router: APIRouter, endpoint: Endpoint, services: Services) -> None:
    records = endpoint.record_kind
    store = services.records()

    def count_records(parsed: QueryBody) -> Response:
        return json_response(str(store.count(parsed)))

    _add_query(
        router,
        endpoint,
        count_records,
        {
            200: {"model": int, "description": f"How many archived {records.noun}s match"},
            **error_responses(endpoint),
        },
        f"Count archived {records.noun}s",
    )


def add_paginate(router: APIRouter, endpoint: Endpoint, services: Services) -> None:
    assert endpoint.path == PAGINATE_FLOW_RUNS_PATH
    store = services.records()

    def paginate_flow_runs(parsed: QueryBody) -> Response:
        count = store.count(parsed)
        results = _json_list(store.find(parsed))
        if results is None:
            return JSONResponse({"exception_message": TOO_MANY_BYTES}, status_code=413)
        limit: int = parsed.limit  # type: ignore[attr-defined]
        page: int = parsed.page  # type: ignore[attr-defined]
        tail = f',"count":{count},"limit":{limit},"pages":{pages(count, limit)},"page":{page}}}'
        return json_response('{"results":' + results + tail)

    _add_query(
        router,
        endpoint,
        paginate_flow_runs,
        _responses(
            endpoint,
            {
                "model": dict[str, Any],
                "description": 'Prefect\'s {"results", "count", "limit", "pages", "page"}',
            },
        ),
        "Page through archived flow runs",
    )
