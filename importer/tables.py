"""The service's two tables as the importer writes them: in batches, throttling ridden out."""

import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor
from typing import TYPE_CHECKING, Any, cast

import botocore.session
from botocore.config import Config

from api.settings import Settings
from storage.dynamodb import CLIENT_CONFIG
from storage.repository import StorageUnavailable
from storage.table_shapes import ID, StateTable

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef, WriteRequestTypeDef

    Item = dict[str, AttributeValueTypeDef]

BATCH_GET_KEYS = 100  # DynamoDB's limits per BatchGetItem and BatchWriteItem call
BATCH_WRITE_ITEMS = 25
# Unprocessed keys and items (DynamoDB's partial throttling) are sent again after waits that
# double from 50 ms: about 50 s in all before the page is given up (and redone by a rerun).
UNPROCESSED_ATTEMPTS = 10
FIRST_BACKOFF = 0.05


def importer_client(connections: int) -> "DynamoDBClient":
    """A DynamoDB client like the service's (same endpoint rules and timeouts), with more
    attempts: a bulk copy can wait out throttling that an API call, answering within its
    Lambda's timeout, cannot."""
    config = CLIENT_CONFIG.merge(
        Config(
            max_pool_connections=connections,
            retries={"mode": "standard", "total_max_attempts": 10},
        )
    )
    session = botocore.session.get_session()
    return cast("DynamoDBClient", session.create_client("dynamodb", config=config))


def _chunks[T](values: Sequence[T], size: int) -> list[Sequence[T]]:
    return [values[start : start + size] for start in range(0, len(values), size)]


class StateTables:
    def __init__(
        self,
        client: "DynamoDBClient",
        executor: Executor,
        settings: Settings,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self._executor = executor
        self._settings = settings
        self._sleep = sleep

    def present(self, table: StateTable, state_ids: Iterable[str]) -> set[str]:
        """Which of the ids a state (live or not) is stored under: strongly consistent."""
        chunks = _chunks(sorted(set(state_ids)), BATCH_GET_KEYS)
        found: set[str] = set()
        for chunk_found in self._executor.map(lambda ids: self._present(table, ids), chunks):
            found |= chunk_found
        return found

    def write(self, table: StateTable, items: Sequence["Item"]) -> None:
        """Store the items, overwriting any with the same id; returns once all are stored."""
        chunks = _chunks(items, BATCH_WRITE_ITEMS)
        list(self._executor.map(lambda chunk: self._write(table, chunk), chunks))

    def _present(self, table: StateTable, state_ids: Sequence[str]) -> set[str]:
        name = self._settings.table(table).name
        request: dict[str, Any] = {
            name: {
                "Keys": [{ID: {"S": state_id}} for state_id in state_ids],
                "ProjectionExpression": "#id",
                "ExpressionAttributeNames": {"#id": ID},
                "ConsistentRead": True,
            }
        }
        found: set[str] = set()
        for attempt in range(UNPROCESSED_ATTEMPTS):
            response = self.client.batch_get_item(RequestItems=request)
            found |= {item[ID]["S"] for item in response["Responses"].get(name, [])}
            request = dict(response.get("UnprocessedKeys") or {})
            if not request:
                return found
            self._sleep(FIRST_BACKOFF * 2**attempt)
        raise StorageUnavailable(f"DynamoDB left keys of {name} unread: throttled")

    def _write(self, table: StateTable, items: Sequence["Item"]) -> None:
        name = self._settings.table(table).name
        requests: list[WriteRequestTypeDef] = [{"PutRequest": {"Item": item}} for item in items]
        for attempt in range(UNPROCESSED_ATTEMPTS):
            response = self.client.batch_write_item(RequestItems={name: requests})
            unprocessed = (response.get("UnprocessedItems") or {}).get(name, [])
            requests = cast("list[WriteRequestTypeDef]", unprocessed)
            if not requests:
                return
            self._sleep(FIRST_BACKOFF * 2**attempt)
        raise StorageUnavailable(f"DynamoDB left items of {name} unwritten: throttled")
