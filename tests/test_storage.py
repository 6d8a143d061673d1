"""The DynamoDB repository: its keys, its call counts, and paging past DynamoDB's 1 MB pages."""

import dataclasses
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from moto import mock_aws

from api.clock import utc_now
from api.runs import FLOW_RUN
from api.schemas import StateCreate
from api.settings import Settings
from api.states import new_state
from local.template_tables import create_tables
from storage.dynamodb import DynamoDBStateRepository, dynamodb_client
from storage.memory import InMemoryStateRepository
from storage.repository import StateRepository, StoredState, fixed_width_utc
from storage.table_shapes import FLOW_RUN_STATES
from tests.helpers import new_id


@pytest.fixture
def repository(dynamodb: Any) -> DynamoDBStateRepository:
    return DynamoDBStateRepository(FLOW_RUN_STATES, FLOW_RUN_STATES_TABLE, dynamodb, utc_now)


FLOW_RUN_STATES_TABLE = Settings().flow_run_states.name


def a_state(run_id: str, moment: datetime, **proposal: Any) -> StoredState:
    from uuid import UUID

    return new_state(
        FLOW_RUN, UUID(run_id), StateCreate.model_validate({"type": "RUNNING", **proposal}), moment
    )


def test_the_item_holds_the_contract_keys(
    repository: DynamoDBStateRepository, dynamodb: Any
) -> None:
    run_id = new_id()
    state = a_state(run_id, datetime(2026, 11, 22, 14, 1, 26, tzinfo=UTC))
    repository.insert(state)
    item = dynamodb.get_item(TableName=FLOW_RUN_STATES_TABLE, Key={"id": {"S": state.id}})["Item"]
    assert item["flow_run_id"] == {"S": run_id}
    assert item["timestamp_id"] == {"S": f"2026-11-22T14:01:26.000000Z#{state.id}"}
    assert item["state"] == {"S": state.document}
    assert '"timestamp":"2026-11-22T14:01:26Z"' in state.document


def test_one_call_per_read_delete_and_write(
    repository: DynamoDBStateRepository, calls: Counter[str], backend: str
) -> None:
    state = a_state(new_id(), datetime.now(UTC), state_details={"transition_id": new_id()})
    assert repository.insert(state) is None
    assert calls == {"PutItem": 1}
    assert repository.insert(state) == state
    # The retry gets the stored state with its failed condition (ALL_OLD), as from DynamoDB.
    assert calls == {"PutItem": 2}
    calls.clear()
    assert repository.read(state.id) == state
    assert repository.delete(state.id) is True
    assert repository.delete(state.id) is False
    assert calls == {"GetItem": 1, "UpdateItem": 2}


def test_a_retry_reads_the_stored_state_once_where_the_failure_omits_it(
    repository: DynamoDBStateRepository, dynamodb: Any, calls: Counter[str]
) -> None:
    """As dynalite answers a failed conditional write: without the stored item."""

    def omit_the_item(parsed: dict[str, Any], **_: Any) -> None:
        parsed.pop("Item", None)

    state = a_state(new_id(), datetime.now(UTC), state_details={"transition_id": new_id()})
    assert repository.insert(state) is None
    dynamodb.meta.events.register("after-call.dynamodb.PutItem", omit_the_item)
    try:
        calls.clear()
        assert repository.insert(state) == state
        assert calls == {"PutItem": 1, "GetItem": 1}
    finally:
        dynamodb.meta.events.unregister("after-call.dynamodb.PutItem", omit_the_item)


def test_listing_follows_every_page(
    repository: DynamoDBStateRepository, calls: Counter[str]
) -> None:
    run_id = new_id()
    written = [
        a_state(
            run_id, datetime(2026, 1, 1, 0, 0, second % 60, second, tzinfo=UTC), data="x" * 10_000
        )
        for second in range(300)
    ]
    for state in written:
        repository.insert(state)
    calls.clear()
    listed = list(repository.list_run(run_id))
    assert [state.id for state in listed] == [
        state.id for state in sorted(written, key=lambda s: s.list_order)
    ]
    assert calls["Query"] >= 3  # 3 MB of states cannot come back in one 1 MB page
    assert set(calls) == {"Query"}


def test_listing_resumes_after_a_given_state(repository: DynamoDBStateRepository) -> None:
    run_id = new_id()
    states = [a_state(run_id, datetime(2026, 1, 1, 0, 0, n, tzinfo=UTC)) for n in range(5)]
    for state in states:
        repository.insert(state)
    resumed = repository.list_run(run_id, after=states[1].list_order)
    assert [state.id for state in resumed] == [state.id for state in states[2:]]


def test_listing_reads_a_batch_per_call_and_no_further_than_asked(
    repository: DynamoDBStateRepository, calls: Counter[str]
) -> None:
    run_id = new_id()
    states = [a_state(run_id, datetime(2026, 1, 1, 0, 0, n, tzinfo=UTC)) for n in range(7)]
    for state in states:
        repository.insert(state)
    calls.clear()
    listing = repository.list_run(run_id, batch_size=3)
    assert [next(listing).id for _ in range(3)] == [state.id for state in states[:3]]
    assert calls == {"Query": 1}
    assert next(listing).id == states[3].id
    assert calls == {"Query": 2}


