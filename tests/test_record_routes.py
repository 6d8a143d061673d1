"""The archived records' routes through the local app (every route, as `make serve` runs
it): the contract's section "Archived runs: read and find them"."""

import json
from typing import TYPE_CHECKING, Any

import pytest
from fastapi.testclient import TestClient

from api.records import (
    DEPLOYMENT_RECORDS,
    FLOW_RECORDS,
    FLOW_RUN_RECORDS,
    TASK_RUN_RECORDS,
    RecordKind,
)
from api.settings import Settings
from queries import Kind
from storage.record_items import RecordToStore
from storage.records import DynamoDBRecordStore
from tests.test_queries import NOW, deployment, flow, flow_run, task_run, uid
from tests.test_records import ids_base

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from tests.helpers import SettableClock

KINDS = {
    Kind.FLOW_RUN: FLOW_RUN_RECORDS,
    Kind.TASK_RUN: TASK_RUN_RECORDS,
    Kind.FLOW: FLOW_RECORDS,
    Kind.DEPLOYMENT: DEPLOYMENT_RECORDS,
}


@pytest.fixture
def archived(dynamodb: "DynamoDBClient", clock: "SettableClock") -> dict[Kind, dict[str, Any]]:
    """One record of each kind, archived."""
    clock.now = NOW
    base = ids_base()
    records = {
        Kind.FLOW: flow(base, f"flow-{base}"),
        Kind.DEPLOYMENT: deployment(base + 1, f"dep-{base}", uid(base)),
        Kind.FLOW_RUN: flow_run(
            base + 2, f"run-{base}", uid(base), state_type="FAILED", tags=[f"t{base}"]
        ),
        Kind.TASK_RUN: task_run(base + 3, f"task-{base}", uid(base + 2)),
    }
    store = DynamoDBRecordStore(Settings().record_table_names(), dynamodb, clock)
    for kind, record in records.items():
        store.put_records(kind, [RecordToStore(json.dumps(record))])
    return records


@pytest.mark.parametrize("kind", list(KINDS), ids=str)
def test_a_record_is_read_by_id_as_archived_and_404_where_none_is(
    api: TestClient, archived: dict[Kind, dict[str, Any]], kind: Kind
) -> None:
    records: RecordKind = KINDS[kind]
    record = archived[kind]
    response = api.get(f"{records.path}/{record['id']}")
    assert response.status_code == 200
    assert response.text == json.dumps(record)
    missing = api.get(f"{records.path}/{uid(1)}")
    assert (missing.status_code, missing.json()) == (404, {"detail": records.not_found})


@pytest.mark.parametrize("kind", list(KINDS), ids=str)
def test_filter_and_count_find_the_archived_record(
    api: TestClient, archived: dict[Kind, dict[str, Any]], kind: Kind
) -> None:
    records = KINDS[kind]
    record = archived[kind]
    body = {f"{kind.value}s": {"id": {"any_": [record["id"]]}}}
    found = api.post(records.filter_path, json=body)
    assert (found.status_code, found.json()) == (200, [record])
    assert found.text == "[" + json.dumps(record) + "]"
    counted = api.post(records.count_path, json=body)
    assert (counted.status_code, counted.json()) == (200, 1)
    none = {f"{kind.value}s": {"id": {"any_": [uid(1)]}}}
    assert api.post(records.filter_path, json=none).json() == []
    assert api.post(records.count_path, json=none).json() == 0


@pytest.mark.parametrize(
    "time_filter",
    [
        {
            "flow_runs": {
                "expected_start_time": {
                    "after_": "2026-12-01T00:00:06Z",
                    "before_": "2026-12-01T00:00:00Z",
                }
            }
        },
        {
            "flow_runs": {
                "start_time": {"after_": "2026-12-02T00:00:00Z", "before_": "2026-12-01T00:00:00Z"}
            }
        },
        {
            "flow_runs": {
                "state": {"type": {"any_": ["FAILED"]}},
                "start_time": {"after_": "2026-12-02T00:00:00Z", "before_": "2026-12-01T00:00:00Z"},
            }
        },
    ],
    ids=["expected start", "start", "state and start"],
)
def test_a_time_range_ending_before_it_starts_finds_nothing_as_on_prefect(
    api: TestClient, archived: dict[Kind, dict[str, Any]], time_filter: dict[str, Any]
) -> None:
    # Found by the difference test: DynamoDB refuses a BETWEEN whose bounds are reversed.
    assert api.post("/api/flow_runs/filter", json=time_filter).json() == []
    assert api.post("/api/flow_runs/count", json=time_filter).json() == 0
    paged = api.post("/api/flow_runs/paginate", json=time_filter).json()
    assert (paged["results"], paged["count"], paged["pages"]) == ([], 0, 0)


