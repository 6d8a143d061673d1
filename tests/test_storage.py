"""The DynamoDB repository: its keys, its call counts, and paging past DynamoDB's 1 MB pages."""

from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest

from api.runs import FLOW_RUN
from api.schemas import StateCreate
from api.states import new_state
from storage.dynamodb import DynamoDBStateRepository
from storage.repository import StoredState
from storage.tables import FLOW_RUN_STATES
from tests.helpers import new_id


@pytest.fixture
def repository(dynamodb: Any) -> DynamoDBStateRepository:
    return DynamoDBStateRepository(FLOW_RUN_STATES, dynamodb)


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
    item = dynamodb.get_item(TableName=FLOW_RUN_STATES.name, Key={"id": {"S": state.id}})["Item"]
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
    assert calls == {"GetItem": 1, "DeleteItem": 2}


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
