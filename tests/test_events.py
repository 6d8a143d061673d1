"""events/: one HTTP API (payload 2.0) event per function of template.yaml, each answered
through the handler the template names as the contract says; and `make invoke` on them.
tests/test_sam_local.py holds the same functions to the same answers through `sam local invoke`."""

import json
import os
import re
import subprocess
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

import pytest

from api.endpoints import path_pattern
from api.runs import FLOW_RUN, TASK_RUN, RunKind
from api.services import RecordClient, RepositoryProvider
from api.settings import Settings
from local.invoke import function_ids, status_and_body, template_handler
from local.invoke import invoke as invoke_function
from local.paths import EVENTS, PROJECT
from tests.helpers import repository_of
from tests.template import (
    DEFAULT_ROUTE,
    Operation,
    RecordOperation,
    all_route_keys,
    api_function_ids,
    record_route,
    route_keys,
    state_route,
)


def event_of(logical_id: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / f"{logical_id}.json").read_text())
    return event


Invoke = Callable[[str, dict[str, Any]], dict[str, Any]]


def in_process(repositories: RepositoryProvider, record_client: RecordClient) -> Invoke:
    """Runs an event through the handler the template names for a function, built on
    `repositories` and `record_client`, in this process."""

    def answer(logical_id: str, event: dict[str, Any]) -> dict[str, Any]:
        handler = template_handler(logical_id, Settings(), repositories, record_client)
        return invoke_function(handler, event, logical_id)

    return answer


@pytest.fixture
def invoke(repositories: RepositoryProvider, record_client: RecordClient) -> Invoke:
    """`in_process`, on this test's DynamoDB."""
    return in_process(repositories, record_client)


def _route_pattern(route_key: str) -> re.Pattern[str]:
    """How API Gateway matches a route key; a trailing "/" reaches the unslashed route."""
    method, path = route_key.split(" ", 1)
    return re.compile(f"{method} {path_pattern(path)}/?")


def test_every_function_has_one_event_and_every_event_a_function() -> None:
    assert {path.stem for path in EVENTS.glob("*.json")} == set(function_ids())


@pytest.mark.parametrize("logical_id", api_function_ids())
def test_an_event_is_shaped_for_its_route(logical_id: str) -> None:
    event = event_of(logical_id)
    http = event["requestContext"]["http"]
    assert event["version"] == "2.0"
    assert event["routeKey"] == event["requestContext"]["routeKey"]
    assert event["rawPath"] == http["path"]
    assert dict(parse_qsl(event["rawQueryString"])) == event.get("queryStringParameters", {})
    assert event["isBase64Encoded"] is False
    if "body" in event:
        json.loads(event["body"])
    request = f"{http['method']} {event['rawPath']}"
    if event["routeKey"] == DEFAULT_ROUTE:  # what API Gateway sends when no route matches
        assert route_keys(logical_id) == {DEFAULT_ROUTE}
        for key in all_route_keys() - {DEFAULT_ROUTE}:
            assert not _route_pattern(key).fullmatch(request)
    else:
        assert event["routeKey"] in route_keys(logical_id)
        assert _route_pattern(event["routeKey"]).fullmatch(request)
        path_template = event["routeKey"].split(" ", 1)[1]
        parameters = event.get("pathParameters", {})
        assert set(parameters) == set(re.findall(r"\{(\w+)\}", path_template))
        assert event["rawPath"].rstrip("/") == path_template.format(**parameters)


def _set_state_function(kind: RunKind) -> str:
    (logical_id,) = (
        logical_id
        for logical_id in api_function_ids()
        if route_keys(logical_id) == {f"POST {kind.set_state_path}"}
    )
    return logical_id


def _event_state_id(kind: RunKind) -> str:
    """The id of the state the kind's set_state event proposes (its transition id makes it
    predictable), which the read, list and delete events name."""
    event = event_of(_set_state_function(kind))
    transition_id = json.loads(event["body"])["state"]["state_details"]["transition_id"]
    return str(uuid.uuid5(uuid.UUID(event["pathParameters"]["id"]), transition_id))


def delete_event_states(repositories: RepositoryProvider) -> None:
    for kind in (FLOW_RUN, TASK_RUN):
        repository_of(repositories, kind).delete(_event_state_id(kind))


@pytest.fixture
def without_event_states(repositories: RepositoryProvider) -> None:
    """Each test starts without the events' states: DynamoDB Local is one database per session."""
    delete_event_states(repositories)


