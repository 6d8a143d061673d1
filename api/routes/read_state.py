"""Read one state by id."""

from typing import Annotated
from uuid import UUID

from fastapi import HTTPException, Path, Response
from fastapi.routing import APIRouter

from api.endpoints import Endpoint
from api.openapi import error_responses
from api.routing import declared_route
from api.schemas import State
from api.services import Services
from api.states import json_response


def add_read_state(router: APIRouter, endpoint: Endpoint, services: Services) -> None:
    kind = endpoint.run_kind
    repository = services.repository(kind)

    @declared_route(
        router,
        endpoint,
        responses={200: {"model": State}, **error_responses(endpoint, not_found=True)},
        summary=f"Read a {kind.noun} state",
    )
    async def read_state(
        id: Annotated[UUID, Path(description=f"The {kind.noun} state id")],
    ) -> Response:
        state = repository.read(str(id))
        if state is None:
            raise HTTPException(404, kind.not_found)
        return json_response(state.document)
