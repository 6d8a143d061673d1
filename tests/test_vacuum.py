"""The archive's promise (issue 20): with a follower copying, Prefect's own vacuum deletes runs
it has copied, and every state of every deleted run still reads back, exactly as Prefect
served it, from the service as `make serve` runs it, through Prefect's own client.

Driven as a user drives it: `python -m importer SOURCE --follow` (`make import FOLLOW=1`) in
a process of its own, on moto's server and on DynamoDB Local, into the tables the service
reads (the test's own).
"""

import tests.prefect_client_home  # noqa: F401  (first: Prefect reads its settings on import)

# isort: split
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from prefect.client.orchestration import get_client
from prefect.settings import PREFECT_API_AUTH_STRING, PREFECT_API_URL, temporary_settings

from api.runs import FLOW_RUN, TASK_RUN, RunKind
from local.paths import PROJECT
from local.servers import run_states_service
from tests.prefect_histories import final_to_final, finished_flow_runs, vacuum
from tests.prefect_source import AUTH_STRING, Source
from tests.test_import import fresh_settings, table_environment

pytestmark = pytest.mark.slow

Runs = dict[RunKind, list[str]]


@pytest.fixture(params=["moto", "dynamodb_local"])
def dynamodb_endpoint(request: pytest.FixtureRequest) -> str:
    """A DynamoDB over HTTP holding the template's tables under their default names."""
    if request.param == "moto":
        endpoint: str = request.getfixturevalue("moto_tables")
        return endpoint
    client = request.getfixturevalue("dynamodb_local")
    local_endpoint: str = client.meta.endpoint_url
    return local_endpoint


