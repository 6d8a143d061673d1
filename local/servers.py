"""Servers on free loopback ports, each stopped by its own handle: for the tests and the
benchmarks."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import httpx

from local.paths import NODE_BIN, PROJECT

DYNALITE = NODE_BIN / "dynalite"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_until_answering(
    url: str, process: subprocess.Popen[bytes] | None = None, timeout: float = 30
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the server at {url} exited with {process.returncode}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing answered at {url} within {timeout} s")


@contextmanager
def serving(
    command: list[str], health_url: str, env: Mapping[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """A server process, once it answers at `health_url`; stopped by its own handle."""
    process = subprocess.Popen(
        command, cwd=PROJECT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_until_answering(health_url, process)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def moto_process() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """moto's DynamoDB in server mode, in a process of its own: its endpoint and process.

    Not in this process: `mock_aws()` (the `dynamodb` fixture) resets every moto backend
    of the process it runs in, which would wipe an in-process server's tables mid-session.
    """
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    with serving(command, endpoint) as process:
        yield endpoint, process


@contextmanager
def moto_server() -> Iterator[str]:
    """moto's DynamoDB in server mode; yields its endpoint URL."""
    with moto_process() as (endpoint, _):
        yield endpoint


@contextmanager
def dynalite_server() -> Iterator[str]:
    """dynalite, a second DynamoDB implementation, in memory; yields its endpoint URL.

    It holds to AWS where moto is lenient: it refuses a key attribute in a Query filter and
    a GSI key of the wrong type, gives `LastEvaluatedKey` when a last page is exactly full,
    and cuts items at AWS's 409,600 bytes. `make test` installs it with `npm ci`.
    """
    if not DYNALITE.exists():
        raise RuntimeError(f"{DYNALITE} is missing: run `npm ci` (make test does)")
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    # Tables become ACTIVE at once (the `table_exists` waiter still sees CREATING first).
    immediate_tables = ["--createTableMs", "0", "--deleteTableMs", "0"]
    command = [str(DYNALITE), "--host", "127.0.0.1", "--port", str(port), *immediate_tables]
    with serving(command, endpoint):
        yield endpoint


@contextmanager
def run_states_service(dynamodb_endpoint: str, **environment: str) -> Iterator[str]:
    """`python -m local.serve` (what `make serve` runs) against a DynamoDB endpoint;
    yields the service's PREFECT_API_URL."""
    port = free_port()
    env = {
        **os.environ,
        "PORT": str(port),
        "AWS_ENDPOINT_URL_DYNAMODB": dynamodb_endpoint,
        **environment,
    }
    api_url = f"http://127.0.0.1:{port}/api"
    with serving([sys.executable, "-m", "local.serve"], f"{api_url}/health", env):
        yield api_url
