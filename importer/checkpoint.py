"""Where an import got to, kept as one item of the flow-run state table.

Why an item there, not a table of its own: it is created, backed up (point-in-time recovery),
protected from deletion and granted exactly as the states it describes are, and it needs no
new resource in `template.yaml` nor in the tables `make serve` and the tests create. It can
never be served as a state: its id is no UUID (every route answers a non-UUID id with 422),
and it carries no run id, so the listing index (a sparse GSI) never holds it.

One checkpoint per source URL, so that one pair of tables can follow several Prefect servers.
"""

import json
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from storage.repository import fixed_width_utc
from storage.table_shapes import ID

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

CHECKPOINT = "checkpoint"  # the attribute holding the checkpoint as JSON
KEY_PREFIX = "prefect-import:"  # its id: this, then the source URL (template.yaml grants it)
# A run finished up to this long before a pass began may become visible only after it
# began: task-run states arrive through Prefect's events, stamped with the client's clock.
OVERLAP = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """Every run that finished before `watermark` is copied (None: no pass has completed).

    A pass in progress (`pass_started` set) walks the listings `importer.passes.listings`
    gives for `watermark`; `step` is the listing it is in, `offset` how many runs of it are
    done. Each field is a claim true of the copy that wrote it, so that the last of two
    concurrent writers wins without losing anything: at worst work is done twice.
    """

    watermark: str | None = None
    pass_started: str | None = None
    step: int = 0
    offset: int = 0

    @property
    def in_pass(self) -> bool:
        return self.pass_started is not None

    def begin_pass(self, now: datetime) -> "Checkpoint":
        return replace(self, pass_started=fixed_width_utc(now), step=0, offset=0)

    def advanced(self, runs: int) -> "Checkpoint":
        return replace(self, offset=self.offset + runs)

    def next_listing(self) -> "Checkpoint":
        return replace(self, step=self.step + 1, offset=0)

    def pass_completed(self) -> "Checkpoint":
        assert self.pass_started is not None
        started = datetime.fromisoformat(self.pass_started)
        return Checkpoint(watermark=fixed_width_utc(started - OVERLAP))


class CheckpointStore:
    def __init__(self, client: "DynamoDBClient", table_name: str, source_url: str) -> None:
        """The checkpoint of `source_url`, kept in `table_name`: the flow-run state table."""
        self._client = client
        self._table_name = table_name
        self._key = {ID: {"S": KEY_PREFIX + source_url}}

    def load(self) -> Checkpoint:
        item = self._client.get_item(
            TableName=self._table_name, Key=self._key, ConsistentRead=True
        ).get("Item")
        if item is None:
            return Checkpoint()
        fields: dict[str, Any] = json.loads(item[CHECKPOINT]["S"])
        return Checkpoint(**fields)

    def save(self, checkpoint: Checkpoint) -> None:
        self._client.put_item(
            TableName=self._table_name,
            Item={**self._key, CHECKPOINT: {"S": json.dumps(asdict(checkpoint))}},
        )
