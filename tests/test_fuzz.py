"""Generated requests: schemathesis over the service's own OpenAPI document.

Every generated request, valid or not, gets a status the document lists for its operation,
with the documented body and headers: on a healthy service with no 5xx at all, and with
auth on or DynamoDB failing in each way with no 5xx but the one the fault calls for.
Seeded (`derandomize`) and bounded, so every run sends the same requests.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, NoReturn, cast

import pytest
import schemathesis
from botocore.exceptions import ClientError
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, settings
from moto import mock_aws
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi
from schemathesis.python.asgi import ASGIClient
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.services import RecordClient, RepositoryProvider
from api.settings import Settings
from local.app import local_app
from local.template_tables import create_tables
from storage.dynamodb import ITEM_SIZE_LIMIT, dynamodb_client
from storage.repository import (
    StateTooLarge,
    StorageMisconfigured,
    StorageUnavailable,
    StoredState,
)
from storage.table_shapes import FLOW_RUN_STATES
from tests.helpers import API_VERSION_HEADER

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from schemathesis.specs.openapi.schemas import OpenApiCase

pytestmark = pytest.mark.slow  # hundreds of generated requests per route

schema = schemathesis.openapi.from_asgi("/openapi.json", local_app(Settings()))

DOCUMENTED = [
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


Fault = Callable[[], Exception]


class BrokenRepository:
    """A DynamoDB in trouble, as the real repository reports it: every write raises
    `write_fault`; every read raises `read_fault`, or finds nothing where that is None."""

    def __init__(self, write_fault: Fault, read_fault: Fault | None = None) -> None:
        self.write_fault = write_fault
        self.read_fault = read_fault

    def _read(self) -> None:
        if self.read_fault is not None:
            raise self.read_fault()

    def read(self, state_id: str) -> StoredState | None:
        self._read()
        return None

    def delete(self, state_id: str) -> bool:
        self._read()
        return False

    def insert(self, state: StoredState) -> StoredState | None:
        raise self.write_fault()

    def list_run(
        self, run_id: str, after: str | None = None, batch_size: int | None = None
    ) -> Iterator[StoredState]:
        self._read()
        return iter(())


@dataclass(frozen=True)
class Condition:
    build: Callable[[], FastAPI]
    server_error: int | None = None  # the one 5xx this condition calls for


class FailingDynamoDB:
    """The archive's DynamoDB in trouble: every call raises DynamoDB's error `code` at once,
    as botocore raises it once its retries are spent (none are waited out here)."""

    def __init__(self, code: str) -> None:
        self.code = code

    def __getattr__(self, operation: str) -> Callable[..., NoReturn]:
        def fail(**_: object) -> NoReturn:
            raise ClientError({"Error": {"Code": self.code, "Message": "injected"}}, operation)

        return fail


def with_storage(
    repository: BrokenRepository, archive_error: str | None = None
) -> Callable[[], FastAPI]:
    """The service with its states in `repository`, and its archived records on a DynamoDB
    answering `archive_error` to every call (None: a healthy, empty archive)."""
    record_client: RecordClient = dynamodb_client
    if archive_error is not None:
        failing = cast("DynamoDBClient", FailingDynamoDB(archive_error))
        record_client = lambda: failing  # noqa: E731
    return lambda: local_app(
        Settings(), lambda table, name, clock: repository, record_client=record_client
    )


def throttled() -> Exception:
    return StorageUnavailable("ThrottlingException")


def table_missing() -> Exception:
    return StorageMisconfigured(FLOW_RUN_STATES, "flow-run-states", "ResourceNotFoundException")


def too_large() -> Exception:
    return StateTooLarge(500_000, ITEM_SIZE_LIMIT)


FAULTS = {
    "auth on": Condition(lambda: local_app(Settings(auth_string="admin:pass"))),
    "state too large": Condition(with_storage(BrokenRepository(too_large))),
    "DynamoDB unavailable": Condition(
        with_storage(BrokenRepository(throttled, throttled), "ThrottlingException"),
        server_error=503,
    ),
    "table missing": Condition(
        with_storage(BrokenRepository(table_missing, table_missing), "ResourceNotFoundException"),
        server_error=500,
    ),
}


# The arg-type ignores on `get_client`: schemathesis types an ASGI app's messages as dicts,
# Starlette as any mutable mapping, so neither's `send` fits the other's signature.
@pytest.fixture
def healthy(repositories: RepositoryProvider, record_client: RecordClient) -> Iterator[ASGIClient]:
    app = local_app(Settings(), repositories, record_client=record_client)
    with asgi.get_client(app) as client:  # type: ignore[arg-type]
        yield client


@pytest.fixture(params=list(FAULTS))
def fault(request: pytest.FixtureRequest) -> Iterator[tuple[Condition, ASGIClient]]:
    chosen = FAULTS[request.param]
    with mock_aws():  # the healthy archive's tables, where a condition leaves it healthy
        create_tables(dynamodb_client(), Settings())
        with asgi.get_client(chosen.build()) as client:  # type: ignore[arg-type]  # one client for every generated call
            yield chosen, client


# Each case is sent as generated, then with the version header Prefect's client sends:
# most generated values of that header are refused (400) before the route sees the rest.
AS_GENERATED_AND_AS_PREFECT_SENDS = (None, API_VERSION_HEADER)

SEEDED = settings(
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@schema.parametrize()
@settings(SEEDED, max_examples=40)
def test_no_generated_request_gets_a_5xx_or_an_undocumented_answer(
    case: "OpenApiCase", healthy: ASGIClient
) -> None:
    for headers in AS_GENERATED_AND_AS_PREFECT_SENDS:
        case.call_and_validate(
            session=healthy, headers=headers, checks=[not_a_server_error, *DOCUMENTED]
        )


@schema.parametrize()
@settings(SEEDED, max_examples=8, phases=[Phase.generate])  # no coverage phase: few calls
def test_under_a_fault_every_answer_is_documented(
    case: "OpenApiCase", fault: tuple[Condition, ASGIClient]
) -> None:
    chosen, client = fault
    for headers in AS_GENERATED_AND_AS_PREFECT_SENDS:
        response = case.call_and_validate(session=client, headers=headers, checks=DOCUMENTED)
        assert response.status_code < 500 or response.status_code == chosen.server_error
