"""An archived record as DynamoDB items: its own, and a flow run's tag memberships
(storage/table_shapes.py says what each attribute is for)."""

import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from storage.dynamodb import fits_in_an_item
from storage.repository import fixed_width_utc
from storage.table_shapes import (
    ARCHIVE,
    EXPECTED_MONTH,
    EXPECTED_ORDER,
    EXPIRES_AT,
    FLOW_RUNS,
    ID,
    ID_BUCKET,
    MONTH_SETS,
    NAME_ORDER,
    NO_MONTH,
    RECORD,
    START_MONTH,
    START_ORDER,
    TAG,
    TAG_ITEM_PREFIX,
    TTL,
    RecordTable,
)

if TYPE_CHECKING:
    from storage.table_shapes import Item


@dataclass(frozen=True, slots=True)
class RecordToStore:
    """A record to archive: the JSON text Prefect served for it, and until when it is served.

    A run's record is served as long as any of its states is: `expires_at` is the latest
    expiry of its states, None where one of them is kept until deleted (or for a flow or a
    deployment, which have no states)."""

    document: str
    expires_at: datetime | None = None


def utc_text(value: str | None) -> str | None:
    """A served date-time as fixed-width UTC text (string order is time order)."""
    if value is None:
        return None
    return fixed_width_utc(datetime.fromisoformat(value.replace("Z", "+00:00")))


def time_order(time: str | None, record_id: str) -> str:
    return f"{time or ''}#{record_id}"


def name_order(name: str) -> str:
    return "=" + name


def month_of(time: str | None) -> str:
    return time[:7] if time else NO_MONTH


def _expiry(expires_at: datetime | None) -> "Item":
    if expires_at is None:
        return {}
    return {
        EXPIRES_AT: {"S": fixed_width_utc(expires_at)},
        TTL: {"N": str(math.ceil(expires_at.astimezone(UTC).timestamp()))},
    }


def _run_times(record: dict[str, Any]) -> tuple[str | None, str | None]:
    expected = utc_text(record.get("expected_start_time"))
    return expected, utc_text(record.get("start_time")) or expected


def record_items(table: RecordTable, stored: RecordToStore) -> "list[Item]":
    """The items keeping `stored` in `table`: its own, then (flow runs) one per tag."""
    record = json.loads(stored.document)
    record_id = str(record["id"])
    item: Item = {
        ID: {"S": record_id},
        RECORD: {"S": stored.document},
        **_expiry(stored.expires_at),
    }

    def put(attribute: str, field: str) -> None:
        if record.get(field) is not None:
            item[attribute] = {"S": str(record[field])}

    if table.kind in ("flow_run", "task_run"):
        expected, start = _run_times(record)
        item[EXPECTED_ORDER] = {"S": time_order(expected, record_id)}
        item[EXPECTED_MONTH] = {"S": month_of(expected)}
        item[ID_BUCKET] = {"S": record_id[0]}
        put("state_type", "state_type")
    if table.kind == "flow_run":
        item[START_ORDER] = {"S": time_order(start, record_id)}
        item[START_MONTH] = {"S": month_of(start)}
        for field in ("flow_id", "deployment_id", "parent_task_run_id"):
            put(field, field)
    elif table.kind == "task_run":
        put("flow_run_id", "flow_run_id")
    else:
        item[ARCHIVE] = {"S": table.kind}
        item[NAME_ORDER] = {"S": name_order(str(record["name"]))}
        if table.kind == "deployment":
            put("flow_id", "flow_id")
    items = [item]
    if table is FLOW_RUNS:
        items += [
            {
                ID: {"S": tag_item_id(record_id, tag)},
                TAG: {"S": tag},
                START_ORDER: item[START_ORDER],
                RECORD: item[RECORD],
                **_expiry(stored.expires_at),
            }
            for tag in sorted(set(record.get("tags") or ()))
            if tag  # a key value may not be empty: a query for "" reads another index
        ]
    return items


def fits(items: "list[Item]") -> bool:
    """Whether each of a record's items is within DynamoDB's item limit (400 KB)."""
    return all(map(fits_in_an_item, items))


def tag_item_id(record_id: str, tag: str) -> str:
    return f"{TAG_ITEM_PREFIX}{record_id}:{tag}"


def tag_item_ids(document: str) -> set[str]:
    """The ids of the tag items a flow run's record, as stored, has."""
    record = json.loads(document)
    return {tag_item_id(str(record["id"]), tag) for tag in record.get("tags") or ()}


def months_of(items: "list[Item]") -> dict[str, set[str]]:
    """The months the items fall in, by the set attribute of `MONTHS_ITEM` listing them."""
    months: dict[str, set[str]] = {}
    for item in items:
        for attribute, listing in MONTH_SETS.items():
            if attribute in item:
                months.setdefault(listing, set()).add(item[attribute]["S"])
    return months
