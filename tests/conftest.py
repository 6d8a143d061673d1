"""Shared fixtures: moto's DynamoDB with the template's tables, and the local app over HTTP."""

import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

for _variable, _value in {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
}.items():
    os.environ[_variable] = _value
for _variable in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_PROFILE"):
    os.environ.pop(_variable, None)

import botocore.session  # noqa: E402
from botocore.config import Config  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from moto import mock_aws  # noqa: E402

from api.runs import FLOW_RUN, TASK_RUN, RunKind  # noqa: E402
from local.tables import create_tables  # noqa: E402
from storage.dynamodb import CLIENT_CONFIG, dynamodb_client  # noqa: E402

API_VERSION_HEADER = {"X-Prefect-Api-Version": "0.8.4"}


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    """A fresh in-memory DynamoDB holding the template's two tables."""
    with mock_aws():
        client = dynamodb_client()
        create_tables(client)
        yield client


@pytest.fixture
def api(dynamodb: Any) -> Iterator[TestClient]:
    """The local app (every route) over HTTP, sending the header Prefect's client sends."""
    from local.app import app

    with TestClient(app, headers=API_VERSION_HEADER) as client:
        yield client


@pytest.fixture(params=[FLOW_RUN, TASK_RUN], ids=["flow_run", "task_run"])
def kind(request: pytest.FixtureRequest) -> RunKind:
    return request.param  # type: ignore[no-any-return]


def new_id() -> str:
    return str(uuid.uuid4())


def set_state(
    api: TestClient, kind: RunKind, run_id: str, state: dict[str, Any], **body: Any
) -> Any:
    return api.post(f"{kind.runs_path}/{run_id}/set_state", json={"state": state, **body})


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """One moto server (DynamoDB over real HTTP) for the session."""
    from tests.servers import moto_server

    with moto_server() as endpoint:
        yield endpoint


def client_at(endpoint: str, connections: int = 10) -> Any:
    """A DynamoDB client with the service's timeouts and retries, at a given endpoint."""
    config = CLIENT_CONFIG.merge(Config(max_pool_connections=connections))
    return botocore.session.get_session().create_client(
        "dynamodb", endpoint_url=endpoint, config=config
    )


@pytest.fixture(scope="session")
def moto_tables(moto_endpoint: str) -> str:
    """The moto server, holding the template's tables: its endpoint."""
    create_tables(client_at(moto_endpoint))
    return moto_endpoint


@pytest.fixture(scope="session")
def live_api_url(moto_endpoint: str) -> Iterator[str]:
    """The service as `make serve` runs it, over real HTTP on moto's server: its API URL."""
    from tests.servers import run_states_service

    with run_states_service(moto_endpoint) as api_url:
        yield api_url


@pytest.fixture(scope="session")
def second_live_api_url(moto_endpoint: str) -> Iterator[str]:
    """Another instance of the service on the same DynamoDB, as a second Lambda instance is."""
    from tests.servers import run_states_service

    with run_states_service(moto_endpoint) as api_url:
        yield api_url
