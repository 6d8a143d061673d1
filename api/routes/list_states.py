"""GET {states_path}/?{run_id_field}=...: a run's states, oldest first."""

from typing import Annotated
from uuid import UUID

from fastapi import Depends, Query, Response
from fastapi.routing import APIRouter

from api.app import ServiceRoute
from api.dependencies import repository_for
from api.openapi import error_responses
from api.runs import RunKind
from api.schemas import State
from api.states import json_response, states_body
from storage.repository import StateRepository


def list_states_router(kind: RunKind) -> APIRouter:
    router = APIRouter(route_class=ServiceRoute)
    Repository = Annotated[StateRepository, Depends(repository_for(kind.table))]

    async def list_states(
        run_id: Annotated[UUID, Query(alias=kind.run_id_field, description=f"The {kind.noun} id")],
        repository: Repository,
    ) -> Response:
        return json_response(states_body(repository.list_run(str(run_id))))

    router.add_api_route(
        kind.states_path + "/",
        list_states,
        methods=["GET"],
        responses={200: {"model": list[State]}, **error_responses()},
        summary=f"List a {kind.noun}'s states",
    )
    # The same route without the slash, answered directly rather than redirected.
    router.add_api_route(kind.states_path, list_states, methods=["GET"], include_in_schema=False)
    return router
