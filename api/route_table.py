"""What the request gate reads of the declared endpoints (`api.endpoints`), made once at
import: the methods served at each request path, for its 404 and 405 (the full `Allow`, in
every Lambda function, whichever routes it serves), and the requests it lets pass without auth
or the API version check."""

import re
from collections.abc import Iterable, Mapping

from api.endpoints import ENDPOINTS, Endpoint


def _methods_by_path(endpoints: Iterable[Endpoint]) -> dict[str, tuple[str, ...]]:
    """Every request path the endpoints serve, with its methods in the order declared."""
    methods: dict[str, tuple[str, ...]] = {}
    for endpoint in endpoints:
        for path in endpoint.paths:
            methods[path] = (*methods.get(path, ()), *endpoint.methods)
    return methods


ROUTES: Mapping[str, tuple[str, ...]] = _methods_by_path(ENDPOINTS)

# Looked up by the request path, as the gate sees it before it matches a route; an endpoint
# may skip a check only on a path without parameters (`Endpoint.__post_init__`), and the
# endpoints sharing a path agree on the version check (tests/test_gate.py).
UNVERSIONED_PATHS = frozenset(
    path for endpoint in ENDPOINTS if not endpoint.versioned for path in endpoint.paths
)
UNAUTHENTICATED_ROUTES = frozenset(
    (method, path)
    for endpoint in ENDPOINTS
    if not endpoint.authenticated
    for method in endpoint.methods
    for path in endpoint.paths
)


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
