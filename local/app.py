"""Every declared endpoint (`api.endpoints`) in one app, with `/docs` and `/openapi.json`."""

from fastapi import FastAPI

from api.app import build_app
from api.clock import Clock, utc_now
from api.endpoints import ENDPOINTS
from api.services import (
    RecordClient,
    RepositoryProvider,
    dynamodb_record_client,
    dynamodb_repository,
)
from api.settings import Settings


def local_app(
    settings: Settings | None = None,
    repositories: RepositoryProvider = dynamodb_repository,
    clock: Clock = utc_now,
    record_client: RecordClient = dynamodb_record_client,
) -> FastAPI:
    """Every endpoint, configured by the environment unless `settings` are given, with its
    states in `repositories` and its records on `record_client` (DynamoDB by default), its
    time read from `clock`."""
    return build_app(
        *ENDPOINTS,
        settings=settings or Settings.from_environment(),
        repositories=repositories,
        clock=clock,
        record_client=record_client,
        docs=True,
    )
