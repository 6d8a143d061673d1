"""`sam local`, for real: the built bundle in SAM's own emulator, each function in a container,
on DynamoDB Local in a container beside them. `make local-api` and `make invoke WITH=sam` run

    python -m local.sam_local [--build-dir DIR] start-api   # on $PORT, 3000 by default
    python -m local.sam_local [--build-dir DIR] invoke FUNCTION EVENT

after a `sam build` for this machine's architecture into DIR (`.aws-sam/local` by default);
the tests use the same `build` and `sam_local`.

- A Docker engine: the one running, else a `dockerd` started here (`local.docker_engine`).
- The images: AWS's, where they are here or can be pulled; else (no registry reached) the
  offline one of `local.lambda_image` (`local.container_images`).
- A docker network of the run's own, holding DynamoDB Local (`-inMemory -sharedDb`, the
  template's tables) and the functions' containers, which reach it as http://dynamodb:8000.
  The host reaches DynamoDB Local and the API on 127.0.0.1 only. At the end, every container
  on the network is removed (SAM's included), then the network.
"""

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from api.settings import (
    DYNAMODB_ENDPOINT_VARIABLE,
    RECORD_TABLE_VARIABLES,
    TABLE_VARIABLES,
    Settings,
)
from local.container_images import DYNAMODB_PORT, ContainerImages, container_images
from local.database import LOCAL_AWS_SETTINGS, LOCAL_CREDENTIALS
from local.docker_engine import docker, docker_engine
from local.paths import PROJECT
from local.servers import wait_until_answering
from local.template_tables import create_tables
from storage.clients import aws_client
from storage.table_shapes import FLOW_RUN_STATES, TASK_RUN_STATES

if TYPE_CHECKING:
    pass

SAM = os.environ.get("SAM") or str(PROJECT / ".tools" / "sam" / "bin" / "sam")
DYNAMODB_HOST = "dynamodb"  # DynamoDB Local's name on the run's network
START_SECONDS = 300  # `start-api --warm-containers EAGER` starts every function first
LOCAL_BUILD_DIR = PROJECT / ".aws-sam" / "local"


def host_architecture() -> str:
    """Lambda's name for this machine's architecture: the one SAM's emulator runs here."""
    return "arm64" if platform.machine() in ("aarch64", "arm64") else "x86_64"


def build(build_dir: Path, architecture: str, output: IO[bytes] | int | None = None) -> None:
    """`make build` (sam build) for `architecture` into `build_dir`; its output to `output`."""
    subprocess.run(
        [
            "make",
            "--no-print-directory",
            "build",
            f"BUILD_DIR={build_dir}",
            f"ARCHITECTURE={architecture}",
        ],
        cwd=PROJECT,
        stdout=output,
        stderr=subprocess.STDOUT if output else None,
        check=True,
    )


@contextmanager
def docker_network() -> Iterator[str]:
    """A docker network of this run's own; every container on it is removed with it."""
    name = f"prefect-run-states-{uuid.uuid4().hex[:12]}"
    docker("network", "create", name)
    try:
        yield name
    finally:
        attached = docker(
            "network",
            "inspect",
            "--format",
            "{{range $id, $_ := .Containers}}{{$id}} {{end}}",
            name,
        )
        if attached.split():
            docker("rm", "--force", "--volumes", *attached.split())
        docker("network", "rm", name)


@contextmanager
def dynamodb_local_container(network: str, images: ContainerImages) -> Iterator[str]:
    """DynamoDB Local on `network`, with the template's tables: its endpoint on 127.0.0.1."""
    container = docker(
        *("run", "--detach", "--network", network, "--network-alias", DYNAMODB_HOST),
        *("--publish", f"127.0.0.1::{DYNAMODB_PORT}", *images.dynamodb_local),
    )
    try:
        host_port = docker("port", container, str(DYNAMODB_PORT)).splitlines()[0]
        endpoint = f"http://{host_port}"
        client = aws_client("dynamodb", endpoint=endpoint, credentials=LOCAL_CREDENTIALS)
        wait_until_answering(endpoint, timeout=START_SECONDS)
        create_tables(client, Settings())
        yield endpoint
    finally:
        docker("rm", "--force", "--volumes", container)


