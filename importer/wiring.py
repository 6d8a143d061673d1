"""An importer wired to its source and to the service's tables, for the command line, the
scheduled function, the tests and the benchmark alike."""

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import TYPE_CHECKING

from api.settings import Settings
from importer.checkpoint import CheckpointStore
from importer.passes import Importer
from importer.progress import Progress
from importer.source import PrefectSource
from importer.tables import StateTables, importer_client
from storage.table_shapes import FLOW_RUN_STATES

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
) -> Iterator[Importer]:
    """An importer from the Prefect server at `source_url`, once it is known to be a Prefect 3
    server (else a SourceError), into the tables `settings` name, with their retention
    periods, on the DynamoDB of `AWS_ENDPOINT_URL_DYNAMODB` (else AWS) or `client`'s."""
    source = PrefectSource(source_url, auth_string, connections)
    try:
        source.check_version()
        client = client or importer_client(connections)
        with ThreadPoolExecutor(connections, thread_name_prefix="import") as executor:
            yield Importer(
                source,
                StateTables(client, executor, settings),
                CheckpointStore(client, settings.table(FLOW_RUN_STATES).name, source.api_url),
                settings,
                executor,
                progress,
            )
    finally:
        source.close()
