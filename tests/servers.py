"""Real servers for tests, on free loopback ports, each stopped by its own handle."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

PROJECT = Path(__file__).resolve().parent.parent
DYNALITE = PROJECT / "node_modules" / ".bin" / "dynalite"


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
def moto_server() -> Iterator[str]:
    """moto's DynamoDB in server mode; yields its endpoint URL.

    In a process of its own: moto keeps its data in module globals, and every in-process
    `mock_aws()` that ends resets them, which would empty a server in this process.
    """
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        wait_until_answering(endpoint, process)
        yield endpoint
    finally:
        stop(process)


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop a server this module started, by its own handle."""
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    if process.stderr is not None:
        process.stderr.close()


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
    # Tables become ACTIVE at once (the `table_exists` waiter still sees CREATING first).
    immediate_tables = ["--createTableMs", "0", "--deleteTableMs", "0"]
    process = subprocess.Popen(
        [DYNALITE, "--host", "127.0.0.1", "--port", str(port), *immediate_tables],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        wait_until_answering(endpoint, process)
        yield endpoint
    finally:
        stop(process)


@contextmanager
def run_states_service(dynamodb_endpoint: str, **environment: str) -> Iterator[str]:
    """`python -m local.serve` (what `make serve` runs) against a DynamoDB endpoint;
    yields the service's PREFECT_API_URL."""
    port = free_port()
    env = {
        **os.environ,
        "PORT": str(port),
        "AWS_ENDPOINT_URL_DYNAMODB": dynamodb_endpoint,
        # Its stderr is a pipe nobody reads while it runs: a line per request would fill it.
        "LOG_LEVEL": "WARNING",
        **environment,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "local.serve"],
        cwd=PROJECT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    api_url = f"http://127.0.0.1:{port}/api"
    try:
        wait_until_answering(f"{api_url}/health", process)
        yield api_url
    finally:
        stop(process)
        if process.stderr is not None:
            process.stderr.close()