@dataclass(frozen=True)
class SamLocal:
    """What `sam local` runs on: a built bundle, its images, and the run's network with
    DynamoDB Local on it (`dynamodb_endpoint`, for the host)."""

    build_dir: Path
    architecture: str
    images: ContainerImages
    network: str
    environment_file: Path
    dynamodb_endpoint: str

    def command(self, *arguments: str) -> list[str]:
        return [
            *(SAM, "local", *arguments, "--template", str(self.build_dir / "template.yaml")),
            *("--parameter-overrides", f"Architecture={self.architecture}"),
            *("--env-vars", str(self.environment_file), "--docker-network", self.network),
            *("--container-host", "127.0.0.1", "--container-host-interface", "127.0.0.1"),
            *self.images.sam_options,
        ]

    def invoke(self, function: str, event: Path) -> dict[str, Any]:
        """`sam local invoke` of one function on one event: the Lambda response."""
        result = subprocess.run(
            self.command("invoke", function, "--event", str(event)),
            env=_sam_environment(),
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"sam local invoke {function} failed:\n{result.stderr}")
        response: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
        return response

    @contextmanager
    def api(self, port: int, output: IO[bytes] | None = None) -> Iterator[str]:
        """`sam local start-api` on 127.0.0.1:`port` until the block ends: the API's URL.
        Its output goes to `output` (None: this process's)."""
        process = subprocess.Popen(
            [*self.command("start-api"), "--port", str(port), "--warm-containers", "EAGER"],
            env=_sam_environment(),
            stdout=output,
            stderr=subprocess.STDOUT if output else None,
            start_new_session=True,  # stopped by this process, after Ctrl-C reached it
            # SAM removes its containers on Ctrl-C, unless SIGINT comes in ignored (as for
            # anything started with `&` from a script): Python then never installs its handler.
            preexec_fn=_hear_sigint,
        )
        api_url = f"http://127.0.0.1:{port}/api"
        try:
            wait_until_answering(f"{api_url}/health", process, timeout=START_SECONDS)
            yield api_url
        finally:
            process.send_signal(signal.SIGINT)  # SAM stops its warm containers on Ctrl-C
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _hear_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


# SAM asks AWS's STS for the account id whenever it finds credentials (a call that cannot
# leave this machine here, and costs 8-11 s of retries per invoke), and hands them to the
# containers. Without any, it takes its default account and gives the functions dummy keys,
# which DynamoDB Local (-sharedDb) accepts.
_AWS_IDENTITY = (
    *("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"),
    *("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"),
    *("AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN"),
)
_NO_AWS_IDENTITY = {
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,  # no profile of the user's
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",  # no instance metadata lookup either
}


def _sam_environment() -> dict[str, str]:
    environment = {name: value for name, value in os.environ.items() if name not in _AWS_IDENTITY}
    return {
        **environment,
        **_NO_AWS_IDENTITY,
        "SAM_CLI_TELEMETRY": "0",
        "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION")
        or LOCAL_AWS_SETTINGS["AWS_DEFAULT_REGION"],
    }


@contextmanager
def sam_local(build_dir: Path, architecture: str) -> Iterator[SamLocal]:
    """Everything `sam local` needs for the bundle in `build_dir`, until the block ends."""
    with ExitStack() as stack:
        stack.enter_context(docker_engine())
        images = container_images(architecture)
        network = stack.enter_context(docker_network())
        endpoint = stack.enter_context(dynamodb_local_container(network, images))
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="sam-local-")))
        environment_file = scratch / "environment.json"
        # Variables the template declares, as every function sees them here.
        settings = Settings()
        variables = {
            DYNAMODB_ENDPOINT_VARIABLE: f"http://{DYNAMODB_HOST}:{DYNAMODB_PORT}",
            **{
                TABLE_VARIABLES[table].name: settings.table(table).name
                for table in (FLOW_RUN_STATES, TASK_RUN_STATES)
            },
            **{
                RECORD_TABLE_VARIABLES[table].name: name
                for table, name in settings.record_table_names().items()
            },
        }
        environment_file.write_text(json.dumps({"Parameters": variables}))
        yield SamLocal(build_dir, architecture, images, network, environment_file, endpoint)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build-dir", type=Path, default=LOCAL_BUILD_DIR, help="sam build's")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("start-api", help="serve the API on http://127.0.0.1:$PORT/api")
    invoke = commands.add_parser("invoke", help="run one function on one event")
    invoke.add_argument("function")
    invoke.add_argument("event", type=Path)
    arguments = parser.parse_args()
    for stop in (signal.SIGINT, signal.SIGTERM):  # each cleans up as Ctrl-C does, even if
        signal.signal(stop, signal.default_int_handler)  # it came in ignored
    architecture = host_architecture()
    build(arguments.build_dir, architecture, sys.stderr.fileno())  # stdout: the response alone
    with sam_local(arguments.build_dir, architecture) as run:
        print(
            f"Lambda image: {run.images.choice}; DynamoDB Local on {run.network}", file=sys.stderr
        )
        if arguments.command == "invoke":
            print(json.dumps(run.invoke(arguments.function, arguments.event)))
            return
        port = int(os.environ.get("PORT") or 3000)
        with run.api(port) as api_url:
            print(f"PREFECT_API_URL={api_url}  (Ctrl-C stops it)", file=sys.stderr)
            try:
                signal.pause()
            except KeyboardInterrupt:
                print("Stopping: removing the containers and the network", file=sys.stderr)


if __name__ == "__main__":
    main()
