"""Many callers at once, on DynamoDB Local over HTTP: like DynamoDB, it makes each
conditional write atomic, which moto's server does not (two of sixteen concurrent deletes of
one state both succeeded on it once, on a loaded machine).

Storage-level tests race the repository's own calls from threads. The HTTP tests spread
their requests over two instances of the service (`python -m local.serve`, as `make serve`
runs it) on one database, as two Lambda instances would share it: one instance alone
answers one request at a time, so only two can race in the database.
"""

import functools
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

import httpx
import pytest

from api.clock import utc_now
from api.runs import FLOW_RUN, RunKind
from api.schemas import StateCreate
from api.settings import Settings
from api.states import new_state
from local.servers import run_states_service
from storage.clients import aws_client
from storage.dynamodb import DynamoDBStateRepository
from storage.repository import StoredState
from storage.table_shapes import FLOW_RUN_STATES
from tests.helpers import API_VERSION_HEADER, new_id

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

pytestmark = pytest.mark.slow  # DynamoDB Local and two service processes

CALLERS = 16
WRITERS = 8
STATES_PER_WRITER = 6


def at_once[T](calls: list[Callable[[], T]]) -> list[T]:
    """Each call on a thread of its own, all released together; their results in order."""
    start = threading.Barrier(len(calls))

    def run(call: Callable[[], T]) -> T:
        start.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


@pytest.fixture(scope="module")
def endpoint(dynamodb_local: "DynamoDBClient") -> str:
    """The session's DynamoDB Local, holding the template's tables: its endpoint."""
    return dynamodb_local.meta.endpoint_url


@pytest.fixture(scope="module")
def repository(endpoint: str) -> DynamoDBStateRepository:
    return DynamoDBStateRepository(
        FLOW_RUN_STATES,
        Settings().flow_run_states.name,
        aws_client("dynamodb", endpoint=endpoint, connections=CALLERS),
        utc_now,
    )


def a_retried_state(run_id: str) -> StoredState:
    proposal = StateCreate.model_validate(
        {"type": "RUNNING", "state_details": {"transition_id": new_id()}}
    )
    return new_state(FLOW_RUN, UUID(run_id), proposal, datetime.now(UTC))


def test_concurrent_duplicates_store_one_state(repository: DynamoDBStateRepository) -> None:
    run_id = new_id()
    state = a_retried_state(run_id)
    results = at_once([lambda: repository.insert(state)] * CALLERS)
    assert results.count(None) == 1  # stored once...
    assert [held for held in results if held is not None] == [state] * (CALLERS - 1)  # ...seen
    assert list(repository.list_run(run_id)) == [state]


def test_concurrent_deletes_delete_once(repository: DynamoDBStateRepository) -> None:
    state = a_retried_state(new_id())
    repository.insert(state)
    assert Counter(at_once([lambda: repository.delete(state.id)] * CALLERS)) == {
        True: 1,
        False: CALLERS - 1,
    }
    assert repository.read(state.id) is None


@pytest.fixture(scope="module")
def services(endpoint: str) -> Iterator[list[httpx.Client]]:
    """A client of each of two service instances sharing one DynamoDB, at its root."""
    with (
        run_states_service(endpoint) as first,
        run_states_service(endpoint) as second,
        _client(first) as first_client,
        _client(second) as second_client,
    ):
        yield [first_client, second_client]


def _client(api_url: str) -> httpx.Client:
    root = api_url.removesuffix("/api")
    return httpx.Client(base_url=root, headers=API_VERSION_HEADER, timeout=30)


def spread[T](
    services: list[httpx.Client], count: int, call: Callable[[httpx.Client], T]
) -> list[Callable[[], T]]:
    """`count` calls, alternating between the service instances."""
    return [functools.partial(call, services[n % len(services)]) for n in range(count)]


def listed(service: httpx.Client, kind: RunKind, run_id: str) -> list[dict[str, Any]]:
    response = service.get(f"{kind.states_path}/", params={kind.run_id_field: run_id})
    assert response.status_code == 200
    return response.json()  # type: ignore[no-any-return]


def test_concurrent_retries_over_http_store_one_state(
    services: list[httpx.Client], kind: RunKind
) -> None:
    run_id = new_id()
    path = f"{kind.runs_path}/{run_id}/set_state"
    proposal = {"state": {"type": "RUNNING", "state_details": {"transition_id": new_id()}}}
    retries = spread(services, CALLERS, lambda service: service.post(path, json=proposal))
    responses = at_once(retries)

    statuses = Counter(response.status_code for response in responses)
    assert statuses == {201: 1, 200: CALLERS - 1}
    (created,) = [response.json() for response in responses if response.status_code == 201]
    stored = created["state"]
    for response in responses:
        if response.status_code == 200:
            assert response.json() == {
                "state": stored,
                "status": "REJECT",
                "details": {
                    "type": "reject_details",
                    "reason": "This run has already made this state transition.",
                },
            }
    for service in services:
        assert listed(service, kind, run_id) == [stored]


def test_many_writers_lose_and_repeat_nothing(services: list[httpx.Client]) -> None:
    """Each writer appends its states to one run, and retries every other one at once."""
    kind = FLOW_RUN
    run_id = new_id()
    path = f"{kind.runs_path}/{run_id}/set_state"

    def write(service: httpx.Client) -> list[dict[str, Any]]:
        accepted = []
        for n in range(STATES_PER_WRITER):
            details = {"transition_id": new_id()} if n % 2 else {}
            proposal = {"state": {"type": "RUNNING", "message": str(n), "state_details": details}}
            response = service.post(path, json=proposal)
            assert response.status_code == 201, response.text
            accepted.append(response.json()["state"])
            if details:  # the client's retry of a call whose answer it lost
                retry = service.post(path, json=proposal)
                assert retry.status_code == 200, retry.text
                assert retry.json()["state"] == accepted[-1]
        return accepted

    accepted = [state for states in at_once(spread(services, WRITERS, write)) for state in states]
    assert len(accepted) == WRITERS * STATES_PER_WRITER

    def listing_order(state: dict[str, Any]) -> tuple[datetime, str]:
        return datetime.fromisoformat(state["timestamp"]), state["id"]

    expected = sorted(accepted, key=listing_order)
    for service in services:
        assert listed(service, kind, run_id) == expected  # each once, oldest first, ties by id


def test_concurrent_deletes_over_http_give_one_204(
    services: list[httpx.Client], kind: RunKind
) -> None:
    created = services[0].post(
        f"{kind.runs_path}/{new_id()}/set_state", json={"state": {"type": "COMPLETED"}}
    )
    path = f"{kind.states_path}/{created.json()['state']['id']}"
    responses = at_once(spread(services, CALLERS, lambda service: service.delete(path)))
    assert Counter(response.status_code for response in responses) == {204: 1, 404: CALLERS - 1}
    for response in responses:
        if response.status_code == 404:
            assert response.json() == {"detail": kind.not_found}
    assert all(service.get(path).status_code == 404 for service in services)
