"""POST {runs_path}/{id}/set_state: what is stored, what comes back, and what is refused."""

from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.runs import RunKind
from tests.helpers import DETAIL_DEFAULTS, listed, new_id, set_state

STATE_KEYS = ["id", "type", "name", "timestamp", "message", "data", "state_details"]


def test_accepts_and_stores_a_state(api: TestClient, kind: RunKind) -> None:
    run_id = new_id()
    response = set_state(api, kind, run_id, {"type": "RUNNING", "message": "go"})

    assert response.status_code == 201
    body = response.json()
    assert list(body) == ["state", "status", "details"]
    assert body["status"] == "ACCEPT"
    assert body["details"] == {"type": "accept_details"}
    state = body["state"]
    assert list(state) == STATE_KEYS
    assert state["type"] == "RUNNING"
    assert state["name"] == "Running"
    assert state["message"] == "go"
    assert state["data"] is None
    assert state["timestamp"].endswith("Z")
    assert list(state["state_details"]) == list(DETAIL_DEFAULTS)
    assert state["state_details"] == DETAIL_DEFAULTS | {kind.run_id_field: run_id}
    assert api.get(f"{kind.states_path}/{state['id']}").json() == state
    assert listed(api, kind, run_id) == [state]


def test_new_ids_are_uuid7_and_transition_ids_give_name_based_ones(
    api: TestClient, kind: RunKind
) -> None:
    run_a, run_b, transition = new_id(), new_id(), new_id()
    plain = set_state(api, kind, run_a, {"type": "PENDING"}).json()["state"]
    assert plain["id"][14] == "7"
    with_transition = {"type": "PENDING", "state_details": {"transition_id": transition}}
    first = set_state(api, kind, run_a, with_transition).json()["state"]["id"]
    other_run = set_state(api, kind, run_b, with_transition).json()["state"]["id"]
    assert first[14] in "58"
    assert other_run != first


@pytest.mark.parametrize(
    ("state_type", "name"),
    [("COMPLETED", "Completed"), ("CANCELLING", "Cancelling"), ("CRASHED", "Crashed")],
)
def test_a_missing_or_null_name_is_the_capitalised_type(
    api: TestClient, kind: RunKind, state_type: str, name: str
) -> None:
    assert set_state(api, kind, new_id(), {"type": state_type}).json()["state"]["name"] == name
    null_name = {"type": state_type, "name": None}
    assert set_state(api, kind, new_id(), null_name).json()["state"]["name"] == name


def test_an_empty_name_stays_empty(api: TestClient, kind: RunKind) -> None:
    assert (
        set_state(api, kind, new_id(), {"type": "FAILED", "name": ""}).json()["state"]["name"] == ""
    )


def test_scheduled_without_scheduled_time_is_scheduled_now(api: TestClient, kind: RunKind) -> None:
    state = set_state(api, kind, new_id(), {"type": "SCHEDULED"}).json()["state"]
    assert state["state_details"]["scheduled_time"] == state["timestamp"]
    running = set_state(api, kind, new_id(), {"type": "RUNNING"}).json()["state"]
    assert running["state_details"]["scheduled_time"] is None


def test_the_run_id_comes_from_the_path_and_other_details_are_kept(
    api: TestClient, kind: RunKind
) -> None:
    run_id, other = new_id(), new_id()
    details = {
        "flow_run_id": other,
        "task_run_id": other,
        "child_flow_run_id": other,
        "cache_key": "k",
        "deferred": None,
        "untrackable_result": True,
        "pause_reschedule": True,
        "pause_key": "p",
        "run_input_keyset": {"a": "b"},
        "refresh_cache": True,
        "retriable": False,
        "task_parameters_id": other,
        "traceparent": "00-abc-def-01",
        "deployment_concurrency_lease_id": other,
        "some_future_field": 1,
    }
    stored = set_state(api, kind, run_id, {"type": "PAUSED", "state_details": details}).json()
    expected = DETAIL_DEFAULTS | details | {kind.run_id_field: run_id}
    del expected["some_future_field"]
    assert stored["state"]["state_details"] == expected


@pytest.mark.parametrize(
    ("sent", "returned"),
    [
        ("2030-01-01T12:00:00+02:00", "2030-01-01T12:00:00+02:00"),
        ("2030-01-01T12:00:00-05:30", "2030-01-01T12:00:00-05:30"),
        ("2030-01-01T12:00:00", "2030-01-01T12:00:00Z"),
        ("2030-01-01T12:00:00+00:00", "2030-01-01T12:00:00Z"),
        ("2030-01-01T10:00:00.5", "2030-01-01T10:00:00.500000Z"),
        ("2030-01-01T10:00:00.000000Z", "2030-01-01T10:00:00Z"),
        ("0999-01-01T00:00:00+01:00", "0999-01-01T00:00:00+01:00"),
    ],
)
@pytest.mark.parametrize("field", ["scheduled_time", "cache_expiration", "pause_timeout"])
def test_detail_date_times_keep_their_offset(
    api: TestClient, kind: RunKind, field: str, sent: str, returned: str
) -> None:
    state = {"type": "SCHEDULED", "state_details": {field: sent}}
    details = set_state(api, kind, new_id(), state).json()["state"]["state_details"]
    assert details[field] == returned


