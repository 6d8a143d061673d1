"""Every AWS client the project makes, made here with the one timeout and retry policy.

A plain botocore session skips boto3's import of s3transfer. Unless `endpoint` is given, a
client's endpoint follows `AWS_ENDPOINT_URL_DYNAMODB` / `AWS_ENDPOINT_URL`, as boto3's does.
"""

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, cast, get_args, overload

import botocore.session
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_ssm import SSMClient

# Bounded so that a call gives up, and the function answers 503, well inside the Lambda
# timeout rather than being cut off by it: a few attempts, each with short connect and read
# timeouts, and standard-mode backoff between them. tests/test_faults.py holds the worst
# case these settings allow against the template's Timeout.
CLIENT_CONFIG = Config(
    connect_timeout=1,
    read_timeout=2,
    retries={"mode": "standard", "total_max_attempts": 3},
)
# Every service the project makes clients of: the bundle keeps botocore's data for these alone.
Service = Literal["dynamodb", "secretsmanager", "ssm"]
SERVICES = frozenset(get_args(Service))

# A bulk copy (the importer) can wait out throttling that an API call, answering within its
# Lambda's timeout, cannot: the same timeouts, more attempts.
BULK_ATTEMPTS = 10
DEFAULT_CONNECTIONS = 10  # botocore's own pool size


@overload
def aws_client(
    service: Literal["dynamodb"],
    *,
    endpoint: str | None = None,
    connections: int = DEFAULT_CONNECTIONS,
    bulk: bool = False,
    credentials: "LocalCredentials | None" = None,
    read_timeout: float | None = None,
) -> "DynamoDBClient": ...


@overload
def aws_client(
    service: Literal["secretsmanager"],
    *,
    endpoint: str | None = None,
    connections: int = DEFAULT_CONNECTIONS,
    bulk: bool = False,
    credentials: "LocalCredentials | None" = None,
    read_timeout: float | None = None,
) -> "SecretsManagerClient": ...


@overload
def aws_client(
    service: Literal["ssm"],
    *,
    endpoint: str | None = None,
    connections: int = DEFAULT_CONNECTIONS,
    bulk: bool = False,
    credentials: "LocalCredentials | None" = None,
    read_timeout: float | None = None,
) -> "SSMClient": ...


def aws_client(
    service: Service,
    *,
    endpoint: str | None = None,
    connections: int = DEFAULT_CONNECTIONS,
    bulk: bool = False,
    credentials: "LocalCredentials | None" = None,
    read_timeout: float | None = None,
) -> "DynamoDBClient | SecretsManagerClient | SSMClient":
    """A new client of `service`: at `endpoint` (else the environment's or AWS's), with a
    pool of `connections`, `bulk`'s attempts where set, and `credentials` where given (else
    the environment's), and `read_timeout` instead of the API's where given (a bench loading
    DynamoDB Local on a busy machine, where a write may wait seconds)."""
    config = CLIENT_CONFIG.merge(Config(max_pool_connections=connections))
    if read_timeout is not None:
        config = config.merge(Config(read_timeout=read_timeout))
    if bulk:
        config = config.merge(
            Config(retries={"mode": "standard", "total_max_attempts": BULK_ATTEMPTS})
        )
    session = botocore.session.get_session()
    client = session.create_client(
        service,
        endpoint_url=endpoint,
        config=config,
        region_name=credentials.region if credentials else None,
        aws_access_key_id=credentials.access_key_id if credentials else None,
        aws_secret_access_key=credentials.secret_access_key if credentials else None,
    )
    return cast("DynamoDBClient | SecretsManagerClient | SSMClient", client)


@dataclass(frozen=True, slots=True)
class LocalCredentials:
    """A region and credentials for an emulator, given to its client rather than read from
    the environment."""

    region: str
    access_key_id: str
    secret_access_key: str


type DynamoDBClientSource = DynamoDBClient | Callable[[], DynamoDBClient]


class DynamoDBOnFirstUse:
    """Holds a DynamoDB client, or a function that makes it on first use (`_client`).

    A function is built at init, its client made by its first request: a process that never
    reads makes none, and under SnapStart none is frozen into the snapshot with the
    credentials it holds."""

    def __init__(self, client: DynamoDBClientSource) -> None:
        self._client_source = client

    @functools.cached_property
    def _client(self) -> "DynamoDBClient":
        source = self._client_source
        return source() if callable(source) else source
