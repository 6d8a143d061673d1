"""What the tests read from `template.yaml`: each function's routes and the endpoints its
handler module serves, and what a route does."""

import importlib
from collections.abc import Iterable
from enum import StrEnum

from api.endpoints import Endpoint
from api.records import (
    DEPLOYMENT_RECORDS,
    FLOW_RECORDS,
    FLOW_RUN_RECORDS,
    PAGINATE_FLOW_RUNS_PATH,
    TASK_RUN_RECORDS,
    RecordKind,
)
from api.runs import FLOW_RUN, TASK_RUN, RunKind
from local.invoke import function_ids, function_properties
from local.template_tables import load_template

DEFAULT_ROUTE = "$default"
# The functions an EventBridge schedule runs, not the HTTP API: tested in test_import_function.
SCHEDULED_FUNCTIONS = frozenset({"ImportFunction"})


class Operation(StrEnum):
    READ = "read"
    LIST = "list"
    DELETE = "delete"
    SET_STATE = "set_state"


def route_keys(logical_id: str) -> set[str]:
    """API Gateway's keys ("GET /api/health", or "$default") of a function's HttpApi events."""
    keys = set()
    for event in function_properties(logical_id).get("Events", {}).values():
        assert event["Type"] == "HttpApi"
        properties = event["Properties"]
        if "Path" in properties or "Method" in properties:
            keys.add(f"{properties['Method']} {properties['Path']}")
        else:
            keys.add(DEFAULT_ROUTE)
    return keys


def gateway_route_keys(endpoints: Iterable[Endpoint]) -> set[str]:
    """The HTTP API route keys the endpoints need: an HTTP API route path cannot end in "/",
    and API Gateway sends a path with a trailing slash to the route without it."""
    return {
        f"{method} {endpoint.path.rstrip('/')}"
        for endpoint in endpoints
        for method in endpoint.methods
    }


def handler_module(logical_id: str) -> str:
    """The module the function's `Handler` names."""
    return str(function_properties(logical_id)["Handler"]).rpartition(".")[0]


def served_endpoints(logical_id: str) -> tuple[Endpoint, ...]:
    """The endpoints the function's handler module serves (its `endpoints`)."""
    endpoints: tuple[Endpoint, ...] = importlib.import_module(handler_module(logical_id)).endpoints
    return endpoints


def api_function_ids() -> list[str]:
    """The functions behind the HTTP API: every function but the scheduled ones."""
    return [logical_id for logical_id in function_ids() if logical_id not in SCHEDULED_FUNCTIONS]


def all_route_keys() -> set[str]:
    return {key for logical_id in api_function_ids() for key in route_keys(logical_id)}


def state_route(route_key: str) -> tuple[RunKind, Operation] | None:
    """The kind of run and the operation a route key serves, None for the other routes."""
    for kind in (FLOW_RUN, TASK_RUN):
        operations = {
            f"GET {kind.state_path}": Operation.READ,
            f"GET {kind.states_path}": Operation.LIST,
            f"DELETE {kind.state_path}": Operation.DELETE,
            f"POST {kind.set_state_path}": Operation.SET_STATE,
        }
        if route_key in operations:
            return kind, operations[route_key]
    return None


def the_http_api() -> str:
    """The logical id of the template's one HTTP API."""
    api: str
    (api,) = (
        logical_id
        for logical_id, resource in load_template()["Resources"].items()
        if resource["Type"] == "AWS::Serverless::HttpApi"
    )
    return api


class RecordOperation(StrEnum):
    READ = "read"
    QUERY = "query"  # filter, count, paginate


def record_route(route_key: str) -> tuple[RecordKind, RecordOperation] | None:
    """The kind of record and the operation a route key serves, None for the other routes."""
    for records in (FLOW_RUN_RECORDS, TASK_RUN_RECORDS, FLOW_RECORDS, DEPLOYMENT_RECORDS):
        operations = {
            f"GET {records.record_path}": RecordOperation.READ,
            f"POST {records.filter_path}": RecordOperation.QUERY,
            f"POST {records.count_path}": RecordOperation.QUERY,
        }
        if records is FLOW_RUN_RECORDS:
            operations[f"POST {PAGINATE_FLOW_RUNS_PATH}"] = RecordOperation.QUERY
        if route_key in operations:
            return records, operations[route_key]
    return None