@pytest.mark.parametrize(
    "data",
    [
        2**70,
        10**4299,
        1.0,
        0.1,
        1e-300,
        -0.0,
        "héllo ✓ 😀",
        [1, [2, [3, None]], {"z": 1, "a": 2}],
        {"artifact_key": "k", "artifact_type": "t", "artifact_description": "d"},
        {"type": "unpersisted"},
        {"z": 1, "a": {"y": [True, False, None]}, "m": ""},
        True,
        None,
        "",
    ],
    ids=repr,
)
def test_data_comes_back_exactly_as_sent(api: TestClient, kind: RunKind, data: Any) -> None:
    run_id = new_id()
    created = set_state(api, kind, run_id, {"type": "COMPLETED", "data": data})
    assert created.status_code == 201
    state = created.json()["state"]
    for returned in (
        state["data"],
        api.get(f"{kind.states_path}/{state['id']}").json()["data"],
        listed(api, kind, run_id)[0]["data"],
    ):
        assert returned == data
        assert type(returned) is type(data)
        if isinstance(data, dict):
            assert list(returned) == list(data)


def test_a_retried_transition_is_stored_once_and_answers_reject(
    api: TestClient, kind: RunKind
) -> None:
    run_id, transition = new_id(), new_id()
    proposal = {"type": "RUNNING", "state_details": {"transition_id": transition}}
    first = set_state(api, kind, run_id, proposal)
    assert first.status_code == 201
    retry = set_state(
        api, kind, run_id, {**proposal, "type": "FAILED", "message": "other"}, force=True
    )
    assert retry.status_code == 200
    assert list(retry.json()) == ["state", "status", "details"]
    assert retry.json() == {
        "state": first.json()["state"],
        "status": "REJECT",
        "details": {
            "type": "reject_details",
            "reason": "This run has already made this state transition.",
        },
    }
    assert listed(api, kind, run_id) == [first.json()["state"]]


def test_a_deleted_transition_is_stored_anew(api: TestClient, kind: RunKind) -> None:
    run_id = new_id()
    proposal = {"type": "RUNNING", "state_details": {"transition_id": new_id()}}
    state_id = set_state(api, kind, run_id, proposal).json()["state"]["id"]
    assert api.delete(f"{kind.states_path}/{state_id}").status_code == 204
    again = set_state(api, kind, run_id, proposal)
    assert again.status_code == 201
    assert again.json()["state"]["id"] == state_id


def test_proposals_without_transition_id_are_always_stored(api: TestClient, kind: RunKind) -> None:
    run_id = new_id()
    for force in (False, True, False):
        assert set_state(api, kind, run_id, {"type": "RUNNING"}, force=force).status_code == 201
    assert len(listed(api, kind, run_id)) == 3


def test_unknown_top_level_keys_are_ignored(api: TestClient, kind: RunKind) -> None:
    response = set_state(api, kind, new_id(), {"type": "RUNNING"}, orchestration="x")
    assert response.status_code == 201


def assert_invalid(response: Any, error_type: str, loc: list[Any]) -> dict[str, Any]:
    assert response.status_code == 422, response.text
    body: dict[str, Any] = response.json()
    assert list(body) == ["exception_message", "exception_detail", "request_body"]
    assert body["exception_message"] == "Invalid request received."
    matching = [e for e in body["exception_detail"] if e["type"] == error_type and e["loc"] == loc]
    assert matching, body["exception_detail"]
    assert all("url" not in error for error in body["exception_detail"])
    assert {"type", "loc", "msg", "input"} <= set(matching[0])
    return body


@pytest.mark.parametrize(
    ("state", "error_type", "loc"),
    [
        (
            {"type": "RUNNING", "id": "0195f3a4-1b2c-7d3e-8f40-123456789abc"},
            "extra_forbidden",
            ["body", "state", "id"],
        ),
        (
            {"type": "RUNNING", "timestamp": "2024-01-01T00:00:00Z"},
            "extra_forbidden",
            ["body", "state", "timestamp"],
        ),
        ({"type": "WALKING"}, "enum", ["body", "state", "type"]),
        ({"name": "x"}, "missing", ["body", "state", "type"]),
        (
            {"type": "RUNNING", "state_details": {"transition_id": "nope"}},
            "uuid_parsing",
            ["body", "state", "state_details", "transition_id"],
        ),
        (
            {"type": "RUNNING", "state_details": {"scheduled_time": "soon"}},
            "datetime_from_date_parsing",
            ["body", "state", "state_details", "scheduled_time"],
        ),
        ({"type": "RUNNING", "message": 5}, "string_type", ["body", "state", "message"]),
    ],
)
def test_invalid_proposals_are_422_and_store_nothing(
    api: TestClient, kind: RunKind, state: dict[str, Any], error_type: str, loc: list[Any]
) -> None:
    run_id = new_id()
    body = assert_invalid(set_state(api, kind, run_id, state), error_type, loc)
    assert body["request_body"] == {"state": state}
    assert listed(api, kind, run_id) == []


