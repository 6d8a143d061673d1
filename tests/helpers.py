"""What many test modules use that is not a fixture: ids, requests, expected bodies."""

import json
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

import botocore.client
import pytest
from fastapi.testclient import TestClient
from mangum import Mangum

from api.clock import Clock, utc_now
from api.runs import RunKind
from api.schemas import State
from api.services import RepositoryProvider
from api.settings import Settings
from storage.dynamodb import DynamoDBStateRepository
from storage.repository import StateRepository
from storage.table_shapes import StateTable

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

API_VERSION_HEADER = {"X-Prefect-Api-Version": "0.8.4"}

LambdaFunction = Callable[[str], Mangum]  # a function of `handlers` by module name, built anew

DETAIL_DEFAULTS: dict[str, Any] = {
    "flow_run_id": None,
    "task_run_id": None,
    "child_flow_run_id": None,
    "scheduled_time": None,
    "cache_key": None,
    "cache_expiration": None,
    "deferred": False,
    "untrackable_result": False,
    "pause_timeout": None,
    "pause_reschedule": False,
    "pause_key": None,
    "run_input_keyset": None,
    "refresh_cache": None,
    "retriable": None,
    "transition_id": None,
    "task_parameters_id": None,
    "traceparent": None,
    "deployment_concurrency_lease_id": None,
}


class SettableClock:
    """The clock a test gives the service: the system's time until the test sets `now`."""

    def __init__(self, now: datetime | None = None) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return utc_now() if self.now is None else self.now


def record_clients_made(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The service of each AWS client made from here on, in the order they are made."""
    made: list[str] = []
    initialise = botocore.client.BaseClient.__init__

    def recording(self: botocore.client.BaseClient, *args: Any, **kwargs: Any) -> None:
        initialise(self, *args, **kwargs)
        made.append(self.meta.service_model.service_name)

    monkeypatch.setattr(botocore.client.BaseClient, "__init__", recording)
    return made


def assert_documented_state(text: str) -> None:
    """`text`, a state as served, is what `api.schemas.State` describes: it validates, and
    the model writes it back as the same JSON, key for key, in the same order."""
    written_back = State.model_validate_json(text).model_dump_json()
    assert json.dumps(json.loads(written_back)) == json.dumps(json.loads(text))


def new_id() -> str:
    return str(uuid.uuid4())


def set_state(
    api: TestClient, kind: RunKind, run_id: str, state: dict[str, Any], **body: Any
) -> Any:
    return api.post(f"{kind.runs_path}/{run_id}/set_state", json={"state": state, **body})


def listed(api: TestClient, kind: RunKind, run_id: str) -> list[dict[str, Any]]:
    response = api.get(f"{kind.states_path}/", params={kind.run_id_field: run_id})
    assert response.status_code == 200
    return response.json()  # type: ignore[no-any-return]


def repositories_on(client: "DynamoDBClient") -> RepositoryProvider:
    """The service's DynamoDB repositories, on `client`."""

    def provide(table: StateTable, name: str, clock: Clock) -> StateRepository:
        return DynamoDBStateRepository(table, name, client, clock)

    return provide


def repository_of(
    repositories: RepositoryProvider, kind: RunKind, clock: Clock = utc_now
) -> StateRepository:
    """The kind's repository among `repositories`, on the table the default settings name,
    reading `clock`."""
    return repositories(kind.table, table_name(kind), clock)


def table_name(kind: RunKind) -> str:
    """The kind's table, as the default settings name it (and the tests create it)."""
    return Settings().table(kind.table).name
