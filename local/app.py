"""Every endpoint's router in one app, with `/docs` and `/openapi.json`."""

from fastapi import FastAPI

from api.app import build_app
from api.auth import Authenticator
from api.routes import client
from api.routes.delete_state import delete_state_router
from api.routes.list_states import list_states_router
from api.routes.read_state import read_state_router
from api.routes.set_state import set_state_router
from api.runs import FLOW_RUN, TASK_RUN


def local_app(authenticator: Authenticator | None = None) -> FastAPI:
    """The whole API in one app; auth follows the environment unless given (see `build_app`)."""
    return build_app(
        *(
            route(kind)
            for kind in (FLOW_RUN, TASK_RUN)
            for route in (
                read_state_router,
                list_states_router,
                delete_state_router,
                set_state_router,
            )
        ),
        client.router,
        docs=True,
        authenticator=authenticator,
    )


app = local_app()
