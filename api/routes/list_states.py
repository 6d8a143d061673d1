"""A run's states, oldest first, whole or in pages."""

from typing import Annotated
from uuid import UUID

from fastapi import Query, Response
from fastapi.routing import APIRouter

from api.endpoints import Endpoint
from api.openapi import error_responses
from api.paging import (
    MAX_LIMIT,
    NEXT_CURSOR_HEADER,
    TOO_LARGE_BODY,
    cursor_for,
    position_of,
    take_page,
)
from api.routing import declared_route
from api.schemas import ExceptionBody, State
from api.services import Services
from api.states import json_response


def add_list_states(router: APIRouter, endpoint: Endpoint, services: Services) -> None:
    kind = endpoint.run_kind
    repository = services.repository(kind)

    @declared_route(
        router,
        endpoint,
        responses={
            200: {
                "model": list[State],
                "description": "The run's states, oldest first: all of them, or one page",
                "headers": {
                    NEXT_CURSOR_HEADER: {
                        "description": "With `limit` or `cursor`: present when another page "
                        "follows, as the `cursor` that asks for it. A page may hold fewer "
                        "states than `limit`; only its absence means the last page.",
                        "schema": {"type": "string"},
                    }
                },
            },
            **error_responses(endpoint),
            413: {
                "model": ExceptionBody,
                "description": "Without `limit` or `cursor`: the whole list would pass "
                "Lambda's 6 MB response limit; page with `limit`",
            },
        },
        summary=f"List a {kind.noun}'s states",
    )
    async def list_states(
        run_id: Annotated[UUID, Query(alias=kind.run_id_field, description=f"The {kind.noun} id")],
        limit: Annotated[
            int | None,
            Query(
                ge=1,
                le=MAX_LIMIT,
                description="Page through the states: at most this many per response. "
                "Without it or `cursor`, the whole list (a 413 where it passes 6 MB).",
            ),
        ] = None,
        cursor: Annotated[
            str | None,
            Query(
                description=f"The {NEXT_CURSOR_HEADER} header of the previous page: the next "
                f"page starts after it (at most `limit` states, {MAX_LIMIT} without it)."
            ),
        ] = None,
    ) -> Response:
        after = None if cursor is None else position_of(cursor, kind, run_id)
        paged = limit is not None or cursor is not None
        page_size = (limit or MAX_LIMIT) if paged else None
        # One state more than the page, to know whether another page follows.
        batch_size = None if page_size is None else page_size + 1
        states = repository.list_run(str(run_id), after, batch_size)
        page = take_page(states, page_size)
        if page.resume_after is None:
            return json_response(page.body)
        if not paged:
            return json_response(TOO_LARGE_BODY, 413)
        response = json_response(page.body)
        response.headers[NEXT_CURSOR_HEADER] = cursor_for(kind, run_id, page.resume_after)
        return response
