"""The documented schemas describe what is served.

Responses are served from the stored text (that is what makes a copy exact), so `State` and
`OrchestrationResult` shape only new writes. These tests hold them to every stored form read
back: states the API wrote (every field, both kinds, and set_state's answers), states as
earlier versions of the service stored them, and (tests/test_import.py) states the importer
copied from Prefect. A form is described when it validates and the model writes it back the
same, key for key, in the same order.
"""

from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.runs import FLOW_RUN, TASK_RUN, RunKind
from api.schemas import OrchestrationResult, StateDetails
from tests.helpers import assert_documented_state, new_id, set_state, table_name

EVERY_DETAIL: dict[str, Any] = {
    "flow_run_id": "8a3f4c1e-5b2d-4e6f-9a1b-2c3d4e5f6a7b",  # the kind's own is the path's
    "task_run_id": "1b2c3d4e-5f6a-4b7c-8d9e-0f1a2b3c4d5e",
    "child_flow_run_id": "2c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e6f",
    "scheduled_time": "2026-11-22T16:01:26.589310+02:00",
    "cache_key": "a-cache-key",
    "cache_expiration": "2026-12-22T14:01:26Z",
    "deferred": True,
    "untrackable_result": True,
    "pause_timeout": "2026-11-22T15:01:26.5Z",
    "pause_reschedule": True,
    "pause_key": "a-pause-key",
    "run_input_keyset": {"description": "a-run-input-description", "response": "a-response"},
    "refresh_cache": True,
    "retriable": False,
    "transition_id": "3d4e5f6a-7b8c-4d9e-8f0a-1b2c3d4e5f6a",
    "task_parameters_id": "4e5f6a7b-8c9d-4e0f-9a1b-2c3d4e5f6a7b",
    "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    "deployment_concurrency_lease_id": "5f6a7b8c-9d0e-4f1a-8b2c-3d4e5f6a7b8c",
}
EVERY_FIELD: dict[str, Any] = {
    "type": "PAUSED",
    "name": "Suspended",
    "message": "Waiting for input",
    "data": {"nested": [1, 2.5, None, True, "ü"], "big": 12345678901234567890123456789012345678901},
    "state_details": EVERY_DETAIL,
}
FEWEST_FIELDS: dict[str, Any] = {"type": "SCHEDULED"}  # the server fills the rest in


def test_every_state_detail_is_exercised() -> None:
    assert set(EVERY_DETAIL) == set(StateDetails.model_fields)


def assert_documented_result(text: str) -> None:
    assert OrchestrationResult.model_validate_json(text).model_dump_json() == text


@pytest.mark.parametrize("proposal", [EVERY_FIELD, FEWEST_FIELDS], ids=["every", "fewest"])
def test_states_the_api_writes_are_as_documented(
    api: TestClient, kind: RunKind, proposal: dict[str, Any]
) -> None:
    run_id = new_id()
    accepted = set_state(api, kind, run_id, proposal)
    assert accepted.status_code == 201
    assert_documented_result(accepted.text)
    state = accepted.json()["state"]
    read = api.get(f"{kind.states_path}/{state['id']}")
    assert read.status_code == 200
    assert_documented_state(read.text)
    listing = api.get(kind.states_path, params={kind.run_id_field: run_id})
    assert listing.text == f"[{read.text}]"
    if state["state_details"]["transition_id"] is not None:
        retried = set_state(api, kind, run_id, proposal)
        assert retried.status_code == 200
        assert retried.json()["status"] == "REJECT"
        assert_documented_result(retried.text)