@pytest.mark.parametrize(
    "raw",
    [
        b'{"state": {"type": "RUNNING", "data": NaN}}',
        b'{"state": {"type": "RUNNING", "data": Infinity}}',
        b'{"state": {"type": "RUNNING", "data": -Infinity}}',
        b'{"state": {"type": "COMPLETED", "data": 1e400}}',
        b'{"state": {"type": "COMPLETED", "data": [1, -1e999]}}',
        b'{"state": {"type": "COMPLETED", "data": {"tiny": 1e-400}}}',
        b'{"state": {"type": "RUNNING", "data": "\\ud800"}}',
        b'{"state": {"type": "RUNNING", "data": "\\udc00 \\ud83d"}}',
        b'{"state": {"type": "RUNNING", "data": ' + b"1" * 4301 + b"}}",
        b'{"state": {"type": "RUNNING", "data": "\xff\xfe"}}',
        b'{"state": {"type": "RUNNING"',
        b"not json",
    ],
    ids=[
        "nan",
        "infinity",
        "minus-infinity",
        "beyond-a-double",
        "beyond-a-double-in-a-list",
        "below-the-smallest-double",
        "lone-high",
        "lone-low",
        "4301-digits",
        "not-utf8",
        "cut",
        "text",
    ],
)
def test_what_is_not_json_is_422_and_stores_nothing(
    api: TestClient, kind: RunKind, raw: bytes
) -> None:
    run_id = new_id()
    response = api.post(
        f"{kind.runs_path}/{run_id}/set_state",
        content=raw,
        headers={"Content-Type": "application/json"},
    )
    body = assert_invalid(
        response, "json_invalid", ["body", response.json()["exception_detail"][0]["loc"][1]]
    )
    assert isinstance(body["request_body"], str)
    assert listed(api, kind, run_id) == []


def test_a_paired_surrogate_escape_is_valid(api: TestClient, kind: RunKind) -> None:
    response = api.post(
        f"{kind.runs_path}/{new_id()}/set_state",
        content=b'{"state": {"type": "RUNNING", "data": "\\ud83d\\ude00 \\\\ud800"}}',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 201
    assert response.json()["state"]["data"] == "😀 \\ud800"


def test_a_missing_state_has_no_input_as_on_prefect(api: TestClient, kind: RunKind) -> None:
    run_id = new_id()
    body = assert_invalid(
        api.post(f"{kind.runs_path}/{run_id}/set_state", json={"force": True}),
        "missing",
        ["body", "state"],
    )
    assert body["exception_detail"] == [
        {"type": "missing", "loc": ["body", "state"], "msg": "Field required", "input": None}
    ]
    assert body["request_body"] == {"force": True}
    assert listed(api, kind, run_id) == []


def test_a_missing_field_inside_the_state_has_the_state_as_input(
    api: TestClient, kind: RunKind
) -> None:
    body = assert_invalid(
        set_state(api, kind, new_id(), {"name": "x"}), "missing", ["body", "state", "type"]
    )
    assert body["exception_detail"][0]["input"] == {"name": "x"}


def test_a_missing_body_is_422(api: TestClient, kind: RunKind) -> None:
    assert_invalid(api.post(f"{kind.runs_path}/{new_id()}/set_state"), "missing", ["body"])


def test_a_malformed_run_id_is_422(api: TestClient, kind: RunKind) -> None:
    response = api.post(f"{kind.runs_path}/xyz/set_state", json={"state": {"type": "RUNNING"}})
    assert_invalid(response, "uuid_parsing", ["path", "id"])


def test_a_body_without_content_type_is_read_as_json(api: TestClient, kind: RunKind) -> None:
    response = api.post(
        f"{kind.runs_path}/{new_id()}/set_state", content=b'{"state": {"type": "RUNNING"}}'
    )
    assert response.status_code == 201


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
def test_a_body_declared_as_another_type_is_422_with_its_text(
    api: TestClient, kind: RunKind, content_type: str
) -> None:
    run_id, raw = new_id(), '{"state": {"type": "RUNNING"}}'
    response = api.post(
        f"{kind.runs_path}/{run_id}/set_state",
        content=raw.encode(),
        headers={"Content-Type": content_type},
    )
    body = assert_invalid(response, "model_attributes_type", ["body"])
    assert body["request_body"] == raw
    assert body["exception_detail"][0]["input"] == raw
    assert listed(api, kind, run_id) == []
