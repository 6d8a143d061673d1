"""An importer (or a verifier) wired to its source, to the service's tables and to a clock,
for the command line, the scheduled function, the tests and the benchmark alike."""

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from api.clock import Clock, utc_now
from api.runs import RunKind
from api.settings import Settings
from importer.checkpoint import KINDS, SourceCheckpoint
from importer.passes import Importer
from importer.progress import Progress
from importer.source import PrefectSource
from importer.verify import Verifier
from storage.batch import BatchTables
from storage.checkpoints import CheckpointStore
from storage.clients import aws_client
from storage.dynamodb import DynamoDBStateRepository
from storage.records import DynamoDBRecordStore
from storage.repository import StateRepository
from storage.table_shapes import CHECKPOINT_TABLE

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# Runs whose states are read at once, and DynamoDB batches written at once: on two cores,
# more only queue behind the source's own workers.
CONNECTIONS = 8


@dataclass
class _Wired:
    source: PrefectSource
    client: "DynamoDBClient"
    executor: ThreadPoolExecutor


@contextmanager
def _wired(
    source_url: str,
    auth_string: str | None,
    connections: int,
    client: "DynamoDBClient | None",
) -> Iterator[_Wired]:
    source = PrefectSource(source_url, auth_string, connections)
    try:
        source.check_version()
        client = client or aws_client("dynamodb", connections=connections, bulk=True)
        with ThreadPoolExecutor(connections, thread_name_prefix="import") as executor:
            yield _Wired(source, client, executor)
    finally:
        source.close()


def open_checkpoint(
    source_url: str, settings: Settings, client: "DynamoDBClient | None" = None
) -> SourceCheckpoint:
    """The checkpoint of the copy of `source_url` (whose URL is its key: the source itself is
    not contacted)."""
    client = client or aws_client("dynamodb")
    store = CheckpointStore(client, settings.table(CHECKPOINT_TABLE).name)
    return SourceCheckpoint(store, source_url.rstrip("/"))


@contextmanager
def open_importer(
    source_url: str,
    settings: Settings,
    auth_string: str | None = None,
    connections: int = CONNECTIONS,
    progress: Progress | None = None,
    client: "DynamoDBClient | None" = None,
    clock: Clock = utc_now,
) -> Iterator[Importer]:
    """An importer from the Prefect server at `source_url`, once it is known to be a Prefect 3
    server (else a SourceError), into the tables `settings` name, with their retention
    periods judged by `clock`, on the DynamoDB of `AWS_ENDPOINT_URL_DYNAMODB` (else AWS) or
    `client`'s."""
    with _wired(source_url, auth_string, connections, client) as wired:
        yield Importer(
            wired.source,
            BatchTables(wired.client, wired.executor),
            open_checkpoint(wired.source.api_url, settings, wired.client),
            settings,
            wired.executor,
            clock,
            progress,
        )


@contextmanager
def open_verifier(
    source_url: str,
    settings: Settings,
    auth_string: str | None = None,
    connections: int = CONNECTIONS,
    progress: Progress | None = None,
    client: "DynamoDBClient | None" = None,
    clock: Clock = utc_now,
) -> Iterator[Verifier]:
    """A verifier of the copy of `source_url` in the tables `settings` name (as
    `open_importer`), reading the copy through the service's own repositories."""
    with _wired(source_url, auth_string, connections, client) as wired:
        repositories: dict[RunKind, StateRepository] = {
            kind: DynamoDBStateRepository(
                kind.table, settings.table(kind.table).name, wired.client, clock
            )
            for kind in KINDS
        }
        yield Verifier(
            wired.source,
            BatchTables(wired.client, wired.executor),
            repositories,
            DynamoDBRecordStore(settings.record_table_names(), wired.client, clock),
            settings,
            wired.executor,
            clock,
            progress,
        )
