"""The small routes Prefect's client calls besides the state routes."""

from typing import Annotated, Literal

from fastapi import HTTPException, Query
from fastapi.routing import APIRouter

from api.openapi import error_responses
from api.route_table import ADMIN_VERSION_PATH, CSRF_TOKEN_PATH, HEALTH_PATH, VERSION_PATH
from api.routing import ServiceRoute
from api.schemas import DetailBody, ValidationErrorBody

API_VERSION = "0.8.4"  # the Prefect API version this service speaks
SERVER_VERSION = "3.9.1"  # the Prefect server release it is compatible with

router = APIRouter(route_class=ServiceRoute)
# Health and version pass no version check (as on Prefect) and take no parameters; health
# alone needs no auth.
_VERSION_RESPONSES = error_responses(versioned=False, validated=False, storage=False)
_ADMIN_RESPONSES = error_responses(validated=False, storage=False)


@router.get(
    HEALTH_PATH,
    responses=error_responses(versioned=False, authenticated=False, validated=False, storage=False),
    summary="Health check",
)
async def health() -> Literal[True]:
    return True


@router.get(VERSION_PATH, responses=_VERSION_RESPONSES, summary="The Prefect API version spoken")
async def api_version() -> str:
    return API_VERSION


@router.get(
    ADMIN_VERSION_PATH, responses=_ADMIN_RESPONSES, summary="The compatible Prefect server version"
)
async def server_version() -> str:
    return SERVER_VERSION


@router.get(
    CSRF_TOKEN_PATH,
    responses={
        **_ADMIN_RESPONSES,
        422: {
            "model": DetailBody | ValidationErrorBody,
            "description": "Always: CSRF protection is off, so no token is needed",
        },
    },
    summary="CSRF token (protection is off)",
)
async def csrf_token(client: Annotated[str, Query(description="The client's id")]) -> None:
    raise HTTPException(422, "CSRF protection is disabled.")
