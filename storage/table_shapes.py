"""The tables' shape: their keys, their indexes, the attributes every item carries, and the
import checkpoint's place among them. Their names and retention periods are settings
(`api.settings`)."""

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

    Item = dict[str, AttributeValueTypeDef]  # a DynamoDB item, as botocore reads and writes it

# Item attributes. A state is kept as the JSON text the API serves, so `data` and
# `state_details` come back exactly as they went in (DynamoDB numbers hold only 38 digits).
ID = "id"  # every table's partition key
LIST_ORDER = "timestamp_id"  # the GSI sort key: fixed-width timestamp, "#", state id
DOCUMENT = "state"
EXPIRES_AT = "expires_at"  # exact expiry, fixed-width UTC like LIST_ORDER, with retention on
TTL = "ttl"  # epoch seconds, rounded up, for DynamoDB's Time to Live
# A state deleted through the API leaves a tombstone: its id, this attribute (when it was
# deleted, fixed-width UTC) and its expiry, nothing else. Without the run id and list order the
# listing index (sparse) no longer holds it; every route answers it as absent; an import sees
# its id stored and never copies the state back; TTL removes it when the state would have gone.
DELETED_AT = "deleted_at"


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

# An import's checkpoint: one item per source in the flow-run state table, its id this prefix
# and then the source's URL (template.yaml grants the importer exactly these ids), its
# CHECKPOINT attribute a JSON document the importer alone reads. Why an item there, not a
# table of its own: it is created, backed up (point-in-time recovery), protected from deletion
# and granted exactly as the states it describes are, and needs no resource of its own. It
# can never be served as a state: its id is no UUID (every route answers a non-UUID id with
# 422), and it carries no run id, so the listing index (a sparse GSI) never holds it.
CHECKPOINT_TABLE = FLOW_RUN_STATES
CHECKPOINT_KEY_PREFIX = "prefect-import:"
CHECKPOINT = "checkpoint"