@contextmanager
def follower(
    source: Source, dynamodb_endpoint: str, tables: dict[str, str]
) -> Iterator[subprocess.Popen[str]]:
    """`python -m importer SOURCE --follow` into the `tables` named, stopped by SIGTERM to
    its own PID, which it must answer by exiting 0."""
    environment = {
        **os.environ,
        **tables,
        "AWS_ENDPOINT_URL_DYNAMODB": dynamodb_endpoint,
        "SOURCE_AUTH_STRING": AUTH_STRING,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "importer", source.api_url, "--follow", "--interval", "0.2"],
        cwd=PROJECT,
        env=environment,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield process
        process.send_signal(signal.SIGTERM)
        _, errors = process.communicate(timeout=60)
        assert process.returncode == 0, errors
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def wait_for(what: str, condition: Callable[[], bool], process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 120
    while not condition():
        if process.poll() is not None:
            raise AssertionError(f"the follower exited: {process.communicate()[1][-3000:]}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within 120 s")
        time.sleep(0.2)


def served(api_url: str, kind: RunKind, run_id: str) -> list[dict[str, Any]]:
    """A run's states as the service serves them over HTTP."""
    path = kind.states_path.removeprefix("/api") + "/"
    with httpx.Client(base_url=api_url) as http:
        response = http.get(path, params={kind.run_id_field: run_id}).raise_for_status()
    states: list[dict[str, Any]] = response.json()
    return states


def source_record(source: Source, kind: RunKind, run_id: str) -> dict[str, Any]:
    path = kind.runs_path.removeprefix("/api")
    with source.http() as http:
        record: dict[str, Any] = http.get(f"{path}/{run_id}").raise_for_status().json()
    return record


def archived_record(api_url: str, kind: RunKind, run_id: str) -> dict[str, Any] | None:
    """A run's record as the service serves it over HTTP; None where it answers 404."""
    path = kind.runs_path.removeprefix("/api")
    with httpx.Client(base_url=api_url) as http:
        response = http.get(f"{path}/{run_id}")
    if response.status_code == 404:
        return None
    record: dict[str, Any] = response.raise_for_status().json()
    return record


def task_runs_of(source: Source, flow_runs: list[str]) -> list[str]:
    with source.http() as http:
        body = {"flow_runs": {"id": {"any_": flow_runs}}}
        runs = http.post("/task_runs/filter", json=body).raise_for_status().json()
    return [run["id"] for run in runs]


def read_through_prefects_client(
    api_url: str, auth_string: str | None, runs: Runs
) -> dict[str, list[dict[str, Any]]]:
    """Every run's states as Prefect's client reads them from `api_url`, as JSON."""
    settings = temporary_settings(
        updates={PREFECT_API_URL: api_url, PREFECT_API_AUTH_STRING: auth_string}
    )
    with settings, get_client(sync_client=True) as client:
        read = {
            run_id: client.read_flow_run_states(uuid.UUID(run_id)) for run_id in runs[FLOW_RUN]
        } | {run_id: client.read_task_run_states(uuid.UUID(run_id)) for run_id in runs[TASK_RUN]}
    return {
        run_id: [state.model_dump(mode="json") for state in states]
        for run_id, states in read.items()
    }


def test_runs_the_vacuum_deletes_after_the_follower_copied_them_read_back_exactly(
    vacuuming_source: Source, dynamodb_endpoint: str
) -> None:
    source = vacuuming_source
    flow_runs = [*finished_flow_runs(source, 3), final_to_final(source)["flow_run"]]
    runs: Runs = {FLOW_RUN: flow_runs, TASK_RUN: task_runs_of(source, flow_runs)}
    assert len(runs[TASK_RUN]) == 3
    served_by_prefect = {
        (kind, run_id): source.states(kind, run_id) for kind, ids in runs.items() for run_id in ids
    }
    assert all(served_by_prefect.values())
    read_from_prefect = read_through_prefects_client(source.api_url, AUTH_STRING, runs)
    records_from_prefect = {
        (kind, run_id): source_record(source, kind, run_id)
        for kind, ids in runs.items()
        for run_id in ids
    }

    # Tables of its own: the session's DynamoDB Local is shared, and other tests' archives
    # must not hold this source's records. The service creates them as it starts.
    tables = table_environment(fresh_settings())
    with (
        run_states_service(dynamodb_endpoint, **tables) as api_url,
        follower(source, dynamodb_endpoint, tables) as process,
    ):

        def copied(kind: RunKind, run_id: str) -> bool:
            return (
                served(api_url, kind, run_id) == served_by_prefect[kind, run_id]
                and archived_record(api_url, kind, run_id) == records_from_prefect[kind, run_id]
            )

        wait_for(
            "the follower's copy",
            lambda: all(copied(kind, run_id) for kind, run_id in served_by_prefect),
            process,
        )
        assert vacuum(source, flow_runs) == flow_runs
        with source.http() as http:
            for kind, run_id in served_by_prefect:
                path = kind.runs_path.removeprefix("/api")
                assert http.get(f"{path}/{run_id}").status_code == 404

        # The follower goes on past the vacuum: a run made after it is copied too.
        (after,) = finished_flow_runs(source, 1)
        expected_after = source.states(FLOW_RUN, after)
        wait_for(
            "a run made after the vacuum",
            lambda: served(api_url, FLOW_RUN, after) == expected_after,
            process,
        )

        # Every state of every deleted run, exactly: as JSON over HTTP, and as Prefect's
        # client reads it.
        for (kind, run_id), states in served_by_prefect.items():
            assert served(api_url, kind, run_id) == states, (kind.noun, run_id)
        assert read_through_prefects_client(api_url, None, runs) == read_from_prefect

        # And their records, as Prefect served them before its vacuum: by id, and found by
        # the service's filter routes.
        for (kind, run_id), record in records_from_prefect.items():
            assert archived_record(api_url, kind, run_id) == record, (kind.noun, run_id)
        with httpx.Client(base_url=api_url) as http:
            found = http.post(
                "/flow_runs/filter",
                json={"flow_runs": {"id": {"any_": flow_runs}}, "sort": "ID_DESC"},
            ).raise_for_status()
            task_runs = http.post(
                "/task_runs/filter", json={"flow_runs": {"id": {"any_": flow_runs}}}
            ).raise_for_status()
        assert found.json() == sorted(
            (records_from_prefect[FLOW_RUN, run_id] for run_id in flow_runs),
            key=lambda record: record["id"],
            reverse=True,
        )
        assert {record["id"] for record in task_runs.json()} == set(runs[TASK_RUN])
