"""Reading a state by id, listing a run's states, deleting a state."""

from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.runs import RunKind
from api.services import RepositoryProvider
from storage.repository import StoredState
from tests.helpers import listed, new_id, repository_of, set_state


def test_read_by_id(api: TestClient, kind: RunKind) -> None:
    state = set_state(api, kind, new_id(), {"type": "RUNNING"}).json()["state"]
    response = api.get(f"{kind.states_path}/{state['id']}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == state


@pytest.mark.parametrize(
    "spelling", [str.upper, lambda text: text.replace("-", "")], ids=["upper", "unhyphenated"]
)
def test_ids_in_any_uuid_spelling(api: TestClient, kind: RunKind, spelling: Any) -> None:
    run_id = new_id()
    state = set_state(api, kind, run_id, {"type": "RUNNING"}).json()["state"]
    assert api.get(f"{kind.states_path}/{spelling(state['id'])}").json() == state
    listing = api.get(f"{kind.states_path}/", params={kind.run_id_field: spelling(run_id)})
    assert listing.json() == [state]
    assert api.delete(f"{kind.states_path}/{spelling(state['id'])}").status_code == 204


def test_a_missing_state_is_404(api: TestClient, kind: RunKind) -> None:
    for method in (api.get, api.delete):
        response = method(f"{kind.states_path}/{new_id()}")
        assert response.status_code == 404
        assert response.json() == {"detail": kind.not_found}
    assert kind.not_found in ("Flow run state not found", "Task run state not found")


def test_states_of_one_kind_are_not_found_as_the_other(api: TestClient, kind: RunKind) -> None:
    from api.runs import FLOW_RUN, TASK_RUN

    other = TASK_RUN if kind is FLOW_RUN else FLOW_RUN
    state = set_state(api, kind, new_id(), {"type": "RUNNING"}).json()["state"]
    assert api.get(f"{other.states_path}/{state['id']}").status_code == 404


@pytest.mark.parametrize("bad_id", ["nope", "1234", "0195f3a4-1b2c-7d3e-8f40-123456789abcd"])
def test_a_malformed_id_is_422(api: TestClient, kind: RunKind, bad_id: str) -> None:
    for method in (api.get, api.delete):
        response = method(f"{kind.states_path}/{bad_id}")
        assert response.status_code == 422
        body = response.json()
        assert body["exception_detail"][0]["loc"] == ["path", "id"]
        assert body["exception_detail"][0]["type"] == "uuid_parsing"
        assert body["request_body"] is None


def test_list_is_oldest_first_with_or_without_the_slash(api: TestClient, kind: RunKind) -> None:
    run_id = new_id()
    written = [
        set_state(api, kind, run_id, {"type": state_type}).json()["state"]
        for state_type in ("SCHEDULED", "PENDING", "RUNNING", "COMPLETED")
    ]
    set_state(api, kind, new_id(), {"type": "RUNNING"})  # another run's state
    for path in (f"{kind.states_path}/", kind.states_path):
        response = api.get(path, params={kind.run_id_field: run_id})
        assert response.status_code == 200
        assert response.json() == written


def test_equal_timestamps_are_listed_in_id_order(
    api: TestClient, kind: RunKind, repositories: RepositoryProvider
) -> None:
    run_id, timestamp = new_id(), "2024-05-01T12:00:00.000000Z"
    ids = sorted(new_id() for _ in range(5))
    repository = repository_of(repositories, kind)
    for state_id in reversed(ids):
        document = f'{{"id":"{state_id}"}}'
        repository.insert(StoredState(state_id, run_id, f"{timestamp}#{state_id}", document))
    listing = api.get(kind.states_path, params={kind.run_id_field: run_id}).json()
    assert [state["id"] for state in listing] == ids


def test_an_unknown_run_lists_nothing(api: TestClient, kind: RunKind) -> None:
    response = api.get(kind.states_path, params={kind.run_id_field: new_id()})
    assert response.status_code == 200
    assert response.json() == []


def test_list_query_parameters(api: TestClient, kind: RunKind) -> None:
    run_id = new_id()
    state = set_state(api, kind, run_id, {"type": "RUNNING"}).json()["state"]
    repeated = f"{kind.states_path}/?{kind.run_id_field}={new_id()}&{kind.run_id_field}={run_id}"
    assert api.get(repeated).json() == [state]
    unknown = api.get(kind.states_path, params={kind.run_id_field: run_id, "sort": "x"})
    assert unknown.json() == [state]


@pytest.mark.parametrize(
    ("params", "error_type"), [({}, "missing"), ({"x": "1"}, "missing"), (None, "uuid_parsing")]
)
def test_list_needs_a_valid_run_id(
    api: TestClient, kind: RunKind, params: Any, error_type: str
) -> None:
    query = {kind.run_id_field: "nope"} if params is None else params
    response = api.get(kind.states_path, params=query)
    assert response.status_code == 422
    assert response.json()["exception_detail"][0]["type"] == error_type
    assert response.json()["exception_detail"][0]["loc"] == ["query", kind.run_id_field]


def test_delete_answers_204_once(api: TestClient, kind: RunKind) -> None:
    run_id = new_id()
    kept = set_state(api, kind, run_id, {"type": "PENDING"}).json()["state"]
    gone = set_state(api, kind, run_id, {"type": "RUNNING"}).json()["state"]
    response = api.delete(f"{kind.states_path}/{gone['id']}")
    assert response.status_code == 204
    assert response.content == b""
    assert api.get(f"{kind.states_path}/{gone['id']}").status_code == 404
    assert api.delete(f"{kind.states_path}/{gone['id']}").status_code == 404
    assert api.get(kind.states_path, params={kind.run_id_field: run_id}).json() == [kept]


def test_a_deleted_transition_retried_is_stored_anew(api: TestClient, kind: RunKind) -> None:
    """Deletion leaves a tombstone (storage), yet the contract's retry stands: where the
    stored state was deleted, the proposal is stored anew (201), under the same id."""
    run_id = new_id()
    proposal = {"type": "RUNNING", "state_details": {"transition_id": new_id()}}
    first = set_state(api, kind, run_id, proposal)
    state_id = first.json()["state"]["id"]
    assert api.delete(f"{kind.states_path}/{state_id}").status_code == 204
    again = set_state(api, kind, run_id, proposal)
    assert again.status_code == 201
    assert again.json()["state"]["id"] == state_id
    assert api.get(f"{kind.states_path}/{state_id}").status_code == 200
    assert [state["id"] for state in listed(api, kind, run_id)] == [state_id]
