"""What the routes are built with: the settings, the clock, and one repository per table.

Storage and time are injected here, and only here: the app factory takes a
`RepositoryProvider` (DynamoDB unless a test or benchmark gives another) and a `Clock` (the
system's unless a test gives another), as it takes the settings.
"""

from collections.abc import Callable
from datetime import timedelta

from api.clock import Clock, utc_now
from api.runs import RunKind
from api.settings import Settings
from storage.repository import StateRepository
from storage.table_shapes import StateTable

# Gives the repository of a table, named as the settings name it, reading `Clock`.
RepositoryProvider = Callable[[StateTable, str, Clock], StateRepository]


def dynamodb_repository(table: StateTable, name: str, clock: Clock) -> StateRepository:
    """The deployed provider: the table on the process's one DynamoDB client, made on
    first use."""
    # Imported here, so that a function serving no state route never loads botocore; one
    # that does loads it at init, where the routes are built.
    from storage.dynamodb import DynamoDBStateRepository, dynamodb_client

    return DynamoDBStateRepository(table, name, dynamodb_client, clock)


class Services:
    def __init__(
        self,
        settings: Settings,
        repositories: RepositoryProvider = dynamodb_repository,
        clock: Clock = utc_now,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self._provide = repositories
        self._repositories: dict[StateTable, StateRepository] = {}

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
