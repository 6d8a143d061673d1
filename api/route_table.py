"""Every path the service serves and its methods: the one table behind the local app, the
404/405 answers of every Lambda function, and the template's routes."""

import re
from collections.abc import Mapping

from api.runs import FLOW_RUN, TASK_RUN

HEALTH_PATH = "/api/health"
VERSION_PATH = "/api/version"
ADMIN_VERSION_PATH = "/api/admin/version"
CSRF_TOKEN_PATH = "/api/csrf-token"


def _run_routes() -> dict[str, tuple[str, ...]]:
    routes: dict[str, tuple[str, ...]] = {}
    for kind in (FLOW_RUN, TASK_RUN):
        routes[kind.state_path] = ("GET", "DELETE")
        # Both spellings answer directly: a redirect is a wasted round trip behind API Gateway.
        routes[kind.states_path + "/"] = ("GET",)
        routes[kind.states_path] = ("GET",)
        routes[kind.set_state_path] = ("POST",)
    return routes


ROUTES: Mapping[str, tuple[str, ...]] = {
    **_run_routes(),
    HEALTH_PATH: ("GET",),
    VERSION_PATH: ("GET",),
    ADMIN_VERSION_PATH: ("GET",),
    CSRF_TOKEN_PATH: ("GET",),
}

# Prefect checks the client's API version everywhere but on these two.
UNVERSIONED_PATHS = frozenset({HEALTH_PATH, VERSION_PATH})
# With auth on, load balancers and Prefect's health check still reach this one, with GET
# only, as on a Prefect server (any other method there gets the 401, not the 405).
UNAUTHENTICATED_ROUTES = frozenset({("GET", HEALTH_PATH)})


def path_pattern(path_template: str) -> str:
    """A regular expression for the request paths a path template (`/api/x/{id}`) matches:
    each `{parameter}` is one path segment."""
    return re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(path_template))


_PATTERNS = tuple((re.compile(path_pattern(path)), methods) for path, methods in ROUTES.items())


def allowed_methods(path: str) -> tuple[str, ...] | None:
    """The methods served at a request path, or None for a path the service does not know."""
    for pattern, methods in _PATTERNS:
        if pattern.fullmatch(path):
            return methods
    return None
