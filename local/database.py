"""The DynamoDB of a local run (`make serve`, `make invoke`), with the template's tables."""

import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

# Every local setting needs a region and credentials, even when they are dummies.
LOCAL_AWS_SETTINGS = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
}


@contextmanager
def local_dynamodb() -> Iterator[str | None]:
    """moto's in-memory DynamoDB while the block runs, unless AWS_ENDPOINT_URL_DYNAMODB (or
    AWS_ENDPOINT_URL) names another; either way, missing tables are created from
    `template.yaml`. Yields that endpoint, or None for moto's."""
    for variable, value in LOCAL_AWS_SETTINGS.items():
        os.environ.setdefault(variable, value)
    endpoint = os.environ.get("AWS_ENDPOINT_URL_DYNAMODB") or os.environ.get("AWS_ENDPOINT_URL")
    with ExitStack() as stack:
        if endpoint is None:
            from moto import mock_aws

            stack.enter_context(mock_aws())
        from api.settings import Settings
        from local.tables import create_tables
        from storage.dynamodb import dynamodb_client

        create_tables(dynamodb_client(), Settings.from_environment())
        yield endpoint
