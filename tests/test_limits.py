"""The limits: DynamoDB's 400 KB item, and Lambda's 6 MB response with paging."""

import json
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid5

import pytest
from fastapi.testclient import TestClient

from api.runs import FLOW_RUN, RunKind
from api.schemas import StateCreate, StateType
from api.services import RepositoryProvider
from api.states import new_state
from local.invoke import invoke
from local.lambda_events import http_api_event
from storage.repository import StoredState
from tests.helpers import (
    LambdaFunction,
    SettableClock,
    new_id,
    repository_of,
    set_state,
    table_name,
)

ITEM_LIMIT = 409_600  # AWS's 400 KB, as AWS and DynamoDB Local count it


def stored_item_size(item: dict[str, Any]) -> int:
    """An item's size by AWS's rule for string attributes: each name's length plus its
    value's UTF-8 bytes. Every attribute the service writes without retention is a string."""
    return sum(len(name) + len(value["S"].encode()) for name, value in item.items())


@pytest.fixture
def frozen_clock(clock: SettableClock) -> datetime:
    """A fixed timestamp with a fraction, so every state's document has the same length."""
    clock.now = datetime(2026, 11, 22, 14, 1, 26, 589310, tzinfo=UTC)
    return clock.now


def padding_to(size: int, api: TestClient, kind: RunKind, dynamodb: Any) -> int:
    """How many ASCII characters of `data` make the stored item of a RUNNING state with a
    `transition_id` exactly `size` bytes."""
    proposal = {"type": "RUNNING", "data": "", "state_details": {"transition_id": new_id()}}
    probe = set_state(api, kind, new_id(), proposal).json()["state"]
    item = dynamodb.get_item(TableName=table_name(kind), Key={"id": {"S": probe["id"]}})["Item"]
    return size - stored_item_size(item)


@pytest.mark.usefixtures("frozen_clock")
def test_a_state_of_exactly_the_item_limit(
    api: TestClient, kind: RunKind, dynamodb: Any, backend: str
) -> None:
    run_id, transition = new_id(), new_id()
    state: dict[str, Any] = {
        "type": "RUNNING",
        "data": "x" * padding_to(ITEM_LIMIT, api, kind, dynamodb),
    }
    state["state_details"] = {"transition_id": transition}
    response = set_state(api, kind, run_id, state)
    state_id = str(uuid5(UUID(run_id), transition))
    if backend == "dynamodb_local":  # as on AWS: 409,600 bytes is the largest item
        assert response.status_code == 201
        item = dynamodb.get_item(TableName=table_name(kind), Key={"id": {"S": state_id}})["Item"]
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
    state: dict[str, Any] = {
        "type": "RUNNING",
        "data": "x" * padding_to(ITEM_LIMIT + 1, api, kind, dynamodb),
    }
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


@pytest.mark.slow
@pytest.mark.parametrize("dynamodb", ["dynamodb_local"], indirect=True)
def test_the_database_refuses_one_byte_over_the_item_limit(kind: RunKind, dynamodb: Any) -> None:
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
        dynamodb.put_item(TableName=table_name(kind), Item=item)
    item["state"]["S"] = item["state"]["S"][1:]
    dynamodb.put_item(TableName=table_name(kind), Item=item)


def list_in_pages(
    api: TestClient, kind: RunKind, run_id: str, limit: int | None, cursor: str | None = None
) -> list[list[Any]]:
    """Every page of a run's listing, following X-Next-Cursor from `cursor` on."""
    pages = []
    while True:
        params = {kind.run_id_field: run_id, "limit": limit, "cursor": cursor}
        response = api.get(kind.states_path, params={k: v for k, v in params.items() if v})
        assert response.status_code == 200
        pages.append(response.json())
        cursor = response.headers.get("X-Next-Cursor")
        if cursor is None:
            return pages


