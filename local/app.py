"""Every endpoint's router in one app, with `/docs` and `/openapi.json`."""

from functools import partial

from fastapi import FastAPI

from api.app import build_app
from api.clock import Clock, utc_now
from api.routes import client
from api.routes.delete_state import delete_state_router
from api.routes.list_states import list_states_router
from api.routes.read_state import read_state_router
from api.routes.set_state import set_state_router
from api.runs import FLOW_RUN, TASK_RUN
from api.services import RepositoryProvider, dynamodb_repository
from api.settings import Settings

_ROUTER_FACTORIES = (read_state_router, list_states_router, delete_state_router, set_state_router)


def local_app(
    settings: Settings | None = None,
    repositories: RepositoryProvider = dynamodb_repository,
    clock: Clock = utc_now,
) -> FastAPI:
    """Every route, configured by the environment unless `settings` are given, with its
    states in `repositories` (DynamoDB by default), its time read from `clock`."""
    routes = (partial(route, kind) for kind in (FLOW_RUN, TASK_RUN) for route in _ROUTER_FACTORIES)
    return build_app(
        *routes,
        client.router,
        settings=settings or Settings.from_environment(),
        repositories=repositories,
        clock=clock,
        docs=True,
    )
