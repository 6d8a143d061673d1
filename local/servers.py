"""Servers on free loopback ports, each stopped by its own handle: for the tests and the
benchmarks."""

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from api.settings import DYNAMODB_ENDPOINT_VARIABLE
from local.paths import PROJECT

_PR_SET_PDEATHSIG = 1  # prctl(2)


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
    command: list[str],
    health_url: str,
    env: Mapping[str, str] | None = None,
    timeout: float = 30,
) -> Iterator[subprocess.Popen[bytes]]:
    """A server process, once it answers at `health_url`; stopped by its own handle.

    It runs in a process group of its own, so that a terminal's Ctrl-C reaches only the
    process that started it, which stops it after its own shutdown; and it gets SIGTERM
    when that process ends however it ends, so that no server outlives it.
    """
    with tempfile.TemporaryFile() as output:
        process = subprocess.Popen(
            command,
            cwd=PROJECT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_terminate_with_parent,
        )
        try:
            try:
                wait_until_answering(health_url, process, timeout)
            except (RuntimeError, TimeoutError) as error:
                output.seek(0)
                raise RuntimeError(f"{error}:\n{output.read().decode(errors='replace')}") from None
            yield process
        finally:
            _stop(process)


def _terminate_with_parent() -> None:
    """In the child, before it runs the server: SIGTERM once its parent ends (Linux)."""
    if sys.platform == "linux":
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the server's process group, then SIGKILL if it has not ended in 10 s."""
    for stop_signal in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, stop_signal)
        try:
            process.wait(timeout=10)
            return
        except subprocess.TimeoutExpired:
            continue


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
def run_states_service(dynamodb_endpoint: str, **environment: str) -> Iterator[str]:
    """`python -m local.serve` (what `make serve` runs) against a DynamoDB endpoint;
    yields the service's PREFECT_API_URL."""
    port = free_port()
    env = {
        **os.environ,
        "PORT": str(port),
        DYNAMODB_ENDPOINT_VARIABLE: dynamodb_endpoint,
        **environment,
    }
    api_url = f"http://127.0.0.1:{port}/api"
    with serving([sys.executable, "-m", "local.serve"], f"{api_url}/health", env):
        yield api_url


PREFECT_VENV = PROJECT / ".tools" / "prefect" / "bin"


@contextmanager
def prefect_server(
    home: Path, auth_string: str | None = None, settings: Mapping[str, str] | None = None
) -> Iterator[str]:
    """A Prefect 3.9.1 server (`make` installs it in .tools/prefect) on SQLite in `home`, with
    no analytics and no UI; yields its API URL. `auth_string` turns its auth on; `settings`
    are more of its PREFECT_* variables."""
    if not (PREFECT_VENV / "prefect").exists():
        raise RuntimeError(
            f"{PREFECT_VENV / 'prefect'} is missing: run `make .tools/prefect/bin/prefect`"
        )
    port = free_port()
    env = {
        **prefect_environment(home, auth_string),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_UI_ENABLED": "false",
        **({"PREFECT_SERVER_API_AUTH_STRING": auth_string} if auth_string else {}),
        **(settings or {}),
    }
    command = [str(PREFECT_VENV / "prefect"), "server", "start", "--host", "127.0.0.1"]
    api_url = f"http://127.0.0.1:{port}/api"
    with serving([*command, "--port", str(port)], f"{api_url}/health", env, timeout=90):
        yield api_url


# How often a write to Prefect's API is asked after 503s, a second apart.
PREFECT_ATTEMPTS = 5


def post_retrying_unavailable(http: httpx.Client, path: str, body: dict[str, Any]) -> Any:
    """What a POST to Prefect's API answered, asked again after a 503 as Prefect's own client
    does: a Prefect server answers 503 where its SQLite stays locked (its own services write
    too), which a busy machine makes likelier."""
    for attempt in range(PREFECT_ATTEMPTS):
        answer = http.post(path, json=body)
        if answer.status_code != 503 or attempt == PREFECT_ATTEMPTS - 1:
            return answer.raise_for_status().json()
        time.sleep(1)
    raise AssertionError("unreachable")


def prefect_environment(
    home: Path, auth_string: str | None = None, api_url: str | None = None
) -> dict[str, str]:
    """The environment of a Prefect process: its own home, and none of the user's settings."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("PREFECT_")}
    env["PREFECT_HOME"] = str(home)
    if api_url:
        env["PREFECT_API_URL"] = api_url
    if auth_string:
        env["PREFECT_API_AUTH_STRING"] = auth_string
    return env


PREFECT_FLOWS = PROJECT / "tests" / "prefect_flows.py"


def prefect_flows_command(*arguments: str) -> list[str]:
    """tests/prefect_flows.py with the Prefect venv's python."""
    return [str(PREFECT_VENV / "python"), str(PREFECT_FLOWS), *arguments]


def run_prefect_flows(
    api_url: str, home: Path, *arguments: str, auth_string: str | None = None
) -> str:
    """tests/prefect_flows.py with the Prefect venv's python, its runs recorded at `api_url`;
    returns what it printed (Prefect's own logs go to stderr)."""
    result = subprocess.run(
        prefect_flows_command(*arguments),
        env=prefect_environment(home, auth_string, api_url),
        cwd=home,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"{PREFECT_FLOWS.name} {' '.join(arguments)} failed:\n{result.stderr[-3000:]}"
        )
    return result.stdout
