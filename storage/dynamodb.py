"""The state repository on DynamoDB: one call per read, delete and write; one per list page."""

import functools
import math
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

from storage.clients import DynamoDBClientSource, DynamoDBOnFirstUse, aws_client
from storage.repository import (
    StateTooLarge,
    StorageMisconfigured,
    StorageUnavailable,
    StoredState,
    fixed_width_utc,
)
from storage.table_shapes import (
    DELETED_AT,
    DOCUMENT,
    EXPIRES_AT,
    ID,
    LIST_ORDER,
    TTL,
    RecordTable,
    StateTable,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from storage.table_shapes import Item

# DynamoDB's item limit: 400 KB, counted as 409,600 bytes of attribute names and values.
ITEM_SIZE_LIMIT = 409_600

_THROTTLED = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
    }
)
_MISCONFIGURED = frozenset(
    {"ResourceNotFoundException", "AccessDeniedException", "UnrecognizedClientException"}
)


@functools.cache
def dynamodb_client() -> "DynamoDBClient":
    """The process's one DynamoDB client, made on first use."""
    return aws_client("dynamodb")


def item_size(item: "Item") -> int:
    """The size DynamoDB counts for an item of string and number attributes."""
    size = 0
    for name, value in item.items():
        size += len(name.encode("utf-8"))
        if "S" in value:
            size += len(value["S"].encode("utf-8"))
        else:  # a number: about one byte per two significant digits, plus one
            size += (len(value["N"].lstrip("-").replace(".", "").strip("0")) + 1) // 2 + 1
    return size


def fits_in_an_item(item: "Item") -> bool:
    """Whether DynamoDB stores `item`: within its item limit (400 KB)."""
    return item_size(item) <= ITEM_SIZE_LIMIT


def state_item(table: StateTable, state: StoredState) -> "Item":
    """The DynamoDB item that keeps `state` in `table`."""
    item: Item = {
        ID: {"S": state.id},
        table.run_id_attribute: {"S": state.run_id},
        LIST_ORDER: {"S": state.list_order},
        DOCUMENT: {"S": state.document},
    }
    if state.expires_at is not None:
        item[EXPIRES_AT] = {"S": state.expires_at}
        expiry = datetime.strptime(state.expires_at, "%Y-%m-%dT%H:%M:%S.%fZ")
        item[TTL] = {"N": str(math.ceil(expiry.replace(tzinfo=UTC).timestamp()))}
    return item


