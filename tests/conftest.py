"""Shared fixtures: DynamoDB (moto and DynamoDB Local) with the template's tables, and the local app
over HTTP."""

import asyncio
import importlib
import logging
import os
import warnings
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import astuple
from typing import TYPE_CHECKING, Any

import pytest

from api.settings import (
    AUTH_STRING_ARN_VARIABLE,
    AUTH_STRING_VARIABLE,
    LOG_LEVEL_VARIABLE,
    TABLE_VARIABLES,
    Settings,
)
from local.database import LOCAL_AWS_SETTINGS

os.environ.update(LOCAL_AWS_SETTINGS)
# The service's settings are given by each test (`Settings(...)`), never read from here;
# what a subprocess under test (make serve, make invoke) reads starts from its defaults.
for _variable in (
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_DYNAMODB",
    "AWS_PROFILE",
    LOG_LEVEL_VARIABLE,
    AUTH_STRING_VARIABLE,
    AUTH_STRING_ARN_VARIABLE,
    *(name for variables in TABLE_VARIABLES.values() for name in astuple(variables)),
):
    os.environ.pop(_variable, None)

from fastapi.testclient import TestClient  # noqa: E402
from mangum import Mangum  # noqa: E402
from moto import mock_aws  # noqa: E402

from api.app import build_handler  # noqa: E402
from api.request_log import SERVICE_LOGGER  # noqa: E402
from api.runs import FLOW_RUN, TASK_RUN, RunKind  # noqa: E402
from api.services import RecordClient, RepositoryProvider  # noqa: E402
from local.template_tables import create_tables  # noqa: E402
from storage.clients import aws_client  # noqa: E402
from storage.dynamodb import dynamodb_client  # noqa: E402
from tests.helpers import (  # noqa: E402
    API_VERSION_HEADER,
    LambdaFunction,
    SettableClock,
    repositories_on,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from tests.prefect_source import Source


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The modules marked slow as a whole (they start servers) first, each kept whole.
    `make test` deals modules out to its workers in this order (`--no-loadscope-reorder`:
    pytest-xdist's own order, most tests first, dealt the few long modules last, and one
    worker ran them alone while the other waited)."""
    items.sort(key=lambda item: not _in_a_slow_module(item))


def _in_a_slow_module(item: pytest.Item) -> bool:
    module = item.getparent(pytest.Module)
    return module is not None and any(mark.name == "slow" for mark in module.own_markers)


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
def dynamodb_local() -> Iterator["DynamoDBClient"]:
    """One DynamoDB Local (AWS's own, in memory) for the session, holding the template's
    tables, and a client made as the service makes its own: from `AWS_ENDPOINT_URL_DYNAMODB`,
    with the service's config."""
    from local.dynamodb_local import dynamodb_local

    with dynamodb_local() as endpoint:
        with pytest.MonkeyPatch.context() as environment:  # only while the client is made
            environment.setenv("AWS_ENDPOINT_URL_DYNAMODB", endpoint)
            client = dynamodb_client.__wrapped__()  # a new one, not the process's cached one
        create_tables(client, Settings())
        yield client


@pytest.fixture(params=["moto", pytest.param("dynamodb_local", marks=pytest.mark.slow)])
def dynamodb(request: pytest.FixtureRequest) -> Iterator["DynamoDBClient"]:
    """The template's two tables on one DynamoDB implementation, for one test: each such
    test runs on each.

    moto is a fresh in-memory database per test; lenient where AWS is not (it cuts items
    short of 400 KB, accepts a key attribute in a Query filter and a GSI key of the wrong
    type, and leaves out LastEvaluatedKey after an exactly full last page). DynamoDB Local
    holds to AWS on all of these: one server for the session (tables per test would cost
    more than the tests); tests keep apart by fresh run ids.
    """
    if request.param == "moto":
        with mock_aws():
            client = dynamodb_client()
            create_tables(client, Settings())
            yield client
    else:
        yield request.getfixturevalue("dynamodb_local")


@pytest.fixture
def backend(dynamodb: "DynamoDBClient", request: pytest.FixtureRequest) -> str:
    """The DynamoDB implementation this test runs on: "moto" or "dynamodb_local"."""
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


@pytest.fixture
def repositories(dynamodb: "DynamoDBClient") -> RepositoryProvider:
    """The repositories of this test's DynamoDB, to build the service on."""
    return repositories_on(dynamodb)


@pytest.fixture
def record_client(dynamodb: "DynamoDBClient") -> RecordClient:
    """The client the service reads this test's archived records on."""
    return lambda: dynamodb


@pytest.fixture
def clock() -> SettableClock:
    """The clock of this test's service (`api`, `lambda_function`): the system's until the
    test sets it."""
    return SettableClock()


@pytest.fixture
def lambda_function(
    repositories: RepositoryProvider, clock: SettableClock, record_client: RecordClient
) -> LambdaFunction:
    """A function of `handlers` (by module name), built anew from its routes on this
    test's DynamoDB and `clock`, with the default settings."""

    def build(module: str) -> Mangum:
        endpoints = importlib.import_module(f"handlers.{module}").endpoints
        return build_handler(
            *endpoints,
            settings=Settings(),
            repositories=repositories,
            clock=clock,
            record_client=record_client,
        )

    return build


@pytest.fixture
def api(
    repositories: RepositoryProvider, clock: SettableClock, record_client: RecordClient
) -> Iterator[TestClient]:
    """The local app (every route, default settings) over HTTP on this test's DynamoDB and
    `clock`, sending the header Prefect's client sends."""
    from local.app import local_app

    app = local_app(Settings(), repositories, clock, record_client)
    with TestClient(app, headers=API_VERSION_HEADER) as client:
        yield client


@pytest.fixture(params=[FLOW_RUN, TASK_RUN], ids=["flow_run", "task_run"])
def kind(request: pytest.FixtureRequest) -> RunKind:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """One moto server (DynamoDB over real HTTP) for the session."""
    from local.servers import moto_server

    with moto_server() as endpoint:
        yield endpoint


@pytest.fixture(scope="session")
def moto_tables(moto_endpoint: str) -> str:
    """The moto server, holding the template's tables: its endpoint."""
    create_tables(aws_client("dynamodb", endpoint=moto_endpoint), Settings())
    return moto_endpoint


@pytest.fixture(scope="session")
def live_api_url(moto_endpoint: str) -> Iterator[str]:
    """The service as `make serve` runs it, over real HTTP on moto's server: its API URL."""
    from local.servers import run_states_service

    with run_states_service(moto_endpoint) as api_url:
        yield api_url


@contextmanager
def prefect_source(
    tmp_path_factory: pytest.TempPathFactory, settings: dict[str, str] | None = None
) -> Iterator["Source"]:
    """A Prefect 3.9.1 server of its own (8-14 s to start), auth on, holding nothing yet."""
    from local.servers import prefect_server
    from tests.prefect_source import AUTH_STRING, Source

    home = tmp_path_factory.mktemp("prefect-home")
    with prefect_server(home, AUTH_STRING, settings) as api_url:
        yield Source(api_url, home)


@pytest.fixture(scope="session")
def source(tmp_path_factory: pytest.TempPathFactory) -> Iterator["Source"]:
    """One Prefect 3.9.1 server for the session, holding the history of real flows
    (tests/prefect_flows.py): what the import tests copy from."""
    with prefect_source(tmp_path_factory) as served:
        served.run_flows("history")
        yield served


@pytest.fixture(scope="session")
def varied_source(tmp_path_factory: pytest.TempPathFactory) -> Iterator["Source"]:
    """A Prefect 3.9.1 server whose background services leave runs as they were written,
    holding the history of real flows (but the run too large to archive) and a varied one
    (tests/varied_history.py): what the difference test sets the service beside."""
    from tests.varied_history import STILL_SETTINGS, delete_oversized_runs, make_varied_history

    with prefect_source(tmp_path_factory, STILL_SETTINGS) as served:
        served.run_flows("history")
        delete_oversized_runs(served)
        make_varied_history(served)
        yield served


@pytest.fixture(scope="session")
def vacuuming_source(tmp_path_factory: pytest.TempPathFactory) -> Iterator["Source"]:
    """A Prefect 3.9.1 server whose vacuum deletes, within seconds, the flow runs a test ages
    (`tests.prefect_histories.vacuum`)."""
    from tests.prefect_histories import VACUUM_SETTINGS

    with prefect_source(tmp_path_factory, VACUUM_SETTINGS) as served:
        yield served


@pytest.fixture(scope="session")
def limited_source(tmp_path_factory: pytest.TempPathFactory) -> Iterator["Source"]:
    """A Prefect 3.9.1 server that lists at most 50 runs a request
    (`PREFECT_SERVER_API_DEFAULT_LIMIT`), and answers a larger `limit` with a 422."""
    from tests.prefect_histories import LISTING_LIMIT_SETTINGS

    with prefect_source(tmp_path_factory, LISTING_LIMIT_SETTINGS) as served:
        yield served
