"""`make serve`'s entry point over real HTTP, on a DynamoDB reached over the network."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from local.servers import free_port, wait_until_answering
from tests.helpers import API_VERSION_HEADER, new_id

pytestmark = pytest.mark.slow  # `make serve`'s process


def test_the_service_answers_over_http(live_api_url: str) -> None:
    run_id = new_id()
    with httpx.Client(base_url=live_api_url, headers={"X-Prefect-Api-Version": "0.8.4"}) as http:
        assert http.get("/health").json() is True
        created = http.post(f"/flow_runs/{run_id}/set_state", json={"state": {"type": "RUNNING"}})
        assert created.status_code == 201
        listed = http.get("/flow_run_states", params={"flow_run_id": run_id})
        assert listed.json() == [created.json()["state"]]


def _serve(
    data: Path, stderr: int = subprocess.DEVNULL, **environment: str
) -> subprocess.Popen[str]:
    """`python -m local.serve` on its own DynamoDB Local, keeping its tables in `data`."""
    env = {**os.environ, "PORT": str(free_port()), "DYNAMODB_LOCAL_DIR": str(data), **environment}
    env.pop("AWS_ENDPOINT_URL_DYNAMODB", None)
    return subprocess.Popen(
        [sys.executable, "-m", "local.serve"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
    )


def _started(service: subprocess.Popen[str]) -> tuple[str, list[str]]:
    """Its PREFECT_API_URL once it answers, and the lines it printed before it."""
    assert service.stdout is not None
    printed = []
    while not (line := service.stdout.readline()).startswith("PREFECT_API_URL="):
        assert line, "make serve exited before it printed its PREFECT_API_URL"
        printed.append(line.strip())
    api_url = line.strip().split("=", 1)[1]
    wait_until_answering(f"{api_url}/health")
    return api_url, printed


def _children(pid: int) -> set[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return set(map(int, children))


def _gone(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"  # a zombie awaits init
    except FileNotFoundError:
        return True


def test_states_survive_a_restart_and_no_jvm_outlives_make_serve(tmp_path: Path) -> None:
    """Stopped by SIGTERM, then Ctrl-C's SIGINT, then SIGKILL: each time the JVM goes too,
    and each start lists what the ones before it stored."""
    run_id = new_id()
    states = []
    for stop in (signal.SIGTERM, signal.SIGINT, signal.SIGKILL):
        service = _serve(tmp_path)
        try:
            api_url, printed = _started(service)
            assert f"in {tmp_path}, kept across restarts" in printed[0]
            assert printed[1].startswith("AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:")
            (jvm,) = _children(service.pid)
            with httpx.Client(base_url=api_url, headers=API_VERSION_HEADER) as http:
                proposal = {"state": {"type": "RUNNING"}}
                states.append(http.post(f"/flow_runs/{run_id}/set_state", json=proposal).json())
                listed = http.get("/flow_run_states", params={"flow_run_id": run_id}).json()
            assert listed == [state["state"] for state in states]
        finally:
            service.send_signal(stop)
            service.wait(timeout=60)
        deadline = time.monotonic() + 30
        while not _gone(jvm) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _gone(jvm), f"DynamoDB Local outlived make serve stopped by {stop.name}"


def test_without_java_make_serve_warns_and_serves_on_moto(tmp_path: Path) -> None:
    service = _serve(tmp_path, stderr=subprocess.PIPE, PATH=str(tmp_path))  # no `java` there
    try:
        api_url, printed = _started(service)
        assert printed == ["Database: moto's in-memory DynamoDB, in this process, until it stops"]
        assert httpx.get(f"{api_url}/health").json() is True
        assert service.stderr is not None
        assert service.stderr.readline() == (
            "warning: no `java` on PATH (DynamoDB Local needs Java 17 or later): serving on moto "
            "in memory instead, which forgets every state when it stops and lists a run's "
            "states several times slower\n"
        )
    finally:
        service.terminate()
        service.wait(timeout=30)
    assert not any(tmp_path.iterdir())