# --- the repository interface, as each implementation keeps it --------------------------


class Clock:
    def __init__(self) -> None:
        self.moment = datetime(2026, 1, 1, tzinfo=UTC)

    def now(self) -> datetime:
        return self.moment


@pytest.fixture(params=["in memory", "DynamoDB on moto"])
def store(request: pytest.FixtureRequest) -> Iterator[tuple[StateRepository, Clock]]:
    """Each implementation of `StateRepository`, on a clock the test moves."""
    clock = Clock()
    if request.param == "in memory":
        yield InMemoryStateRepository(now=clock.now), clock
        return
    with mock_aws():
        client = dynamodb_client()
        create_tables(client, Settings())
        yield (
            DynamoDBStateRepository(FLOW_RUN_STATES, FLOW_RUN_STATES_TABLE, client, clock.now),
            clock,
        )


def test_a_repository_stores_an_id_once_and_deletes_it(
    store: tuple[StateRepository, Clock],
) -> None:
    repository, clock = store
    state = a_state(new_id(), clock.moment)
    assert repository.insert(state) is None
    assert repository.insert(dataclasses.replace(state, document="{}")) == state
    assert repository.read(state.id) == state
    assert repository.delete(state.id) is True
    assert repository.read(state.id) is None
    assert repository.delete(state.id) is False


def test_a_repository_lists_a_run_in_order_from_a_position(
    store: tuple[StateRepository, Clock],
) -> None:
    repository, clock = store
    run_id = new_id()
    states = [a_state(run_id, clock.moment + timedelta(seconds=n)) for n in range(4)]
    for state in reversed(states):
        repository.insert(state)
    repository.insert(a_state(new_id(), clock.moment))  # another run's
    assert list(repository.list_run(run_id)) == states
    assert list(repository.list_run(run_id, after=states[1].list_order)) == states[2:]


def test_an_expired_state_is_absent_and_its_id_free(store: tuple[StateRepository, Clock]) -> None:
    repository, clock = store
    run_id = new_id()
    expiring = dataclasses.replace(
        a_state(run_id, clock.moment), expires_at=fixed_width_utc(clock.moment + timedelta(days=1))
    )
    repository.insert(expiring)
    assert repository.read(expiring.id) == expiring
    clock.moment += timedelta(days=1)
    assert repository.read(expiring.id) is None
    assert list(repository.list_run(run_id)) == []
    renewed = dataclasses.replace(expiring, expires_at=None)
    assert repository.insert(renewed) is None
    assert repository.read(expiring.id) == renewed


def test_a_deleted_state_leaves_a_tombstone_that_no_route_serves_and_a_write_replaces(
    store: tuple[StateRepository, Clock],
) -> None:
    repository, clock = store
    run_id = new_id()
    deleted = a_state(run_id, clock.moment)
    repository.insert(deleted)
    assert repository.delete(deleted.id) is True
    assert repository.read(deleted.id) is None
    assert list(repository.list_run(run_id)) == []
    assert repository.delete(deleted.id) is False
    # The contract: set_state with a deleted state's id stores it anew.
    assert repository.insert(deleted) is None
    assert repository.read(deleted.id) == deleted
    assert list(repository.list_run(run_id)) == [deleted]


def test_the_tombstone_keeps_the_id_and_expiry_only_and_counts_as_stored(
    repository: DynamoDBStateRepository, dynamodb: Any
) -> None:
    """What the importer reads (`storage.batch`): a deleted state's id is stored, so it is
    never copied back; the listing index no longer holds it; TTL removes it when the state
    would have gone."""
    from concurrent.futures import ThreadPoolExecutor

    from storage.batch import BatchTables

    moment = datetime.now(UTC)
    state = dataclasses.replace(
        a_state(new_id(), moment), expires_at=fixed_width_utc(moment + timedelta(days=1))
    )
    repository.insert(state)
    ttl = dynamodb.get_item(TableName=FLOW_RUN_STATES_TABLE, Key={"id": {"S": state.id}})["Item"][
        "ttl"
    ]
    assert repository.delete(state.id) is True
    item = dynamodb.get_item(TableName=FLOW_RUN_STATES_TABLE, Key={"id": {"S": state.id}})["Item"]
    assert set(item) == {"id", "deleted_at", "expires_at", "ttl"}
    assert (item["expires_at"], item["ttl"]) == ({"S": state.expires_at}, ttl)
    with ThreadPoolExecutor(2) as executor:
        tables = BatchTables(dynamodb, executor)
        assert tables.stored_ids(FLOW_RUN_STATES_TABLE, [state.id, new_id()]) == {state.id}
        assert tables.deleted_ids(FLOW_RUN_STATES_TABLE, [state.id]) == {state.id}
    assert list(repository.list_run(state.run_id)) == []


def test_an_expired_state_cannot_be_deleted(store: tuple[StateRepository, Clock]) -> None:
    repository, clock = store
    expiring = dataclasses.replace(
        a_state(new_id(), clock.moment),
        expires_at=fixed_width_utc(clock.moment + timedelta(days=1)),
    )
    repository.insert(expiring)
    clock.moment += timedelta(days=1)
    assert repository.delete(expiring.id) is False
