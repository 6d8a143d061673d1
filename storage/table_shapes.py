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


# --- archived records: flow runs, task runs, flows and deployments (docs/queries.md) -----
#
# One table per kind, keyed by the record's `id`. Each record's item keeps the record as the
# JSON text Prefect served (RECORD, served back byte for byte), its expiry (EXPIRES_AT, TTL:
# the latest expiry of its run's states), and the key attributes of the indexes below; an
# attribute is absent where its value is null, so each index is sparse. Every index projects
# RECORD and EXPIRES_AT: a query page is one Query, never a Query and a read per record.
RECORD = "record"
# Sort keys: a fixed-width UTC time (as LIST_ORDER), "#", the id: string order is time order,
# ties broken by id. A null time is "" and so sorts first ("#" is below every digit), where
# SQLite puts NULL ascending.
EXPECTED_ORDER = "expected_order"  # expected_start_time
START_ORDER = "start_order"  # coalesce(start_time, expected_start_time), a flow run's start
NAME_ORDER = "name_order"  # "=" + name: a key value may not be empty
# Whole-archive order: one partition per month of the time the sort key holds, so that no
# partition grows without bound; the months present are listed in MONTHS_ITEM.
EXPECTED_MONTH = "expected_month"
START_MONTH = "start_month"
NO_MONTH = "0000-00"  # the month of a null time: before every other
ID_BUCKET = "id_bucket"  # the id's first hex digit: 16 partitions, each in id order
ARCHIVE = "archive"  # flows and deployments: one partition (few records), in name order
TAG = "tag"  # a flow run's tag membership item (below)
# The item listing the months present, in each month attribute's own set attribute
# (`expected_months`, `start_months`). Its id is no UUID: no route ever serves it.
MONTHS_ITEM = "#months"
# A flow run's tags are a list: each tag is an item of its own in the flow-run table, id
# TAG_ITEM_PREFIX + run id + ":" + tag, holding TAG, START_ORDER, RECORD and EXPIRES_AT, so
# the `by-tag` index finds a tag's runs in start order. Only these items carry TAG.
TAG_ITEM_PREFIX = "#tag:"


@dataclass(frozen=True, slots=True)
class RecordIndex:
    name: str
    partition: str  # the attribute keying its partitions
    sort: str  # the attribute ordering each partition
    column: str  # the sort column (`queries.sorting`) the sort key orders by


@dataclass(frozen=True, slots=True)
class RecordTable:
    kind: str  # `queries.Kind`'s value
    indexes: tuple[RecordIndex, ...]

    def index(self, name: str) -> RecordIndex:
        (found,) = (index for index in self.indexes if index.name == name)
        return found


_EXPECTED = "expected_start_time"
_START = "coalesce(start_time, expected_start_time)"  # queries.plan.START_TIME_OR_EXPECTED

FLOW_RUNS = RecordTable(
    "flow_run",
    (
        RecordIndex("by-flow", "flow_id", EXPECTED_ORDER, _EXPECTED),
        RecordIndex("by-deployment", "deployment_id", EXPECTED_ORDER, _EXPECTED),
        RecordIndex("by-parent-task-run", "parent_task_run_id", EXPECTED_ORDER, _EXPECTED),
        RecordIndex("by-state", "state_type", START_ORDER, _START),
        RecordIndex("by-tag", TAG, START_ORDER, _START),
        RecordIndex("by-expected-month", EXPECTED_MONTH, EXPECTED_ORDER, _EXPECTED),
        RecordIndex("by-start-month", START_MONTH, START_ORDER, _START),
        RecordIndex("by-id", ID_BUCKET, ID, "id"),
    ),
)
TASK_RUNS = RecordTable(
    "task_run",
    (
        RecordIndex("by-flow-run", "flow_run_id", EXPECTED_ORDER, _EXPECTED),
        RecordIndex("by-state", "state_type", EXPECTED_ORDER, _EXPECTED),
        RecordIndex("by-expected-month", EXPECTED_MONTH, EXPECTED_ORDER, _EXPECTED),
        RecordIndex("by-id", ID_BUCKET, ID, "id"),
    ),
)
FLOWS = RecordTable("flow", (RecordIndex("by-name", ARCHIVE, NAME_ORDER, "name"),))
DEPLOYMENTS = RecordTable(
    "deployment",
    (
        RecordIndex("by-name", ARCHIVE, NAME_ORDER, "name"),
        RecordIndex("by-flow", "flow_id", NAME_ORDER, "name"),
    ),
)
RECORD_TABLES = (FLOW_RUNS, TASK_RUNS, FLOWS, DEPLOYMENTS)
MONTH_SETS = {EXPECTED_MONTH: "expected_months", START_MONTH: "start_months"}
