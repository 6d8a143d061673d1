"""Every route the service serves, each declared once: its path and methods, the function that
adds it to an app, and the request gate's checks it goes through; and, made from them at
import, what the gate reads.

The rest follows from here: the gate's 404 and 405 (the full `Allow`, in every Lambda
function, whichever routes it serves) and the requests it lets pass without auth or the
version check (below), each route's path and methods (`api.routing.declared_route`), the
local app (every endpoint), the OpenAPI document, and each Lambda function (its handler
module names the endpoints it serves; tests/test_template.py holds template.yaml's routes to
them).

A path declared with a trailing slash, as Prefect spells its list paths, is served without it
too: an HTTP API route cannot end in "/", and API Gateway sends both spellings to the route
without it.

An endpoint names the function adding its route rather than importing it: a Lambda function
imports the route modules it serves, and no other.
"""

import re
from collections.abc import Iterable, Mapping
from typing import NamedTuple

from api.records import (
    DEPLOYMENT_RECORDS,
    FLOW_RECORDS,
    FLOW_RUN_RECORDS,
    PAGINATE_FLOW_RUNS_PATH,
    TASK_RUN_RECORDS,
    RecordKind,
)
from api.runs import FLOW_RUN, TASK_RUN, RunKind


class Endpoint(NamedTuple):
    """One route. A NamedTuple rather than a dataclass: every function makes this class at
    init, and a frozen dataclass takes several times as long to make.

    Only a path without parameters may skip a check: the gate finds those by the request path
    itself, before it matches any route (tests/test_gate.py holds every declaration to it).
    """

    path: str  # `{name}` is one path segment, a path parameter
    methods: tuple[str, ...]
    route: str  # "module:function": the `api.routing.RouteAdder` that adds the route to an app
    kind: RunKind | None = None  # the kind of run whose states the route serves
    versioned: bool = True  # whether the gate checks the X-Prefect-Api-Version header
    authenticated: bool = True  # whether, with auth on, the gate asks for the auth string
    records: RecordKind | None = None  # the kind of archived record the route serves

    @property
    def paths(self) -> tuple[str, ...]:
        """The request paths it serves: its own, and that path without a trailing slash."""
        unslashed = self.path.rstrip("/")
        return (self.path,) if unslashed == self.path else (self.path, unslashed)

    @property
    def run_kind(self) -> RunKind:
        """`kind`, for a route that serves a kind of run."""
        if self.kind is None:
            raise TypeError(f"{self.route} serves a kind of run, and {self.path} declares none")
        return self.kind

    @property
    def record_kind(self) -> RecordKind:
        """`records`, for a route that serves archived records."""
        if self.records is None:
            raise TypeError(f"{self.route} serves records, and {self.path} declares no kind")
        return self.records


READ_FLOW_RUN_STATE = Endpoint(
    FLOW_RUN.state_path, ("GET",), "api.routes.read_state:add_read_state", FLOW_RUN
)
LIST_FLOW_RUN_STATES = Endpoint(
    FLOW_RUN.states_path + "/", ("GET",), "api.routes.list_states:add_list_states", FLOW_RUN
)
DELETE_FLOW_RUN_STATE = Endpoint(
    FLOW_RUN.state_path, ("DELETE",), "api.routes.delete_state:add_delete_state", FLOW_RUN
)
SET_FLOW_RUN_STATE = Endpoint(
    FLOW_RUN.set_state_path, ("POST",), "api.routes.set_state:add_set_state", FLOW_RUN
)

READ_TASK_RUN_STATE = Endpoint(
    TASK_RUN.state_path, ("GET",), "api.routes.read_state:add_read_state", TASK_RUN
)
LIST_TASK_RUN_STATES = Endpoint(
    TASK_RUN.states_path + "/", ("GET",), "api.routes.list_states:add_list_states", TASK_RUN
)
DELETE_TASK_RUN_STATE = Endpoint(
    TASK_RUN.state_path, ("DELETE",), "api.routes.delete_state:add_delete_state", TASK_RUN
)
SET_TASK_RUN_STATE = Endpoint(
    TASK_RUN.set_state_path, ("POST",), "api.routes.set_state:add_set_state", TASK_RUN
)

# Archived records (the contract's "Archived runs: read and find them"): read by id, and
# Prefect's queries. `/api/flow_runs/filter` and the rest are matched before `{id}` (below).
_READ_RECORD = "api.routes.read_record:add_read_record"
_QUERY = "api.routes.query_records:"


def _read(records: RecordKind) -> Endpoint:
    return Endpoint(records.record_path, ("GET",), _READ_RECORD, records=records)


def _query(path: str, adder: str, records: RecordKind) -> Endpoint:
    return Endpoint(path, ("POST",), _QUERY + adder, records=records)