class DynamoDBStateRepository(DynamoDBOnFirstUse):
    def __init__(
        self,
        table: StateTable,
        name: str,
        client: DynamoDBClientSource,
        now: Callable[[], datetime],
    ) -> None:
        """`client`, or a function that makes it on first use (`DynamoDBOnFirstUse`); `now`
        the clock that tells which states have expired and which ids an expired state gives
        up."""
        super().__init__(client)
        self._table = table
        self._name = name
        self._now = now

    def read(self, state_id: str) -> StoredState | None:
        response = self._call(
            self._client.get_item,
            TableName=self._name,
            Key={ID: {"S": state_id}},
            ConsistentRead=True,
        )
        return self._live(response.get("Item"))

    def delete(self, state_id: str) -> bool:
        """One conditional write: a live state becomes a tombstone (`DELETED_AT`), or
        nothing changes and the answer is False (no state, expired, or deleted already)."""
        try:
            self._call(
                self._client.update_item,
                TableName=self._name,
                Key={ID: {"S": state_id}},
                UpdateExpression="SET #deleted = :now REMOVE #run, #order, #document",
                # A live state: it has a list order (a tombstone has none) and no expiry past.
                ConditionExpression=(
                    "attribute_exists(#order) AND "
                    "(attribute_not_exists(#expires_at) OR #expires_at > :now)"
                ),
                ExpressionAttributeNames={
                    "#deleted": DELETED_AT,
                    "#run": self._table.run_id_attribute,
                    "#order": LIST_ORDER,
                    "#document": DOCUMENT,
                    "#expires_at": EXPIRES_AT,
                },
                ExpressionAttributeValues={":now": {"S": fixed_width_utc(self._now())}},
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            return False
        return True

    def insert(self, state: StoredState) -> StoredState | None:
        item = state_item(self._table, state)
        size = item_size(item)
        if size > ITEM_SIZE_LIMIT:
            raise StateTooLarge(size, ITEM_SIZE_LIMIT)
        for _ in range(3):
            try:
                self._call(
                    self._client.put_item,
                    TableName=self._name,
                    Item=item,
                    # A new id, or one whose holder has expired and only awaits TTL deletion,
                    # or was deleted (a tombstone: the contract stores a deleted id anew).
                    ConditionExpression=(
                        "attribute_not_exists(#id) OR #expires_at <= :now "
                        "OR attribute_exists(#deleted)"
                    ),
                    ExpressionAttributeNames={
                        "#id": ID,
                        "#expires_at": EXPIRES_AT,
                        "#deleted": DELETED_AT,
                    },
                    ExpressionAttributeValues={":now": {"S": fixed_width_utc(self._now())}},
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
                return None
            except ClientError as error:
                if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                    raise
                # AWS, DynamoDB Local and moto return the stored item with the failure
                # (ALL_OLD); where a database does not (dynalite), it is read once.
                held = cast("Item | None", error.response.get("Item")) or self._call(
                    self._client.get_item,
                    TableName=self._name,
                    Key={ID: {"S": state.id}},
                    ConsistentRead=True,
                ).get("Item")
                existing = self._live(held)
                if existing is not None:
                    return existing
                # Deleted or expired between the two clocks or calls: try the write again.
        raise StorageUnavailable(f"state {state.id} kept changing while it was written")

    def list_run(
        self, run_id: str, after: str | None = None, batch_size: int | None = None
    ) -> Iterator[StoredState]:
        run_attribute = self._table.run_id_attribute
        query: dict[str, Any] = {
            "TableName": self._name,
            "IndexName": self._table.index_name,
            "KeyConditionExpression": "#run = :run",
            # Only what a listing needs: the state's id ends its list order, and its run is
            # the one asked for. botocore parses every attribute of every item returned, a
            # large part of a listing's time, so two fewer per state is a cheaper page.
            "ProjectionExpression": "#order, #document, #expires",
            "ExpressionAttributeNames": {
                "#run": run_attribute,
                "#order": LIST_ORDER,
                "#document": DOCUMENT,
                "#expires": EXPIRES_AT,
            },
            "ExpressionAttributeValues": {":run": {"S": run_id}},
        }
        if batch_size is not None:
            query["Limit"] = batch_size
        if after is not None:
            query["ExclusiveStartKey"] = {
                ID: {"S": after.rpartition("#")[2]},
                run_attribute: {"S": run_id},
                LIST_ORDER: {"S": after},
            }
        while True:
            page = self._call(self._client.query, **query)
            now = fixed_width_utc(self._now())
            for item in page["Items"]:
                state = _listed_state(item, run_id)
                if state.is_live(now):
                    yield state
            if "LastEvaluatedKey" not in page:
                return
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _live(self, item: "Item | None") -> StoredState | None:
        if item is None or DELETED_AT in item:
            return None
        state = self._from_item(item)
        return state if state.is_live(fixed_width_utc(self._now())) else None

    def _from_item(self, item: "Item") -> StoredState:
        expires = item.get(EXPIRES_AT)
        return StoredState(
            id=item[ID]["S"],
            run_id=item[self._table.run_id_attribute]["S"],
            list_order=item[LIST_ORDER]["S"],
            document=item[DOCUMENT]["S"],
            expires_at=expires["S"] if expires else None,
        )

    def _call(self, operation: Callable[..., Any], **kwargs: Any) -> Any:
        return translated_call(self._table, self._name, operation, **kwargs)


def translated_call(
    table: "StateTable | RecordTable", name: str, operation: Callable[..., Any], **kwargs: Any
) -> Any:
    """One DynamoDB call on the table `name`, its failures translated into storage's errors."""
    try:
        return operation(**kwargs)
    except ClientError as error:
        code = error.response["Error"]["Code"]
        if code in _THROTTLED:
            raise StorageUnavailable(code) from error
        if code in _MISCONFIGURED:
            raise StorageMisconfigured(table, name, code) from error
        if code == "ValidationException" and "item size" in str(error).lower():
            raise StateTooLarge(None, ITEM_SIZE_LIMIT) from error
        raise
    except (ConnectionError, HTTPClientError) as error:
        raise StorageUnavailable(type(error).__name__) from error


def _listed_state(item: "Item", run_id: str) -> StoredState:
    """A state from a listing's item, which holds only the projected attributes."""
    list_order = item[LIST_ORDER]["S"]
    expires = item.get(EXPIRES_AT)
    return StoredState(
        id=list_order.rpartition("#")[2],
        run_id=run_id,
        list_order=list_order,
        document=item[DOCUMENT]["S"],
        expires_at=expires["S"] if expires else None,
    )
