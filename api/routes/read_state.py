"""GET {states_path}/{id}: one state by id."""

from typing import Annotated
from uuid import UUID

from fastapi import Depends, HTTPException, Path, Response
from fastapi.routing import APIRouter

from api.app import ServiceRoute
from api.dependencies import repository_for
from api.openapi import error_responses
from api.runs import RunKind
from api.schemas import State
from api.states import json_response
from storage.repository import StateRepository


def read_state_router(kind: RunKind) -> APIRouter:
    router = APIRouter(route_class=ServiceRoute)
    Repository = Annotated[StateRepository, Depends(repository_for(kind.table))]

    @router.get(
        kind.state_path,
        responses={200: {"model": State}, **error_responses(not_found=True)},
        summary=f"Read a {kind.noun} state",
    )
    async def read_state(
        id: Annotated[UUID, Path(description=f"The {kind.noun} state id")],
        repository: Repository,
    ) -> Response:
        state = repository.read(str(id))
        if state is None:
            raise HTTPException(404, kind.not_found)
        return json_response(state.document)

    return router