READ_FLOW_RUN = _read(FLOW_RUN_RECORDS)
READ_TASK_RUN = _read(TASK_RUN_RECORDS)
READ_FLOW = _read(FLOW_RECORDS)
READ_DEPLOYMENT = _read(DEPLOYMENT_RECORDS)
FILTER_FLOW_RUNS = _query(FLOW_RUN_RECORDS.filter_path, "add_filter", FLOW_RUN_RECORDS)
COUNT_FLOW_RUNS = _query(FLOW_RUN_RECORDS.count_path, "add_count", FLOW_RUN_RECORDS)
PAGINATE_FLOW_RUNS = _query(PAGINATE_FLOW_RUNS_PATH, "add_paginate", FLOW_RUN_RECORDS)
FILTER_TASK_RUNS = _query(TASK_RUN_RECORDS.filter_path, "add_filter", TASK_RUN_RECORDS)
COUNT_TASK_RUNS = _query(TASK_RUN_RECORDS.count_path, "add_count", TASK_RUN_RECORDS)
FILTER_FLOWS = _query(FLOW_RECORDS.filter_path, "add_filter", FLOW_RECORDS)
COUNT_FLOWS = _query(FLOW_RECORDS.count_path, "add_count", FLOW_RECORDS)
FILTER_DEPLOYMENTS = _query(DEPLOYMENT_RECORDS.filter_path, "add_filter", DEPLOYMENT_RECORDS)
COUNT_DEPLOYMENTS = _query(DEPLOYMENT_RECORDS.count_path, "add_count", DEPLOYMENT_RECORDS)

# Prefect checks the client's API version everywhere but on health and version. With auth on,
# load balancers and Prefect's health check still reach health, with GET only, as on a Prefect
# server (any other method there gets the 401, not the 405).
HEALTH_CHECK = Endpoint(
    "/api/health",
    ("GET",),
    "api.routes.client:add_health_check",
    versioned=False,
    authenticated=False,
)
READ_API_VERSION = Endpoint(
    "/api/version", ("GET",), "api.routes.client:add_read_api_version", versioned=False
)
READ_SERVER_VERSION = Endpoint(
    "/api/admin/version", ("GET",), "api.routes.client:add_read_server_version"
)
READ_CSRF_TOKEN = Endpoint("/api/csrf-token", ("GET",), "api.routes.client:add_read_csrf_token")

ENDPOINTS: tuple[Endpoint, ...] = (
    READ_FLOW_RUN_STATE,
    LIST_FLOW_RUN_STATES,
    DELETE_FLOW_RUN_STATE,
    SET_FLOW_RUN_STATE,
    READ_TASK_RUN_STATE,
    LIST_TASK_RUN_STATES,
    DELETE_TASK_RUN_STATE,
    SET_TASK_RUN_STATE,
    READ_FLOW_RUN,
    READ_TASK_RUN,
    READ_FLOW,
    READ_DEPLOYMENT,
    FILTER_FLOW_RUNS,
    COUNT_FLOW_RUNS,
    PAGINATE_FLOW_RUNS,
    FILTER_TASK_RUNS,
    COUNT_TASK_RUNS,
    FILTER_FLOWS,
    COUNT_FLOWS,
    FILTER_DEPLOYMENTS,
    COUNT_DEPLOYMENTS,
    HEALTH_CHECK,
    READ_API_VERSION,
    READ_SERVER_VERSION,
    READ_CSRF_TOKEN,
)


# --- what the request gate reads, made once at import ------------------------------------


def _methods_by_path(endpoints: Iterable[Endpoint]) -> dict[str, tuple[str, ...]]:
    """Every request path the endpoints serve, with its methods in the order declared."""
    methods: dict[str, tuple[str, ...]] = {}
    for endpoint in endpoints:
        for path in endpoint.paths:
            methods[path] = (*methods.get(path, ()), *endpoint.methods)
    return methods


ROUTES: Mapping[str, tuple[str, ...]] = _methods_by_path(ENDPOINTS)

# Looked up by the request path, as the gate sees it before it matches a route (hence
# `Endpoint`'s rule); the endpoints sharing a path agree on the version check (tests/test_gate.py).
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


_PATTERNS = tuple(
    (re.compile(path_pattern(path)), methods) for path, methods in ROUTES.items() if "{" in path
)


def allowed_methods(path: str) -> tuple[str, ...] | None:
    """The methods served at a request path, or None for a path the service does not know.

    A path declared without parameters is matched first, as on Prefect (whose `{id:uuid}`
    never matches `filter`): a GET of `/api/flow_runs/filter` is a 405 naming POST, not a
    read of a flow run whose id is "filter"."""
    if path in ROUTES:
        return ROUTES[path]
    for pattern, methods in _PATTERNS:
        if pattern.fullmatch(path):
            return methods
    return None