def test_paginate_answers_prefects_shape(
    api: TestClient, archived: dict[Kind, dict[str, Any]]
) -> None:
    run = archived[Kind.FLOW_RUN]
    body = {"flow_runs": {"tags": {"any_": run["tags"]}}, "limit": 1, "page": 1}
    response = api.post("/api/flow_runs/paginate", json=body)
    assert response.status_code == 200
    assert response.json() == {"results": [run], "count": 1, "limit": 1, "pages": 1, "page": 1}
    second = api.post("/api/flow_runs/paginate", json={**body, "page": 2}).json()
    assert second == {"results": [], "count": 1, "limit": 1, "pages": 1, "page": 2}


def test_a_body_may_be_empty_and_then_takes_every_default(
    api: TestClient, archived: dict[Kind, dict[str, Any]]
) -> None:
    response = api.post(FLOW_RECORDS.count_path)
    assert response.status_code == 200
    assert response.json() >= 1


def test_a_limit_over_200_is_prefects_plain_422(api: TestClient) -> None:
    response = api.post(FLOW_RUN_RECORDS.filter_path, json={"limit": 201, "sort": "BAD"})
    assert (response.status_code, response.json()) == (
        422,
        {"detail": "Invalid limit: must be less than or equal to 200."},
    )


def test_a_malformed_body_is_the_validation_422(api: TestClient) -> None:
    body = {"flow_runs": {"start_time": {"after_": "xyz"}}, "offset": -1}
    response = api.post(FLOW_RUN_RECORDS.filter_path, json=body)
    assert response.status_code == 422
    answer = response.json()
    assert answer["exception_message"] == "Invalid request received."
    assert answer["request_body"] == body
    by_loc = {tuple(error["loc"]): error for error in answer["exception_detail"]}
    assert by_loc[("body", "offset")]["type"] == "greater_than_equal"
    after = by_loc[("body", "flow_runs", "start_time", "after_")]
    assert after["type"] == "value_error"
    assert after["ctx"] == {"error": {}}  # as Prefect's encoder writes an exception


def test_a_sub_filter_the_archive_cannot_answer_is_a_422_naming_it(api: TestClient) -> None:
    body = {"work_pools": {"type": {"any_": ["process"]}}}
    response = api.post(FLOW_RUN_RECORDS.count_path, json=body)
    assert response.status_code == 422
    (error,) = response.json()["exception_detail"]
    assert error["loc"] == ["body", "work_pools", "type", "any_"]
    assert "work_pools.type.any_" in error["msg"]


def test_a_get_of_the_filter_path_is_a_405_naming_post_as_on_prefect(api: TestClient) -> None:
    response = api.get(FLOW_RUN_RECORDS.filter_path)
    assert (response.status_code, response.json()) == (405, {"detail": "Method Not Allowed"})
    assert response.headers["allow"] == "POST"
    # The read by id and set_state still answer beside it.
    assert api.get(f"{FLOW_RUN_RECORDS.path}/not-a-uuid").status_code == 422


def test_a_page_over_lambdas_response_limit_is_a_413(
    api: TestClient, dynamodb: "DynamoDBClient", clock: "SettableClock"
) -> None:
    clock.now = NOW
    base = ids_base()
    store = DynamoDBRecordStore(Settings().record_table_names(), dynamodb, clock)
    tag = f"big{base}"
    big = [flow_run(base + n, "r", uid(base), tags=[tag], note="x" * 200_000) for n in range(32)]
    store.put_records(Kind.FLOW_RUN, [RecordToStore(json.dumps(run)) for run in big])
    body = {"flow_runs": {"tags": {"any_": [tag]}}}
    response = api.post(FLOW_RUN_RECORDS.filter_path, json=body)
    assert response.status_code == 413
    assert "6 MB" in response.json()["exception_message"]
    assert api.post(FLOW_RUN_RECORDS.filter_path, json={**body, "limit": 10}).status_code == 200
