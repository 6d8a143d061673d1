"""One JSON line per request, with Lambda's request id, the route, the status and the time."""

import importlib
import json
import logging
import pkgutil
import sys
import uuid
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.request_log import JSONFormatter, request_logger
from local.lambda_events import http_api_event
from tests.helpers import LambdaFunction, new_id


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def lines(self) -> list[dict[str, Any]]:
        """The records as the service writes them."""
        return [json.loads(JSONFormatter().format(record)) for record in self.records]


@pytest.fixture
def logged() -> Iterator[Records]:
    records = Records()
    request_logger.addHandler(records)
    try:
        yield records
    finally:
        request_logger.removeHandler(records)


def test_a_lambda_request_is_logged_with_its_request_id(
    lambda_function: LambdaFunction, logged: Records
) -> None:
    handler = lambda_function("read_flow_run_state")
    state_id = new_id()
    context = SimpleNamespace(aws_request_id=str(uuid.uuid4()))  # Lambda's, in part
    event = http_api_event("GET", f"/api/flow_run_states/{state_id}")
    assert handler(event, context)["statusCode"] == 404
    (line,) = logged.lines()
    duration = line.pop("duration_ms")
    assert line == {
        "level": "INFO",
        "logger": "prefect_run_states.requests",
        "message": "request",
        "request_id": context.aws_request_id,
        "method": "GET",
        "path": f"/api/flow_run_states/{state_id}",
        "route": "/api/flow_run_states/{id}",
        "status": 404,
    }
    assert isinstance(duration, float)
    assert duration > 0


def test_a_refusal_before_any_route_has_no_route(api: TestClient, logged: Records) -> None:
    assert api.put("/api/health").status_code == 405
    (line,) = logged.lines()
    assert (line["request_id"], line["route"], line["status"]) == (None, None, 405)


def test_a_500_is_logged_as_an_error(
    monkeypatch: pytest.MonkeyPatch, api: TestClient, logged: Records
) -> None:
    from storage.dynamodb import DynamoDBStateRepository

    def explode(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(DynamoDBStateRepository, "read", explode)
    assert api.get(f"/api/task_run_states/{new_id()}").status_code == 500
    (line,) = logged.lines()
    assert (line["level"], line["status"]) == ("ERROR", 500)


def test_an_exception_is_one_json_line_with_its_traceback() -> None:
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", None, None)
        record.exc_info = sys.exc_info()
    line = JSONFormatter().format(record)
    assert "\n" not in line
    parsed = json.loads(line)
    assert parsed["message"] == "failed"
    assert "RuntimeError: boom" in parsed["exception"]


def test_every_module_logs_under_the_service_logger_which_writes_json() -> None:
    """A logger outside it would reach Lambda's root handler and be written as plain text."""
    import api
    import storage
    from api.request_log import SERVICE_LOGGER

    loggers = []
    for package in (api, storage):
        for module_info in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            module = importlib.import_module(module_info.name)
            loggers += [
                (module.__name__, value.name)
                for value in vars(module).values()
                if isinstance(value, logging.Logger)
            ]
    assert {module for module, _ in loggers} >= {"api.auth", "api.errors", "api.gate"}
    for module_name, name in loggers:
        assert name == SERVICE_LOGGER or name.startswith(f"{SERVICE_LOGGER}."), module_name
