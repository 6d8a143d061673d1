"""GET {states_path}/{id}: one state by id."""

from typing import Annotated
from uuid import UUID

from fastapi import HTTPException, Path, Response
from fastapi.routing import APIRouter

from api.openapi import error_responses
from api.routing import ServiceRoute
from api.runs import RunKind
from api.schemas import State
from api.services import Services
from api.states import json_response


def read_state_router(kind: RunKind, services: Services) -> APIRouter:
    router = APIRouter(route_class=ServiceRoute)
    repository = services.repository(kind)

    @router.get(
        kind.state_path,
        responses={200: {"model": State}, **error_responses(not_found=True)},
        summary=f"Read a {kind.noun} state",
    )
    async def read_state(
        id: Annotated[UUID, Path(description=f"The {kind.noun} state id")],
    ) -> Response:
        state = repository.read(str(id))
        if state is None:
            raise HTTPException(404, kind.not_found)
        return json_response(state.document)

    return router
