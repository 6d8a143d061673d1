"""What the routes are built with: the settings, the clock, and one repository per table.

Storage and time are injected here, and only here: the app factory takes a
`RepositoryProvider` (DynamoDB unless a test or benchmark gives another) and a `Clock` (the
system's unless a test gives another), as it takes the settings.
"""

from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING

from api.clock import Clock, utc_now
from api.runs import RunKind
from api.settings import Settings
from storage.repository import StateRepository
from storage.table_shapes import StateTable

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from storage.record_reader import RecordReader
    from storage.records import DynamoDBRecordStore

# Gives the repository of a table, named as the settings name it, reading `Clock`.
RepositoryProvider = Callable[[StateTable, str, Clock], StateRepository]


def dynamodb_repository(table: StateTable, name: str, clock: Clock) -> StateRepository:
    """The deployed provider: the table on the process's one DynamoDB client, made on
    first use."""
    # Imported here, so that a function serving no state route never loads botocore; one
    # that does loads it at init, where the routes are built.
    from storage.dynamodb import DynamoDBStateRepository, dynamodb_client

    return DynamoDBStateRepository(table, name, dynamodb_client, clock)


# Makes the DynamoDB client the archived records are read on (on first use).
RecordClient = Callable[[], "DynamoDBClient"]


def dynamodb_record_client() -> "DynamoDBClient":
    """The deployed client: the process's one, as the state repositories use."""
    from storage.dynamodb import dynamodb_client

    return dynamodb_client()


class Services:
    def __init__(
        self,
        settings: Settings,
        repositories: RepositoryProvider = dynamodb_repository,
        clock: Clock = utc_now,
        record_client: RecordClient = dynamodb_record_client,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self._provide = repositories
        self._repositories: dict[StateTable, StateRepository] = {}
        self._record_client = record_client

    def repository(self, kind: RunKind) -> StateRepository:
        """The kind's repository: one per table, shared by every route of the app."""
        table = kind.table
        if table not in self._repositories:
            self._repositories[table] = self._provide(
                table, self.settings.table(table).name, self.clock
            )
        return self._repositories[table]

    def retention(self, kind: RunKind) -> timedelta | None:
        return self.settings.table(kind.table).retention

    def record_reader(self) -> "RecordReader":
        """Reads archived records by id. Its module, unlike `records`', loads no query
        models: a function reading by id starts as fast as a state function."""
        from storage.record_reader import RecordReader

        return RecordReader(self.settings.record_table_names(), self._record_client, self.clock)

    def records(self) -> "DynamoDBRecordStore":
        """Finds and counts archived records as Prefect's queries ask."""
        from storage.records import DynamoDBRecordStore

        return DynamoDBRecordStore(
            self.settings.record_table_names(), self._record_client, self.clock
        )
