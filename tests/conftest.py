"""Shared fixtures: DynamoDB (moto and dynalite) with the template's tables, and the local app
over HTTP."""

import asyncio
import functools
import logging
import os
import uuid
import warnings
from collections import Counter
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from local.database import LOCAL_AWS_SETTINGS

os.environ.update(LOCAL_AWS_SETTINGS)
for _variable in (
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_DYNAMODB",
    "AWS_PROFILE",
    "PREFECT_SERVER_API_AUTH_STRING",
    "PREFECT_SERVER_API_AUTH_STRING_ARN",
):
    os.environ.pop(_variable, None)

import botocore.session  # noqa: E402
from botocore.config import Config  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from moto import mock_aws  # noqa: E402

from api import dependencies  # noqa: E402
from api.request_log import SERVICE_LOGGER  # noqa: E402
from api.runs import FLOW_RUN, TASK_RUN, RunKind  # noqa: E402
from local.tables import create_tables  # noqa: E402
from storage.dynamodb import CLIENT_CONFIG, DynamoDBStateRepository, dynamodb_client  # noqa: E402
from storage.tables import StateTable  # noqa: E402

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

for _kind in (FLOW_RUN, TASK_RUN):  # states are kept until deleted, unless a test says otherwise
    os.environ.pop(_kind.table.retention_env_var, None)

API_VERSION_HEADER = {"X-Prefect-Api-Version": "0.8.4"}


@pytest.fixture
def service_log(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """`caplog`, seeing the service's own loggers too: they write JSON lines and do not
    propagate to the root logger, where `caplog` listens."""
    service = logging.getLogger(SERVICE_LOGGER)
    service.addHandler(caplog.handler)
    try:
        yield caplog
    finally:
        service.removeHandler(caplog.handler)


@pytest.fixture(autouse=True)
def lambda_event_loop() -> None:
    """Mangum answers each event on the main thread's event loop, which Lambda never takes
    away; a test that ran `asyncio.run` (the Prefect client's) leaves the thread without one."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            asyncio.get_event_loop()
        except RuntimeError:
            asyncio.set_event_loop(asyncio.new_event_loop())


@pytest.fixture(scope="session")
def dynalite() -> Iterator["DynamoDBClient"]:
    """One dynalite server for the session, holding the template's tables, and a client made
    as the service makes its own: from `AWS_ENDPOINT_URL_DYNAMODB`, with the service's config."""
    from tests.servers import dynalite_server

    with dynalite_server() as endpoint:
        with pytest.MonkeyPatch.context() as environment:  # only while the client is made
            environment.setenv("AWS_ENDPOINT_URL_DYNAMODB", endpoint)
            client = dynamodb_client.__wrapped__()  # a new one, not the process's cached one
        create_tables(client)
        yield client


@pytest.fixture(params=["moto", "dynalite"])
def dynamodb(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator["DynamoDBClient"]:
    """The template's two tables on one DynamoDB implementation, serving every route and
    Lambda handler for one test: each such test runs on both.

    moto is a fresh in-memory database per test. dynalite is one server for the session
    (tables per test would cost more than the tests); tests keep apart by fresh run ids.
    """
    if request.param == "moto":
        with mock_aws():
            client = dynamodb_client()
            create_tables(client)
            serve_from(client, monkeypatch)
            yield client
    else:
        client = request.getfixturevalue("dynalite")
        serve_from(client, monkeypatch)
        yield client


@pytest.fixture
def backend(dynamodb: "DynamoDBClient", request: pytest.FixtureRequest) -> str:
    """The DynamoDB implementation this test runs on: "moto" or "dynalite"."""
    name: str = request.node.callspec.params["dynamodb"]
    return name


@pytest.fixture
def calls(dynamodb: "DynamoDBClient") -> Iterator[Counter[str]]:
    """DynamoDB operations made, counted by botocore's event hooks."""
    counter: Counter[str] = Counter()

    def count(model: Any, **kwargs: Any) -> None:
        counter[model.name] += 1

    dynamodb.meta.events.register("before-call.dynamodb", count)
    yield counter
    dynamodb.meta.events.unregister("before-call.dynamodb", count)


def serve_from(client: "DynamoDBClient", monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the service's repositories (`api.dependencies.dynamodb_repository`, behind
    every route) use `client` until the test ends."""

    @functools.cache
    def repository(table: StateTable) -> DynamoDBStateRepository:
        return DynamoDBStateRepository(table, client)

    monkeypatch.setattr(dependencies, "dynamodb_repository", repository)


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
