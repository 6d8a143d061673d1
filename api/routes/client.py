"""The small routes Prefect's client calls besides the state routes."""

from typing import Annotated, Literal

from fastapi import HTTPException, Query
from fastapi.routing import APIRouter

from api.endpoints import Endpoint
from api.openapi import error_responses
from api.routing import declared_route
from api.schemas import DetailBody, ValidationErrorBody
from api.services import Services

API_VERSION = "0.8.4"  # the Prefect API version this service speaks
SERVER_VERSION = "3.9.1"  # the Prefect server release it is compatible with


def add_health_check(router: APIRouter, endpoint: Endpoint, services: Services) -> None:
    @declared_route(
        router,
        endpoint,
        responses=error_responses(endpoint, validated=False, storage=False),
        summary="Health check",
    )
    async def health() -> Literal[True]:
        return True


def add_read_api_version(router: APIRouter, endpoint: Endpoint, services: Services) -> None:
    @declared_route(
        router,
        endpoint,
        responses=error_responses(endpoint, validated=False, storage=False),
        summary="The Prefect API version spoken",
    )
    async def api_version() -> str:
        return API_VERSION


def add_read_server_version(router: APIRouter, endpoint: Endpoint, services: Services) -> None:
    @declared_route(
        router,
        endpoint,
        responses=error_responses(endpoint, validated=False, storage=False),
        summary="The compatible Prefect server version",
    )
    async def server_version() -> str:
        return SERVER_VERSION


def add_read_csrf_token(router: APIRouter, endpoint: Endpoint, services: Services) -> None:
    @declared_route(
        router,
        endpoint,
        responses={
            **error_responses(endpoint, validated=False, storage=False),
            422: {
                "model": DetailBody | ValidationErrorBody,
                "description": "Always: CSRF protection is off, so no token is needed",
            },
        },
        summary="CSRF token (protection is off)",
    )
    async def csrf_token(client: Annotated[str, Query(description="The client's id")]) -> None:
        raise HTTPException(422, "CSRF protection is disabled.")