def _stored_state(invoke: Invoke, kind: RunKind) -> dict[str, Any]:
    """Writes the state the kind's set_state event proposes; the read, list and delete events
    name that state and its run (a transition id makes its id predictable)."""
    function = _set_state_function(kind)
    status, body = status_and_body(invoke(function, event_of(function)))
    assert status == 201
    state: dict[str, Any] = body["state"]
    return state


def assert_answers_its_event(run: Invoke, arrange: Invoke, logical_id: str) -> None:
    """The function, run by `run` on its event, answers as the contract says. The state its
    event reads, lists or deletes is written first by `arrange`, on the same database."""
    event = event_of(logical_id)
    (route_key,) = route_keys(logical_id) & {event["routeKey"]}
    served = state_route(route_key)
    records = record_route(route_key)
    if route_key == DEFAULT_ROUTE:
        response = run(logical_id, event)
        assert response["statusCode"] == 405
        assert response["headers"]["allow"] == "GET, DELETE"
        assert json.loads(response["body"]) == {"detail": "Method Not Allowed"}
    elif records is not None:
        # The events name records no test archives: the contract's answers for none.
        record_kind, record_operation = records
        expected_answer: tuple[int, Any] = {
            RecordOperation.READ: (404, {"detail": record_kind.not_found}),
            RecordOperation.QUERY: (200, 0 if route_key.endswith("/count") else []),
        }[record_operation]
        assert status_and_body(run(logical_id, event)) == expected_answer
    elif served is None:
        assert status_and_body(run(logical_id, event)) == (200, True)  # /api/health
    else:
        kind, operation = served
        if operation is Operation.SET_STATE:
            status, body = status_and_body(run(logical_id, event))
            proposal = json.loads(event["body"])["state"]
            run_id = event["pathParameters"]["id"]
            assert (status, body["status"]) == (201, "ACCEPT")
            assert body["state"]["id"] == _event_state_id(kind)
            assert body["state"]["type"] == proposal["type"]
            assert body["state"]["state_details"][kind.run_id_field] == run_id
            assert status_and_body(run(logical_id, event))[1]["status"] == "REJECT"  # a retry
        else:
            state = _stored_state(arrange, kind)
            expected = {
                Operation.READ: (200, state),
                Operation.LIST: (200, [state]),
                Operation.DELETE: (204, None),
            }[operation]
            assert status_and_body(run(logical_id, event)) == expected


@pytest.mark.parametrize("logical_id", api_function_ids())
def test_every_function_answers_its_event_as_the_contract_says(
    without_event_states: None, invoke: Invoke, logical_id: str
) -> None:
    assert_answers_its_event(invoke, invoke, logical_id)


def make_invoke(logical_id: str, **environment: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            "make",
            "--silent",
            "--no-print-directory",
            "invoke",
            f"FUNCTION={logical_id}",
            f"EVENT=events/{logical_id}.json",
        ],
        cwd=PROJECT,
        env={**os.environ, **environment},
        capture_output=True,
        text=True,
        check=True,
    )


@pytest.mark.slow
def test_make_invoke_prints_the_lambda_response_and_logs_the_request() -> None:
    result = make_invoke("SetTaskRunStateFunction")
    response = json.loads(result.stdout)
    assert response["statusCode"] == 201
    assert json.loads(response["body"])["status"] == "ACCEPT"
    (log_line,) = result.stderr.splitlines()
    log = json.loads(log_line)
    assert uuid.UUID(log["request_id"])
    assert (log["method"], log["route"], log["status"]) == (
        "POST",
        "/api/task_runs/{id}/set_state",
        201,
    )


@pytest.mark.slow
def test_make_invoke_on_a_dynamodb_endpoint_keeps_the_states(moto_endpoint: str) -> None:
    on_moto_server = {"AWS_ENDPOINT_URL_DYNAMODB": moto_endpoint, "LOG_LEVEL": "WARNING"}
    written = make_invoke("SetFlowRunStateFunction", **on_moto_server)
    read = make_invoke("ReadFlowRunStateFunction", **on_moto_server)
    response = json.loads(read.stdout)
    assert response["statusCode"] == 200
    assert json.loads(response["body"]) == json.loads(json.loads(written.stdout)["body"])["state"]
    assert written.stderr == read.stderr == ""  # LOG_LEVEL=WARNING: no line for a 2xx
