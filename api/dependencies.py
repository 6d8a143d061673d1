"""Which repository a route uses: DynamoDB, unless a test or benchmark overrides it."""

import functools
from collections.abc import Awaitable, Callable

from storage.dynamodb import DynamoDBStateRepository, dynamodb_client
from storage.repository import StateRepository
from storage.tables import StateTable


@functools.cache
def dynamodb_repository(table: StateTable) -> DynamoDBStateRepository:
    return DynamoDBStateRepository(table, dynamodb_client())


@functools.cache
def repository_for(table: StateTable) -> Callable[[], Awaitable[StateRepository]]:
    """The FastAPI dependency giving a table's repository, made on first use.

    Being cached, it is one callable per table, which `app.dependency_overrides` can replace.
    """

    async def provide() -> StateRepository:
        return dynamodb_repository(table)

    return provide
