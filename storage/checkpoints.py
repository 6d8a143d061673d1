"""Where an import got to, per source: a JSON document whose fields the importer owns, kept
as `storage.table_shapes` declares (one item per source in the checkpoint table)."""

import json
from typing import TYPE_CHECKING, Any

from storage.table_shapes import CHECKPOINT, CHECKPOINT_KEY_PREFIX, ID

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from storage.table_shapes import Item


class CheckpointStore:
    def __init__(self, client: "DynamoDBClient", table_name: str) -> None:
        """The checkpoints kept in `table_name`: the table `CHECKPOINT_TABLE` names."""
        self._client = client
        self._table_name = table_name

    def load(self, source: str) -> dict[str, Any] | None:
        """The checkpoint of `source` (strongly consistent), or None before the first save."""
        item = self._client.get_item(
            TableName=self._table_name, Key=_key(source), ConsistentRead=True
        ).get("Item")
        if item is None:
            return None
        document: dict[str, Any] = json.loads(item[CHECKPOINT]["S"])
        return document

    def save(self, source: str, document: dict[str, Any]) -> None:
        """Replace the checkpoint of `source`: the last writer wins."""
        self._client.put_item(
            TableName=self._table_name,
            Item={**_key(source), CHECKPOINT: {"S": json.dumps(document)}},
        )


def _key(source: str) -> "Item":
    return {ID: {"S": CHECKPOINT_KEY_PREFIX + source}}