def a_run_of(count: int, api: TestClient, kind: RunKind, clock: SettableClock) -> Any:
    """A run of `count` states, some sharing a timestamp (listed in id order), and its id."""
    run_id = new_id()
    for n in range(count):
        clock.now = datetime(2026, 11, 22, 14, 1, n // 2, tzinfo=UTC)
        assert set_state(api, kind, run_id, {"type": "RUNNING", "data": n}).status_code == 201
    return run_id


@pytest.mark.parametrize("limit", [1, 2, 3, 6, 7, 1000])
def test_paging_gives_every_state_once_in_order(
    api: TestClient,
    kind: RunKind,
    calls: Counter[str],
    clock: SettableClock,
    limit: int,
) -> None:
    run_id = a_run_of(7, api, kind, clock)
    whole = api.get(kind.states_path, params={kind.run_id_field: run_id})
    assert "X-Next-Cursor" not in whole.headers
    calls.clear()
    pages = list_in_pages(api, kind, run_id, limit)
    assert [state for page in pages for state in page] == whole.json()
    assert [len(page) for page in pages] == [
        min(limit, 7 - start) for start in range(0, 7, limit)
    ]  # no empty page after a full last one
    assert calls == {"Query": len(pages)}  # one query per page


def test_a_cursor_without_limit_pages_by_the_most_a_limit_can_be(
    api: TestClient, kind: RunKind, clock: SettableClock
) -> None:
    run_id = a_run_of(5, api, kind, clock)
    first = api.get(kind.states_path, params={kind.run_id_field: run_id, "limit": 2})
    rest = list_in_pages(api, kind, run_id, None, first.headers["X-Next-Cursor"])
    whole = api.get(kind.states_path, params={kind.run_id_field: run_id}).json()
    assert [first.json(), *rest] == [whole[:2], whole[2:]]


def test_an_empty_run_is_one_page(api: TestClient, kind: RunKind) -> None:
    assert list_in_pages(api, kind, new_id(), 10) == [[]]


@pytest.mark.parametrize("limit", ["0", "1001", "-1", "abc", "1.5", ""])
def test_a_limit_out_of_range_is_422(api: TestClient, kind: RunKind, limit: str) -> None:
    response = api.get(kind.states_path, params={kind.run_id_field: new_id(), "limit": limit})
    assert response.status_code == 422
    body = response.json()
    assert body["exception_message"] == "Invalid request received."
    assert [error["loc"] for error in body["exception_detail"]] == [["query", "limit"]]
    assert body["request_body"] is None


def test_a_cursor_altered_cut_or_made_for_another_listing_is_422(
    api: TestClient, kind: RunKind, clock: SettableClock
) -> None:
    from api.paging import cursor_for
    from api.runs import FLOW_RUN, TASK_RUN

    run_id, other_run = a_run_of(3, api, kind, clock), a_run_of(3, api, kind, clock)
    first_page = api.get(kind.states_path, params={kind.run_id_field: run_id, "limit": 1})
    cursor = first_page.headers["X-Next-Cursor"]
    after_first = f"2026-11-22T14:01:00.000000Z#{first_page.json()[0]['id']}"
    assert cursor_for(kind, UUID(run_id), after_first) == cursor
    other_run_page = api.get(kind.states_path, params={kind.run_id_field: other_run, "limit": 1})
    bad_cursors = {
        "altered": cursor[:20] + ("A" if cursor[20] != "A" else "B") + cursor[21:],
        "cut by one": cursor[:-1],
        "cut by four": cursor[:-4],
        "cut in half": cursor[: len(cursor) // 2],
        "lengthened": cursor + "A",
        "padded": cursor + "==",
        "not base64": cursor[:-1] + "!",
        "empty": "",
        "another run's": other_run_page.headers["X-Next-Cursor"],
        "the other kind's": cursor_for(
            TASK_RUN if kind is FLOW_RUN else FLOW_RUN, UUID(run_id), after_first
        ),
        # A checksum is no secret: a forged one passes, so what it holds is checked too.
        "forged, not a position": cursor_for(kind, UUID(run_id), "nowhere"),
        "forged, an empty position": cursor_for(kind, UUID(run_id), ""),
    }
    assert len({cursor, *bad_cursors.values()}) == len(bad_cursors) + 1
    for name, bad in bad_cursors.items():
        response = api.get(kind.states_path, params={kind.run_id_field: run_id, "cursor": bad})
        assert response.status_code == 422, name
        body = response.json()
        assert body["exception_detail"] == [
            {
                "type": "value_error",
                "loc": ["query", "cursor"],
                "msg": "Value error, not a cursor of this listing: it was altered, cut, or made "
                "for another run",
                "input": bad,
                "ctx": {
                    "error": "not a cursor of this listing: it was altered, cut, or made for "
                    "another run"
                },
            }
        ], name
        assert body["request_body"] is None


# A state whose `data` is 190,000 double quotes: about 380 KB stored (each quote escaped
# once in the state's JSON) and 760 KB in a Lambda response (escaped again in the body's
# string). 12 of them are 4.6 MB of JSON, under 6 MB, but 9.1 MB as Lambda writes them.
QUOTES = '"' * 190_000


def lambda_response_size(response: dict[str, Any]) -> int:
    """The bytes of a handler's response as Lambda's Python 3.12 runtime writes it."""
    return len(json.dumps(response, ensure_ascii=False).encode())


@pytest.fixture
def large_run(repositories: RepositoryProvider) -> tuple[str, list[StoredState]]:
    """A flow run of 12 such states, written straight through the repository."""
    run_id = new_id()
    proposal = StateCreate(type=StateType.COMPLETED, data=QUOTES)
    states = [
        new_state(FLOW_RUN, UUID(run_id), proposal, datetime(2026, 1, 1, 0, 0, n, tzinfo=UTC))
        for n in range(12)
    ]
    for state in states:
        assert repository_of(repositories, FLOW_RUN).insert(state) is None
    return run_id, states


@pytest.fixture
def list_flow_run_states_on_lambda(
    lambda_function: LambdaFunction,
) -> Callable[[str], dict[str, Any]]:
    """The list function's answer to a query through its Mangum handler, as Lambda would
    send it."""
    function = lambda_function("list_flow_run_states")

    def answer(query: str) -> dict[str, Any]:
        return invoke(function, http_api_event("GET", "/api/flow_run_states", query=query))

    return answer


TOO_LARGE = {
    "exception_message": "The run's states are too many to answer at once: together they pass "
    "Lambda's response limit (6,291,556 bytes, 6 MB). Page through them: pass `limit` (1 to "
    "1000), then pass each response's X-Next-Cursor header back as `cursor` until a response "
    "comes without one."
}


def test_a_whole_list_over_6_mb_is_413_and_stops_reading(
    api: TestClient,
    repositories: RepositoryProvider,
    large_run: tuple[str, list[StoredState]],
    calls: Counter[str],
    list_flow_run_states_on_lambda: Callable[[str], dict[str, Any]],
) -> None:
    run_id, _ = large_run
    list(repository_of(repositories, FLOW_RUN).list_run(run_id))
    queries_for_every_state = calls["Query"]
    calls.clear()
    response = list_flow_run_states_on_lambda(f"flow_run_id={run_id}")
    assert (response["statusCode"], json.loads(response["body"])) == (413, TOO_LARGE)
    # It stopped reading at the ninth state, the first past the limit.
    assert 0 < calls["Query"] < queries_for_every_state
    local = api.get("/api/flow_run_states", params={"flow_run_id": run_id})  # make serve's app
    assert (local.status_code, local.json()) == (413, TOO_LARGE)


def test_pages_of_a_list_over_6_mb_end_early_and_fit_in_a_lambda_response(
    large_run: tuple[str, list[StoredState]],
    list_flow_run_states_on_lambda: Callable[[str], dict[str, Any]],
) -> None:
    from api.paging import BODY_LIMIT, LAMBDA_RESPONSE_LIMIT, size_in_response

    run_id, states = large_run
    pages, query = [], f"flow_run_id={run_id}&limit=1000"
    while True:
        response = list_flow_run_states_on_lambda(query)
        assert response["statusCode"] == 200
        assert lambda_response_size(response) <= LAMBDA_RESPONSE_LIMIT
        pages.append(json.loads(response["body"]))
        if "x-next-cursor" not in response["headers"]:
            break
        query = f"flow_run_id={run_id}&cursor={response['headers']['x-next-cursor']}"
        # Full: the page's next state would have taken the body past the limit.
        next_state = states[sum(len(page) for page in pages)]
        assert size_in_response(response["body"]) + size_in_response(next_state.document) > (
            BODY_LIMIT
        )
    assert [len(page) for page in pages] == [8, 4]
    assert [state["id"] for page in pages for state in page] == [state.id for state in states]
