"""The limits: DynamoDB's 400 KB item, and Lambda's 6 MB response with paging."""

from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid5

import pytest
from fastapi.testclient import TestClient

from api.runs import RunKind
from tests.conftest import new_id, set_state

ITEM_LIMIT = 409_600  # AWS's 400 KB, as AWS and dynalite count it


def stored_item_size(item: dict[str, Any]) -> int:
    """An item's size by AWS's rule for string attributes: each name's length plus its
    value's UTF-8 bytes. Every attribute the service writes without retention is a string."""
    return sum(len(name) + len(value["S"].encode()) for name, value in item.items())


@pytest.fixture
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> datetime:
    """A fixed timestamp with a fraction, so every state's document has the same length."""
    moment = datetime(2026, 11, 22, 14, 1, 26, 589310, tzinfo=UTC)
    monkeypatch.setattr("storage.clock.utc_now", lambda: moment)
    return moment


def padding_to(size: int, api: TestClient, kind: RunKind, dynamodb: Any) -> int:
    """How many ASCII characters of `data` make the stored item of a RUNNING state with a
    `transition_id` exactly `size` bytes."""
    proposal = {"type": "RUNNING", "data": "", "state_details": {"transition_id": new_id()}}
    probe = set_state(api, kind, new_id(), proposal).json()["state"]
    item = dynamodb.get_item(TableName=kind.table.name, Key={"id": {"S": probe["id"]}})["Item"]
    return size - stored_item_size(item)


@pytest.mark.usefixtures("frozen_clock")
def test_a_state_of_exactly_the_item_limit(
    api: TestClient, kind: RunKind, dynamodb: Any, backend: str
) -> None:
    run_id, transition = new_id(), new_id()
    state = {"type": "RUNNING", "data": "x" * padding_to(ITEM_LIMIT, api, kind, dynamodb)}
    state["state_details"] = {"transition_id": transition}
    response = set_state(api, kind, run_id, state)
    state_id = str(uuid5(UUID(run_id), transition))
    if backend == "dynalite":  # as on AWS: 409,600 bytes is the largest item
        assert response.status_code == 201
        item = dynamodb.get_item(TableName=kind.table.name, Key={"id": {"S": state_id}})["Item"]
        assert stored_item_size(item) == ITEM_LIMIT
    else:  # moto cuts items at 405,000 bytes: the database's own refusal is the same 413
        assert response.status_code == 413
        message = response.json()["exception_message"]
        assert message.startswith("The database refused the state as over its item limit")
        assert api.get(f"{kind.states_path}/{state_id}").status_code == 404


@pytest.mark.usefixtures("frozen_clock")
def test_one_byte_over_the_item_limit_is_413_and_stores_nothing(
    api: TestClient, kind: RunKind, dynamodb: Any
) -> None:
    run_id, transition = new_id(), new_id()
    state = {"type": "RUNNING", "data": "x" * padding_to(ITEM_LIMIT + 1, api, kind, dynamodb)}
    state["state_details"] = {"transition_id": transition}
    response = set_state(api, kind, run_id, state)
    assert response.status_code == 413
    assert response.json() == {
        "exception_message": "The state is 409,601 bytes as stored, over DynamoDB's item limit "
        "(409,600 bytes, 400 KB), so nothing was stored. Keep large results elsewhere (such as "
        "Prefect's result storage) and put a reference to them in `data`."
    }
    assert api.get(f"{kind.states_path}/{uuid5(UUID(run_id), transition)}").status_code == 404
    assert api.get(kind.states_path, params={kind.run_id_field: run_id}).json() == []


@pytest.mark.parametrize("dynamodb", ["dynalite"], indirect=True)
def test_dynalite_refuses_one_byte_over_the_item_limit(kind: RunKind, dynamodb: Any) -> None:
    """The edge the service counts to is the database's own: written directly, an item of
    409,601 bytes is refused."""
    from botocore.exceptions import ClientError

    item = {
        "id": {"S": new_id()},
        kind.run_id_field: {"S": new_id()},
        "timestamp_id": {"S": f"2026-11-22T14:01:26.589310Z#{new_id()}"},
    }
    item["state"] = {"S": "x" * (ITEM_LIMIT + 1 - stored_item_size(item) - len("state"))}
    assert stored_item_size(item) == ITEM_LIMIT + 1
    with pytest.raises(ClientError, match="Item size has exceeded the maximum allowed size"):
        dynamodb.put_item(TableName=kind.table.name, Item=item)
    item["state"]["S"] = item["state"]["S"][1:]
    dynamodb.put_item(TableName=kind.table.name, Item=item)
