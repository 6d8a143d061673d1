"""DELETE {states_path}/{id}: remove one state."""

from typing import Annotated
from uuid import UUID

from fastapi import HTTPException, Path, Response
from fastapi.routing import APIRouter

from api.openapi import error_responses
from api.routing import ServiceRoute
from api.runs import RunKind
from api.services import Services


def delete_state_router(kind: RunKind, services: Services) -> APIRouter:
    router = APIRouter(route_class=ServiceRoute)
    repository = services.repository(kind)

    @router.delete(
        kind.state_path,
        status_code=204,
        responses=error_responses(not_found=True),
        summary=f"Delete a {kind.noun} state",
    )
    async def delete_state(
        id: Annotated[UUID, Path(description=f"The {kind.noun} state id")],
    ) -> Response:
        if not repository.delete(str(id)):
            raise HTTPException(404, kind.not_found)
        return Response(status_code=204)

    return router
