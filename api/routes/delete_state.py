"""Remove one state by id."""

from typing import Annotated
from uuid import UUID

from fastapi import HTTPException, Path, Response
from fastapi.routing import APIRouter

from api.endpoints import Endpoint
from api.openapi import error_responses
from api.routing import declared_route
from api.services import Services


def add_delete_state(router: APIRouter, endpoint: Endpoint, services: Services) -> None:
    kind = endpoint.run_kind
    repository = services.repository(kind)

    @declared_route(
        router,
        endpoint,
        status_code=204,
        responses=error_responses(endpoint, not_found=True),
        summary=f"Delete a {kind.noun} state",
    )
    async def delete_state(
        id: Annotated[UUID, Path(description=f"The {kind.noun} state id")],
    ) -> Response:
        if not repository.delete(str(id)):
            raise HTTPException(404, kind.not_found)
        return Response(status_code=204)
