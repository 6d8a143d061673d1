"""Copies a live Prefect server's records into the archive through `put_records`, as the
importer will: each kind read page by page from its `/filter` route."""

import json
from typing import Any

import httpx

from queries import Kind
from storage.record_items import RecordToStore
from storage.records import DynamoDBRecordStore

FILTER_PATHS = {
    Kind.FLOW_RUN: "/flow_runs/filter",
    Kind.TASK_RUN: "/task_runs/filter",
    Kind.FLOW: "/flows/filter",
    Kind.DEPLOYMENT: "/deployments/filter",
}
PAGE = 200  # Prefect's most per request


def served_text(record: dict[str, Any]) -> str:
    """A record as Prefect's JSON response writes it: compact, keys in its order."""
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False)


def load_records(
    http: httpx.Client, store: DynamoDBRecordStore
) -> tuple[dict[Kind, int], set[str]]:
    """Every record of every kind the server at `http` serves, archived (kept until
    deleted): how many of each kind were read, and the ids of those not stored (over
    DynamoDB's 400 KB item limit)."""
    loaded = {}
    skipped: set[str] = set()
    for kind, path in FILTER_PATHS.items():
        offset, total = 0, 0
        while True:
            body = {"limit": PAGE, "offset": offset}
            page: list[dict[str, Any]] = http.post(path, json=body).raise_for_status().json()
            records = [RecordToStore(served_text(record)) for record in page]
            skipped |= set(store.put_records(kind, records))
            total += len(page)
            if len(page) < PAGE:
                break
            offset += PAGE
        loaded[kind] = total
    return loaded, skipped
