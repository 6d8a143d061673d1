"""Store a proposed state for a run; a retried transition is stored once."""

from typing import Annotated
from uuid import UUID

from fastapi import Path, Response
from fastapi.routing import APIRouter

from api.endpoints import Endpoint
from api.openapi import error_responses
from api.routing import declared_route
from api.schemas import OrchestrationResult, SetStateBody
from api.services import Services
from api.states import new_state, orchestration_response


def add_set_state(router: APIRouter, endpoint: Endpoint, services: Services) -> None:
    kind = endpoint.run_kind
    repository = services.repository(kind)
    retention = services.retention(kind)
    clock = services.clock

    @declared_route(
        router,
        endpoint,
        status_code=201,
        responses={
            200: {
                "model": OrchestrationResult,
                "description": "A retry: the run already made this transition (status REJECT)",
            },
            201: {"model": OrchestrationResult, "description": "Stored (status ACCEPT)"},
            **error_responses(endpoint, too_large=True),
        },
        summary=f"Set a {kind.noun}'s state",
    )
    async def set_state(
        id: Annotated[UUID, Path(description=f"The {kind.noun} id")],
        body: SetStateBody,
    ) -> Response:
        proposed = new_state(kind, id, body.state, clock(), retention)
        already_stored = repository.insert(proposed)
        if already_stored is None:
            return orchestration_response(proposed, accepted=True)
        return orchestration_response(already_stored, accepted=False)
