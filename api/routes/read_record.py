"""Read one archived record (flow run, task run, flow or deployment) by id."""

from typing import Annotated, Any
from uuid import UUID

from fastapi import HTTPException, Path, Response
from fastapi.routing import APIRouter

from api.endpoints import Endpoint
from api.openapi import error_responses
from api.routing import declared_route
from api.schemas import DetailBody
from api.services import Services
from api.states import json_response


def add_read_record(router: APIRouter, endpoint: Endpoint, services: Services) -> None:
    records = endpoint.record_kind
    reader = services.record_reader()

    @declared_route(
        router,
        endpoint,
        responses={
            200: {
                "model": dict[str, Any],
                "description": f"The {records.noun}, as the source Prefect server served it",
            },
            **error_responses(endpoint),
            404: {"model": DetailBody, "description": f"No such {records.noun} archived"},
        },
        summary=f"Read an archived {records.noun}",
    )
    async def read_record(
        id: Annotated[UUID, Path(description=f"The {records.noun} id")],
    ) -> Response:
        document = reader.read(records.table, str(id))
        if document is None:
            raise HTTPException(404, records.not_found)
        return json_response(document)
