"""Any table of the service read and written in batches, DynamoDB's partial throttling
ridden out: for bulk writers (the importer), which know items, not repositories."""

import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor
from typing import TYPE_CHECKING, Any, cast

from storage.repository import StorageUnavailable
from storage.table_shapes import DELETED_AT, ID

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import WriteRequestTypeDef

    from storage.table_shapes import Item

BATCH_GET_KEYS = 100  # DynamoDB's limits per BatchGetItem and BatchWriteItem call
BATCH_WRITE_ITEMS = 25
# Unprocessed keys and items (DynamoDB's partial throttling) are sent again after waits that
# double from 50 ms: about 50 s in all before the batch is given up (and redone by a rerun).
UNPROCESSED_ATTEMPTS = 10
FIRST_BACKOFF = 0.05


def chunks[T](values: Sequence[T], size: int) -> list[Sequence[T]]:
    return [values[start : start + size] for start in range(0, len(values), size)]


class BatchTables:
    def __init__(
        self,
        client: "DynamoDBClient",
        executor: Executor,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """Batches sent on `client`, several at once on `executor`'s threads."""
        self.client = client
        self._executor = executor
        self._sleep = sleep

    def stored_ids(self, table_name: str, ids: Iterable[str]) -> set[str]:
        """Which of the ids an item is stored under (live, expired, or a tombstone: a state
        deleted through the API is never copied back): strongly consistent."""
        return {item[ID]["S"] for item in self._get(table_name, ids, [ID])}

    def deleted_ids(self, table_name: str, ids: Iterable[str]) -> set[str]:
        """Which of the ids hold a tombstone: deleted through the API."""
        found = self._get(table_name, ids, [ID, DELETED_AT])
        return {item[ID]["S"] for item in found if DELETED_AT in item}

    def _get(self, table_name: str, ids: Iterable[str], attributes: list[str]) -> list["Item"]:
        batches = chunks(sorted(set(ids)), BATCH_GET_KEYS)
        read = self._executor.map(lambda ids: self._stored(table_name, ids, attributes), batches)
        return [item for chunk in read for item in chunk]

    def put(self, table_name: str, items: Sequence["Item"]) -> None:
        """Store the items, overwriting any with the same key; returns once all are stored."""
        batches = chunks(items, BATCH_WRITE_ITEMS)
        list(self._executor.map(lambda chunk: self._put(table_name, chunk), batches))

    def _stored(self, table_name: str, ids: Sequence[str], attributes: list[str]) -> list["Item"]:
        names = {f"#a{number}": name for number, name in enumerate(attributes)}
        request: dict[str, Any] = {
            table_name: {
                "Keys": [{ID: {"S": id}} for id in ids],
                "ProjectionExpression": ", ".join(names),
                "ExpressionAttributeNames": names,
                "ConsistentRead": True,
            }
        }
        found: list[Item] = []
        for attempt in range(UNPROCESSED_ATTEMPTS):
            response = self.client.batch_get_item(RequestItems=request)
            found += response["Responses"].get(table_name, [])
            request = dict(response.get("UnprocessedKeys") or {})
            if not request:
                return found
            self._sleep(FIRST_BACKOFF * 2**attempt)
        raise StorageUnavailable(f"DynamoDB left keys of {table_name} unread: throttled")

    def _put(self, table_name: str, items: Sequence["Item"]) -> None:
        requests: list[WriteRequestTypeDef] = [{"PutRequest": {"Item": item}} for item in items]
        write_batch(self.client, table_name, requests, self._sleep)


def write_batch(
    client: "DynamoDBClient",
    table_name: str,
    requests: "Sequence[WriteRequestTypeDef]",
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """One BatchWriteItem (at most BATCH_WRITE_ITEMS requests), its unprocessed requests
    sent again until none is left."""
    pending = list(requests)
    for attempt in range(UNPROCESSED_ATTEMPTS):
        response = client.batch_write_item(RequestItems={table_name: pending})
        unprocessed = (response.get("UnprocessedItems") or {}).get(table_name, [])
        pending = cast("list[WriteRequestTypeDef]", unprocessed)
        if not pending:
            return
        sleep(FIRST_BACKOFF * 2**attempt)
    raise StorageUnavailable(f"DynamoDB left items of {table_name} unwritten: throttled")
