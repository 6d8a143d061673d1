"""The one factory behind every app: each Lambda function's and the local server's."""

import gc

from fastapi import APIRouter, FastAPI
from mangum import Mangum

from api.auth import authenticator_for
from api.clock import Clock, utc_now
from api.endpoints import Endpoint
from api.errors import EXCEPTION_HANDLERS
from api.gate import ErrorBoundary, RequestGate
from api.openapi import with_version_header
from api.request_log import configure_logging
from api.routing import ServiceRoute, route_adder
from api.services import (
    RecordClient,
    RepositoryProvider,
    Services,
    dynamodb_record_client,
    dynamodb_repository,
)
from api.settings import Settings


def build_app(
    *endpoints: Endpoint,
    settings: Settings,
    repositories: RepositoryProvider = dynamodb_repository,
    clock: Clock = utc_now,
    record_client: RecordClient = dynamodb_record_client,
    docs: bool = False,
) -> FastAPI:
    """An app serving the endpoints' routes, configured by `settings`, its states in
    `repositories` and its archived records on `record_client`, its time read from `clock`.

    Only the local app builds docs; Lambda apps never need them.
    """
    docs_paths = frozenset({"/openapi.json", "/docs"} if docs else ())
    app = FastAPI(
        title="Prefect run states",
        version="0.1.0",
        openapi_url="/openapi.json" if docs else None,
        docs_url="/docs" if docs else None,
        swagger_ui_oauth2_redirect_url=None,
        redoc_url=None,
        redirect_slashes=False,
        # FastAPI's own OpenTelemetry looks for an SDK's providers on every request; no
        # function installs one: its request log line is its telemetry.
        telemetry={"tracing": False, "metrics": False, "logs": False},
        exception_handlers=dict(EXCEPTION_HANDLERS),
    )
    services = Services(settings, repositories, clock, record_client)
    router = APIRouter()
    for endpoint in endpoints:
        route_adder(endpoint)(router, endpoint, services)
    if docs:
        for route in router.routes:
            if isinstance(route, ServiceRoute):
                route.responses = route.documented_responses
    # Included whole, once documented: the app derives its own routes from these, their
    # documented responses' models included.
    app.include_router(router)
    if docs:
        app.openapi = with_version_header(app)  # type: ignore[method-assign]  # FastAPI's way
    app.add_middleware(
        RequestGate, authenticator=authenticator_for(settings), ungated_paths=docs_paths
    )
    app.add_middleware(ErrorBoundary)
    configure_logging(settings.log_level)
    return app


def build_handler(
    *endpoints: Endpoint,
    settings: Settings | None = None,
    repositories: RepositoryProvider = dynamodb_repository,
    clock: Clock = utc_now,
    record_client: RecordClient = dynamodb_record_client,
) -> Mangum:
    """A Lambda handler serving the endpoints behind an HTTP API, configured by the
    environment unless `settings` are given: what a function's handler module makes at init
    (`lambda_handler`), or a test or benchmark makes anew on storage of its own."""
    app = build_app(
        *endpoints,
        settings=settings or Settings.from_environment(),
        repositories=repositories,
        clock=clock,
        record_client=record_client,
    )
    return Mangum(app, lifespan="off")


def lambda_handler(*endpoints: Endpoint) -> Mangum:
    """A function's entry point, serving the endpoints, as its handler module makes it at init.

    The end of a function's init (see `handlers`): what it built is moved out of the
    collector's sight for good, and the collector, paused during init, runs again.
    """
    handler = build_handler(*endpoints)
    gc.freeze()
    gc.enable()
    return handler