# Items as earlier versions of the service stored them, written literally (attributes and
# document text as they were written then), never by today's code.
FLOW_RUN_ID = "7d0c2e1a-9b8f-4c6d-a5e4-3f2b1a0c9d8e"
TASK_RUN_ID = "01a24875-97be-740a-91fd-045781ab5574"
EARLIER_ITEMS: dict[str, dict[str, Any]] = {
    # add5bb4, the first version: no expiry; a state with every detail at its default.
    "first version, kept until deleted": {
        "id": {"S": "0193a6a5-3d2c-7b1e-8f4a-9c0d1e2f3a4b"},
        "flow_run_id": {"S": FLOW_RUN_ID},
        "timestamp_id": {"S": "2026-11-23T08:14:19.000000Z#0193a6a5-3d2c-7b1e-8f4a-9c0d1e2f3a4b"},
        "state": {
            "S": '{"id":"0193a6a5-3d2c-7b1e-8f4a-9c0d1e2f3a4b","type":"RUNNING","name":"Running",'
            '"timestamp":"2026-11-23T08:14:19Z","message":null,"data":null,"state_details":'
            '{"flow_run_id":"7d0c2e1a-9b8f-4c6d-a5e4-3f2b1a0c9d8e","task_run_id":null,'
            '"child_flow_run_id":null,"scheduled_time":null,"cache_key":null,'
            '"cache_expiration":null,"deferred":false,"untrackable_result":false,'
            '"pause_timeout":null,"pause_reschedule":false,"pause_key":null,'
            '"run_input_keyset":null,"refresh_cache":null,"retriable":null,"transition_id":null,'
            '"task_parameters_id":null,"traceparent":null,"deployment_concurrency_lease_id":null}}'
        },
    },
    # 8409ed6, retention: an exact expiry and a TTL beside the document.
    "with retention": {
        "id": {"S": "6b1f0c1e-42a4-5e0e-9a37-5c1d2f9b8e70"},
        "flow_run_id": {"S": FLOW_RUN_ID},
        "timestamp_id": {"S": "2026-11-23T09:00:00.123456Z#6b1f0c1e-42a4-5e0e-9a37-5c1d2f9b8e70"},
        "state": {
            "S": '{"id":"6b1f0c1e-42a4-5e0e-9a37-5c1d2f9b8e70","type":"SCHEDULED",'
            '"name":"Late","timestamp":"2026-11-23T09:00:00.123456Z","message":"tomorrow",'
            '"data":{"answer":42},"state_details":{"flow_run_id":'
            '"7d0c2e1a-9b8f-4c6d-a5e4-3f2b1a0c9d8e","task_run_id":null,"child_flow_run_id":null,'
            '"scheduled_time":"2026-11-24T09:00:00+01:00","cache_key":null,'
            '"cache_expiration":null,"deferred":false,"untrackable_result":false,'
            '"pause_timeout":null,"pause_reschedule":false,"pause_key":null,'
            '"run_input_keyset":null,"refresh_cache":null,"retriable":null,'
            '"transition_id":"9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b","task_parameters_id":null,'
            '"traceparent":null,"deployment_concurrency_lease_id":null}}'
        },
        "expires_at": {"S": "9999-12-31T23:59:59.999999Z"},
        "ttl": {"N": "253402300800"},
    },
    # 53c47e1, the importer: states as a Prefect 3.9.1 server serves them, `deferred` null.
    "copied from Prefect": {
        "id": {"S": "01a24875-96f3-79e9-87ba-c725de4fedf3"},
        "flow_run_id": {"S": FLOW_RUN_ID},
        "timestamp_id": {"S": "2026-12-05T23:06:35.635455Z#01a24875-96f3-79e9-87ba-c725de4fedf3"},
        "state": {
            "S": '{"id":"01a24875-96f3-79e9-87ba-c725de4fedf3","type":"RUNNING","name":"Running",'
            '"timestamp":"2026-12-05T23:06:35.635455Z","message":null,"data":null,'
            '"state_details":{"flow_run_id":"7d0c2e1a-9b8f-4c6d-a5e4-3f2b1a0c9d8e",'
            '"task_run_id":null,"child_flow_run_id":null,"scheduled_time":null,"cache_key":null,'
            '"cache_expiration":null,"deferred":null,"untrackable_result":false,'
            '"pause_timeout":null,"pause_reschedule":false,"pause_key":null,'
            '"run_input_keyset":null,"refresh_cache":null,"retriable":null,'
            '"transition_id":"d2caa28f-ec6f-4539-8fce-c03240995027","task_parameters_id":null,'
            '"traceparent":null,"deployment_concurrency_lease_id":null}}'
        },
    },
    "a task run's result record, copied from Prefect": {
        "id": {"S": "01a24875-97d2-7766-9dde-58ce38157683"},
        "task_run_id": {"S": TASK_RUN_ID},
        "timestamp_id": {"S": "2026-12-05T23:06:35.858843Z#01a24875-97d2-7766-9dde-58ce38157683"},
        "state": {
            "S": '{"id":"01a24875-97d2-7766-9dde-58ce38157683","type":"COMPLETED",'
            '"name":"Completed","timestamp":"2026-12-05T23:06:35.858843Z","message":"",'
            '"data":{"storage_key":"/root/.prefect/storage/e803d1125f6033e4c265bc071a216be7",'
            '"expiration":null,"serializer":{"type":"pickle"},"prefect_version":"3.9.1",'
            '"storage_block_id":null},"state_details":{'
            '"flow_run_id":"7d0c2e1a-9b8f-4c6d-a5e4-3f2b1a0c9d8e",'
            '"task_run_id":"01a24875-97be-740a-91fd-045781ab5574","child_flow_run_id":null,'
            '"scheduled_time":null,"cache_key":null,"cache_expiration":null,"deferred":false,'
            '"untrackable_result":true,"pause_timeout":null,"pause_reschedule":false,'
            '"pause_key":null,"run_input_keyset":null,"refresh_cache":null,"retriable":null,'
            '"transition_id":null,"task_parameters_id":null,"traceparent":null,'
            '"deployment_concurrency_lease_id":null}}'
        },
    },
}


@pytest.mark.parametrize("item", EARLIER_ITEMS.values(), ids=EARLIER_ITEMS.keys())
def test_states_earlier_versions_stored_are_as_documented(
    api: TestClient, dynamodb: Any, item: dict[str, Any]
) -> None:
    kind = FLOW_RUN if FLOW_RUN.run_id_field in item else TASK_RUN
    dynamodb.put_item(TableName=table_name(kind), Item=item)
    read = api.get(f"{kind.states_path}/{item['id']['S']}")
    assert read.status_code == 200
    assert read.text == item["state"]["S"]
    assert_documented_state(read.text)
    run_id = item[kind.run_id_field]["S"]
    listing = api.get(kind.states_path, params={kind.run_id_field: run_id})
    assert item["state"]["S"] in listing.text
