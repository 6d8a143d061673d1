"""The two state tables' shape: their keys, their index, and the attributes every item
carries. Their names and retention periods are settings (`api.settings`)."""

from dataclasses import dataclass

# Item attributes. A state is kept as the JSON text the API serves, so `data` and
# `state_details` come back exactly as they went in (DynamoDB numbers hold only 38 digits).
ID = "id"
LIST_ORDER = "timestamp_id"  # the GSI sort key: fixed-width timestamp, "#", state id
DOCUMENT = "state"
EXPIRES_AT = "expires_at"  # exact expiry, fixed-width UTC like LIST_ORDER, with retention on
TTL = "ttl"  # epoch seconds, rounded up, for DynamoDB's Time to Live


@dataclass(frozen=True, slots=True)
class StateTable:
    run_id_attribute: str  # the GSI partition key
    index_name: str


FLOW_RUN_STATES = StateTable(
    run_id_attribute="flow_run_id",
    index_name="by-flow-run",
)
TASK_RUN_STATES = StateTable(
    run_id_attribute="task_run_id",
    index_name="by-task-run",
)
