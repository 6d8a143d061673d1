"""Archived records read by id: GetItem, and BatchGetItem for many. The base of the query
store (storage/records.py), apart from it so that reading by id loads no query models."""

import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from storage.batch import BATCH_GET_KEYS, FIRST_BACKOFF, UNPROCESSED_ATTEMPTS, chunks
from storage.clients import DynamoDBClientSource, DynamoDBOnFirstUse
from storage.dynamodb import translated_call
from storage.repository import StorageUnavailable, fixed_width_utc
from storage.table_shapes import EXPIRES_AT, ID, RECORD, RecordTable

if TYPE_CHECKING:
    from storage.table_shapes import Item


class RecordReader(DynamoDBOnFirstUse):
    def __init__(
        self,
        names: Mapping[RecordTable, str],
        client: DynamoDBClientSource,
        now: Callable[[], datetime],
    ) -> None:
        """The record tables named `names`, on `client` (or a function making it on first
        use, `DynamoDBOnFirstUse`); `now` tells which records have expired."""
        super().__init__(client)
        self._names = names
        self._now = now

    def _call(self, table: RecordTable, operation: str, **kwargs: Any) -> Any:
        return translated_call(
            table, self._names[table], getattr(self._client, operation), **kwargs
        )

    def read(self, table: RecordTable, record_id: str) -> str | None:
        """The live record with this id in `table`, as the JSON text Prefect served."""
        response = self._call(
            table,
            "get_item",
            TableName=self._names[table],
            Key={ID: {"S": record_id}},
            ProjectionExpression="#record, #expires",
            ExpressionAttributeNames={"#record": RECORD, "#expires": EXPIRES_AT},
            ConsistentRead=True,
        )
        item = response.get("Item")
        return item[RECORD]["S"] if item is not None and live(item, now_text(self._now)) else None

    def records_by_id(self, table: RecordTable, ids: Iterable[str]) -> dict[str, str]:
        """The live records among `ids`, by id: BatchGetItem, 100 keys a call."""
        now = now_text(self._now)
        return {
            item[ID]["S"]: item[RECORD]["S"]
            for item in self._batch_get(table, ids, consistent=False)
            if live(item, now)
        }

    def _batch_get(
        self, table: RecordTable, ids: Iterable[str], consistent: bool
    ) -> Iterator["Item"]:
        """The items stored under `ids`, expired or not, each once; unprocessed keys
        (DynamoDB's partial throttling) asked for again after a wait."""
        name = self._names[table]
        for chunk in chunks(sorted(set(ids)), BATCH_GET_KEYS):
            request: dict[str, Any] = {
                name: {
                    "Keys": [{ID: {"S": key}} for key in chunk],
                    "ProjectionExpression": "#id, #record, #expires",
                    "ExpressionAttributeNames": {
                        "#id": ID,
                        "#record": RECORD,
                        "#expires": EXPIRES_AT,
                    },
                    "ConsistentRead": consistent,
                }
            }
            for attempt in range(UNPROCESSED_ATTEMPTS):
                response = self._call(table, "batch_get_item", RequestItems=request)
                yield from response["Responses"].get(name, [])
                request = dict(response.get("UnprocessedKeys") or {})
                if not request:
                    break
                time.sleep(FIRST_BACKOFF * 2**attempt)
            else:
                raise StorageUnavailable(f"DynamoDB left keys of {name} unread: throttled")


def now_text(now: Callable[[], datetime]) -> str:
    return fixed_width_utc(now())


def live(item: "Item", now: str) -> bool:
    """Whether an item is served at `now` (fixed-width UTC): before its expiry, if any."""
    expires = item.get(EXPIRES_AT)
    return expires is None or now < expires["S"]
