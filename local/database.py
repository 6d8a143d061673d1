"""The DynamoDB of a local run (`make serve`, `make invoke`), with the template's tables."""

import os
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from api.settings import DYNAMODB_ENDPOINT_VARIABLE, Settings
from local.paths import PROJECT
from storage.clients import LocalCredentials

# Every local setting needs a region and credentials, even when they are dummies.
LOCAL_AWS_SETTINGS = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
}
# The same, for a client given them rather than reading the environment.
LOCAL_CREDENTIALS = LocalCredentials(
    region=LOCAL_AWS_SETTINGS["AWS_DEFAULT_REGION"],
    access_key_id=LOCAL_AWS_SETTINGS["AWS_ACCESS_KEY_ID"],
    secret_access_key=LOCAL_AWS_SETTINGS["AWS_SECRET_ACCESS_KEY"],
)
DATA_FOLDER_VARIABLE = "DYNAMODB_LOCAL_DIR"
IN_MEMORY_VARIABLE = "DYNAMODB_LOCAL_IN_MEMORY"
DEFAULT_DATA_FOLDER = PROJECT / ".dynamodb"  # git-ignored


@dataclass(frozen=True, slots=True)
class LocalDatabase:
    endpoint: str | None  # None: moto's, in this process
    description: str  # for a person: which database, and where its states are kept


def data_folder() -> Path | None:
    """Where `make serve`'s DynamoDB Local keeps its tables; None for in memory."""
    if os.environ.get(IN_MEMORY_VARIABLE, "").lower() in ("1", "true", "yes"):
        return None
    return Path(os.environ.get(DATA_FOLDER_VARIABLE) or DEFAULT_DATA_FOLDER).resolve()


def configured_endpoint() -> str | None:
    """The DynamoDB endpoint the environment names, as botocore reads it; None for AWS's."""
    return os.environ.get(DYNAMODB_ENDPOINT_VARIABLE) or os.environ.get("AWS_ENDPOINT_URL") or None


def use_local_aws_settings() -> None:
    """The dummy region and credentials, where the environment gives none."""
    for variable, value in LOCAL_AWS_SETTINGS.items():
        os.environ.setdefault(variable, value)


@contextmanager
def local_dynamodb(settings: Settings, *, dynamodb_local: bool = False) -> Iterator[LocalDatabase]:
    """The DynamoDB that AWS_ENDPOINT_URL_DYNAMODB (or AWS_ENDPOINT_URL) names, if set.
    Otherwise, with `dynamodb_local`, AWS's DynamoDB Local while the block runs (in
    `data_folder()`), or moto's in this process where Java is missing; else moto's.
    Either way, the tables `settings` name are created from `template.yaml` if missing."""
    use_local_aws_settings()
    endpoint = configured_endpoint()
    with ExitStack() as stack:
        if endpoint is not None:
            named = f"DynamoDB at {endpoint} ({DYNAMODB_ENDPOINT_VARIABLE})"
            database = LocalDatabase(endpoint, named)
        else:
            database = (dynamodb_local and _start_dynamodb_local(stack)) or _start_moto(stack)
        from local.template_tables import create_tables
        from storage.dynamodb import dynamodb_client

        create_tables(dynamodb_client(), settings)
        yield database


def _start_dynamodb_local(stack: ExitStack) -> LocalDatabase | None:
    from local.dynamodb_local import DynamoDBLocalMissing, dynamodb_local

    folder = data_folder()
    try:
        endpoint = stack.enter_context(dynamodb_local(folder))
    except DynamoDBLocalMissing as missing:
        print(
            f"warning: {missing}: serving on moto in memory instead, which forgets every "
            "state when it stops and lists a run's states several times slower",
            file=sys.stderr,
        )
        return None
    os.environ[DYNAMODB_ENDPOINT_VARIABLE] = endpoint  # where the service's client connects
    kept = "in memory, until it stops" if folder is None else f"in {folder}, kept across restarts"
    return LocalDatabase(endpoint, f"DynamoDB Local at {endpoint}, its tables {kept}")


def _start_moto(stack: ExitStack) -> LocalDatabase:
    from moto import mock_aws

    stack.enter_context(mock_aws())
    return LocalDatabase(None, "moto's in-memory DynamoDB, in this process, until it stops")
