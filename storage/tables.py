"""The two state tables: what names them, how long they keep states, and the attributes
every item carries."""

import os
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
    env_var: str  # names the table
    default_name: str  # the name used where the variable is unset (make serve, tests)
    run_id_attribute: str  # the GSI partition key
    index_name: str
    retention_env_var: str  # days to keep a state (see api.retention); unset or 0 keeps it

    @property
    def name(self) -> str:
        return os.environ.get(self.env_var) or self.default_name


FLOW_RUN_STATES = StateTable(
    env_var="FLOW_RUN_STATES_TABLE",
    default_name="flow-run-states",
    run_id_attribute="flow_run_id",
    index_name="by-flow-run",
    retention_env_var="FLOW_RUN_STATE_RETENTION_DAYS",
)
TASK_RUN_STATES = StateTable(
    env_var="TASK_RUN_STATES_TABLE",
    default_name="task-run-states",
    run_id_attribute="task_run_id",
    index_name="by-task-run",
    retention_env_var="TASK_RUN_STATE_RETENTION_DAYS",
)
