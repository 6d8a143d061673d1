"""What the routes are built with: the settings, and one repository per table.

Storage is injected here, and only here: the app factory takes a `RepositoryProvider`
(DynamoDB unless a test or benchmark gives another), as it takes the settings.
"""

from collections.abc import Callable
from datetime import timedelta

from api.runs import RunKind
from api.settings import Settings
from storage.repository import StateRepository
from storage.tables import StateTable

# Gives the repository of a table, named as the settings name it.
RepositoryProvider = Callable[[StateTable, str], StateRepository]


def dynamodb_repository(table: StateTable, name: str) -> StateRepository:
    """The deployed provider: the table on the process's one DynamoDB client, made on
    first use."""
    # Imported here, so that a function serving no state route never loads botocore; one
    # that does loads it at init, where the routes are built.
    from storage.dynamodb import DynamoDBStateRepository, dynamodb_client

    return DynamoDBStateRepository(table, name, dynamodb_client)


class Services:
    def __init__(
        self, settings: Settings, repositories: RepositoryProvider = dynamodb_repository
    ) -> None:
        self.settings = settings
        self._provide = repositories
        self._repositories: dict[StateTable, StateRepository] = {}

    def repository(self, kind: RunKind) -> StateRepository:
        """The kind's repository: one per table, shared by every route of the app."""
        table = kind.table
        if table not in self._repositories:
            self._repositories[table] = self._provide(table, self.settings.table(table).name)
        return self._repositories[table]

    def retention(self, kind: RunKind) -> timedelta | None:
        return self.settings.table(kind.table).retention
