"""An importer wired to its source, to the service's tables and to a clock, for the command
line, the scheduled function, the tests and the benchmark alike."""

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import TYPE_CHECKING

from api.clock import Clock, utc_now
from api.settings import Settings
from importer.checkpoint import SourceCheckpoint
from importer.passes import Importer
from importer.progress import Progress
from importer.source import PrefectSource
from storage.batch import BatchTables
from storage.checkpoints import CheckpointStore
from storage.clients import aws_client
from storage.table_shapes import CHECKPOINT_TABLE

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# Runs whose states are read at once, and DynamoDB batches written at once: on two cores,
# more only queue behind the source's own workers.
CONNECTIONS = 8


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
    source = PrefectSource(source_url, auth_string, connections)
    try:
        source.check_version()
        client = client or aws_client("dynamodb", connections=connections, bulk=True)
        checkpoints = CheckpointStore(client, settings.table(CHECKPOINT_TABLE).name)
        with ThreadPoolExecutor(connections, thread_name_prefix="import") as executor:
            yield Importer(
                source,
                BatchTables(client, executor),
                SourceCheckpoint(checkpoints, source.api_url),
                settings,
                executor,
                clock,
                progress,
            )
    finally:
        source.close()
