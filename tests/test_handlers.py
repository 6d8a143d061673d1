"""Each Lambda function through its own Mangum handler, on HTTP API payload 2.0 events."""

import importlib
import json
from collections.abc import Callable
from typing import Any

import pytest
from moto import mock_aws

from api.app import build_handler
from api.endpoints import READ_FLOW_RUN_STATE
from api.settings import Settings
from local.invoke import invoke, status_and_body
from local.lambda_events import http_api_event
from storage.dynamodb import dynamodb_client
from tests.helpers import LambdaFunction, new_id, record_clients_made


def deployed(module: str) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """A function as its module builds it for Lambda: for those that use no storage."""
    handler: Callable[[dict[str, Any], Any], dict[str, Any]] = importlib.import_module(
        f"handlers.{module}"
    ).handler
    return handler


@pytest.mark.parametrize("kind_name", ["flow", "task"])
def test_each_state_function_end_to_end(lambda_function: LambdaFunction, kind_name: str) -> None:
    run_id, transition = new_id(), new_id()
    states, runs = f"/api/{kind_name}_run_states", f"/api/{kind_name}_runs"
    proposal = json.dumps(
        {
            "state": {
                "type": "RUNNING",
                "data": {"n": 2**70},
                "state_details": {"transition_id": transition},
            }
        }
    ).encode()

    set_path = f"{runs}/{run_id}/set_state"
    event = http_api_event(
        "POST",
        set_path,
        body=proposal,
        path_parameters={"id": run_id},
        route_key=f"POST {runs}/{{id}}/set_state",
    )
    created = invoke(lambda_function(f"set_{kind_name}_run_state"), event)
    assert created["statusCode"] == 201
    state = status_and_body(created)[1]["state"]
    assert state["data"] == {"n": 2**70}
    assert state["state_details"][f"{kind_name}_run_id"] == run_id
    retried = invoke(lambda_function(f"set_{kind_name}_run_state"), event)
    assert (retried["statusCode"], status_and_body(retried)[1]["status"]) == (200, "REJECT")

    read = invoke(
        lambda_function(f"read_{kind_name}_run_state"),
        http_api_event("GET", f"{states}/{state['id']}", path_parameters={"id": state["id"]}),
    )
    assert status_and_body(read) == (200, state)
    assert read["headers"]["content-type"] == "application/json"

    for path in (states, states + "/"):  # API Gateway sends both to the one route
        listed = invoke(
            lambda_function(f"list_{kind_name}_run_states"),
            http_api_event("GET", path, query=f"{kind_name}_run_id={run_id}"),
        )
        assert status_and_body(listed) == (200, [state])

    deleted = invoke(
        lambda_function(f"delete_{kind_name}_run_state"),
        http_api_event("DELETE", f"{states}/{state['id']}", path_parameters={"id": state["id"]}),
    )
    assert (deleted["statusCode"], deleted["body"]) == (204, "")
    missing = invoke(
        lambda_function(f"read_{kind_name}_run_state"),
        http_api_event("GET", f"{states}/{state['id']}", path_parameters={"id": state["id"]}),
    )
    assert status_and_body(missing) == (
        404,
        {"detail": f"{kind_name.capitalize()} run state not found"},
    )


@pytest.mark.parametrize(
    ("path", "query", "status", "body"),
    [
        ("/api/health", "", 200, True),
        ("/api/version", "", 200, "0.8.4"),
        ("/api/admin/version", "", 200, "3.9.1"),
        ("/api/csrf-token", "client=abc", 422, {"detail": "CSRF protection is disabled."}),
    ],
)
def test_client_routes_function(path: str, query: str, status: int, body: Any) -> None:
    response = invoke(deployed("client_routes"), http_api_event("GET", path, query=query))
    assert status_and_body(response) == (status, body)


@pytest.mark.parametrize(
    ("method", "path", "status", "allow"),
    [
        ("GET", "/api/nowhere", 404, None),
        ("PUT", "/api/flow_run_states/" + "0" * 32, 405, "GET, DELETE"),
        ("HEAD", "/api/health", 405, "GET"),
        ("GET", "/api/flow_runs/x/set_state", 405, "POST"),
    ],
)
def test_fallback_function(method: str, path: str, status: int, allow: str | None) -> None:
    response = invoke(deployed("fallback"), http_api_event(method, path))
    assert response["statusCode"] == status
    assert response["headers"].get("allow") == allow
    if method != "HEAD":
        expected = "Not Found" if status == 404 else "Method Not Allowed"
        assert status_and_body(response)[1] == {"detail": expected}


def test_an_unexpected_error_is_the_contract_500(
    monkeypatch: pytest.MonkeyPatch, lambda_function: LambdaFunction
) -> None:
    from storage.dynamodb import DynamoDBStateRepository

    def explode(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(DynamoDBStateRepository, "read", explode)
    response = invoke(
        lambda_function("read_flow_run_state"),
        http_api_event("GET", "/api/flow_run_states/" + new_id()),
    )
    assert response["statusCode"] == 500
    assert response["headers"]["content-type"] == "application/json"
    assert status_and_body(response)[1] == {"exception_message": "Internal Server Error"}


def test_a_function_makes_its_dynamodb_client_on_its_first_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Not at init: under SnapStart a client made then, with its credentials, would be
    frozen into the snapshot."""
    dynamodb_client.cache_clear()
    made = record_clients_made(monkeypatch)
    with mock_aws():
        handler = build_handler(READ_FLOW_RUN_STATE, settings=Settings())
        assert made == []
        event = http_api_event("GET", f"/api/flow_run_states/{new_id()}")
        assert invoke(handler, event)["statusCode"] == 500  # moto holds no table
        assert made == ["dynamodb"]
    dynamodb_client.cache_clear()
