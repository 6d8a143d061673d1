"""The importer against a real Prefect 3.9.1 server, filled by real flows: every run's states
copied exactly, once; resumed, followed, concurrent; retention; and the faults.

One Prefect server for the session (the `source` fixture, tests/prefect_source.py), with
auth on, so that every copy also sends SOURCE_AUTH_STRING. Each test copies into fresh
tables.
"""

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from fastapi.testclient import TestClient

from api.runs import FLOW_RUN, TASK_RUN, RunKind
from api.settings import RECORD_TABLE_VARIABLES, TABLE_VARIABLES, Settings, TableSettings
from importer.checkpoint import Checkpoint, SourceCheckpoint
from importer.passes import Importer
from importer.progress import Progress
from importer.wiring import open_importer
from local.app import local_app
from local.paths import PROJECT
from local.template_tables import create_tables
from storage.checkpoints import CheckpointStore
from storage.repository import fixed_width_utc
from storage.table_shapes import (
    CHECKPOINT_TABLE,
    DOCUMENT,
    EXPIRES_AT,
    FLOW_RUN_STATES,
    TASK_RUN_STATES,
)
from tests.helpers import API_VERSION_HEADER, assert_documented_state, repositories_on
from tests.prefect_source import AUTH_STRING, History, Source

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

pytestmark = pytest.mark.slow

KINDS = (FLOW_RUN, TASK_RUN)


def fresh_settings(retention: timedelta | None = None) -> Settings:
    """Settings naming tables of the test's own (DynamoDB Local is one server for the session)."""
    suffix = uuid.uuid4().hex[:8]
    return Settings(
        flow_run_states=TableSettings(f"flow-run-states-{suffix}", retention),
        task_run_states=TableSettings(f"task-run-states-{suffix}", retention),
        record_tables=tuple(
            (table, f"{variable.default_name}-{suffix}")
            for table, variable in RECORD_TABLE_VARIABLES.items()
        ),
    )


def table_environment(settings: Settings) -> dict[str, str]:
    """The variables naming `settings`' tables, for a process under test (`python -m
    importer`, `make serve`)."""
    return {
        TABLE_VARIABLES[table].name: settings.table(table).name
        for table in (FLOW_RUN_STATES, TASK_RUN_STATES)
    } | {
        RECORD_TABLE_VARIABLES[table].name: name
        for table, name in settings.record_table_names().items()
    }


@dataclass
class Target:
    """The tables copied into, and the service reading them."""

    client: "DynamoDBClient"
    settings: Settings
    api: TestClient

    def importer(self, source: Source, **options: Any) -> AbstractContextManager[Importer]:
        return open_importer(
            source.api_url, self.settings, AUTH_STRING, client=self.client, **options
        )

    def copy(self, source: Source) -> Importer:
        with self.importer(source) as importer:
            importer.run()
            return importer

    def checkpoint(self, source: Source) -> Checkpoint:
        name = self.settings.table(CHECKPOINT_TABLE).name
        return SourceCheckpoint(CheckpointStore(self.client, name), source.api_url).load()


@contextmanager
def target_on(client: "DynamoDBClient", settings: Settings) -> Iterator[Target]:
    create_tables(client, settings)
    app = local_app(settings, repositories_on(client), record_client=lambda: client)
    with TestClient(app, headers=API_VERSION_HEADER) as api:
        yield Target(client, settings, api)


@pytest.fixture
def target(dynamodb: "DynamoDBClient") -> Iterator[Target]:
    with target_on(dynamodb, fresh_settings()) as fresh:
        yield fresh


def served(api: TestClient, kind: RunKind, run_id: str) -> list[dict[str, Any]]:
    response = api.get(f"{kind.states_path}/", params={kind.run_id_field: run_id})
    assert response.status_code == 200, response.text
    listed: list[dict[str, Any]] = response.json()
    return listed


def too_large(states: list[dict[str, Any]]) -> set[str]:
    return {state["id"] for state in states if len(json.dumps(state)) > 400_000}


def assert_copied(api: TestClient, expected: History) -> None:
    """Each run's list, read through the service, equals the source's (less what is over
    DynamoDB's item limit), as JSON and in order."""
    for kind, runs in expected.items():
        for run_id, states in runs.items():
            kept = [state for state in states if state["id"] not in too_large(states)]
            assert served(api, kind, run_id) == kept, (kind.noun, run_id)


def state_count(expected: History) -> int:
    return sum(len(states) for runs in expected.values() for states in runs.values())


# --- exact, once -----------------------------------------------------------------------


def test_every_run_is_copied_exactly_and_a_second_copy_copies_nothing(
    source: Source, target: Target
) -> None:
    api = target.api
    expected = source.all_states()
    flow_states = [state for states in expected[FLOW_RUN].values() for state in states]
    task_states = [state for states in expected[TASK_RUN].values() for state in states]
    # The history holds what the issue asks for.
    assert "Retrying" in {state["name"] for state in task_states}  # the task retries
    assert "Cached" in {state["name"] for state in task_states}
    assert {"Failed", "Completed"} <= {state["name"] for state in flow_states}
    assert [
        [state["type"] for state in states]
        for states in expected[FLOW_RUN].values()
        if states[-1]["type"] == "SCHEDULED"
    ] == [["SCHEDULED"]]
    assert any(state["state_details"]["deferred"] is None for state in flow_states)
    assert any(state["state_details"]["flow_run_id"] for state in task_states)
    assert any(isinstance(state["data"], dict) for state in task_states)  # result records
    (oversized,) = set().union(*(too_large(states) for states in expected[FLOW_RUN].values()))

    first = target.copy(source)
    assert first.summary.states_copied == state_count(expected) - 1
    assert first.summary.states_present == first.summary.states_expired == 0
    (named,) = first.summary.states_too_large
    assert oversized in named
    assert_copied(api, expected)

    assert target.checkpoint(source).last_reconcile is not None  # the first copy reconciles
    second = target.copy(source)
    assert second.summary.states_copied == 0
    # A follow pass: no run listed; read again, only the run whose state is too large to
    # store, where its event is still in the pass's overlap.
    assert second.summary.runs_read <= 1
    assert second.summary.events_read > 0 or second.summary.runs_read == 0
    assert_copied(api, expected)
    # The checkpoint item is no state: never served, never listed.
    checkpoint_id = f"prefect-import:{source.api_url}"
    assert api.get(f"{FLOW_RUN.states_path}/{checkpoint_id}").status_code in (404, 422)


def test_every_copied_state_is_as_documented(source: Source, target: Target) -> None:
    """What Prefect serves, and so what a copy serves, is what `api.schemas.State` says a
    state is (tests/test_schemas.py holds the service's own writes to it)."""
    expected = source.all_states()
    target.copy(source)
    documents = []
    for table in (FLOW_RUN_STATES, TASK_RUN_STATES):
        pages = target.client.get_paginator("scan").paginate(
            TableName=target.settings.table(table).name, ConsistentRead=True
        )
        items = [item for page in pages for item in page["Items"]]
        documents += [item[DOCUMENT]["S"] for item in items if DOCUMENT in item]  # no checkpoint
    assert len(documents) == state_count(expected) - 1  # less the one over the item limit
    for document in documents:
        assert_documented_state(document)


def test_an_interrupted_copy_resumes_where_it_stopped(source: Source, target: Target) -> None:
    expected = source.all_states()

    class StopAfterTwoPages(Progress):
        pages = -1  # the first update is the walk's start

        def update(self, covered: float, summary: Any) -> None:
            self.pages += 1
            if self.pages == 2:  # two pages of two flow runs
                importer.stop.set()  # as SIGINT does: the page in flight completes

    with target.importer(source, progress=StopAfterTwoPages()) as importer:
        importer.source.page_size = 2
        assert importer.run() is False
        interrupted = importer.summary
    checkpoint = target.checkpoint(source)
    assert checkpoint.reconcile is not None
    assert checkpoint.reconcile.kind == FLOW_RUN.noun
    assert checkpoint.reconcile.position.after is not None  # past two pages, then it stopped
    assert interrupted.runs_read == 4
    assert 0 < interrupted.states_copied < state_count(expected)

    resumed = target.copy(source)
    assert resumed.summary.states_copied + interrupted.states_copied == state_count(expected) - 1
    assert not target.checkpoint(source).in_pass
    assert_copied(target.api, expected)


def test_two_copies_at_once_and_the_apis_own_writes_lose_and_duplicate_nothing(
    source: Source, target: Target
) -> None:
    expected = source.all_states()
    run_id = next(iter(expected[FLOW_RUN]))
    copies = [threading.Thread(target=target.copy, args=(source,)) for _ in range(2)]
    for thread in copies:
        thread.start()
    written = target.api.post(
        f"/api/flow_runs/{run_id}/set_state", json={"state": {"type": "RUNNING"}}
    )
    assert written.status_code == 201
    for thread in copies:
        thread.join()
    expected[FLOW_RUN][run_id].append(written.json()["state"])  # the newest state
    assert_copied(target.api, expected)


# --- following ---------------------------------------------------------------------------


def test_follow_copies_a_new_run_then_stops_cleanly_on_sigterm(
    source: Source, dynamodb_local: "DynamoDBClient"
) -> None:
    """`make import`, then `python -m importer --follow` (what `make import FOLLOW=1` runs): a
    new flow run appears in the copy, and SIGTERM ends the follower with exit 0 and a
    summary."""
    settings = fresh_settings()
    names = table_environment(settings)
    endpoint = dynamodb_local.meta.endpoint_url
    environment = {
        **os.environ,
        **names,
        "AWS_ENDPOINT_URL_DYNAMODB": endpoint,
        "SOURCE_AUTH_STRING": AUTH_STRING,
    }
    copied = subprocess.run(
        ["make", "--silent", "import", f"SOURCE={source.api_url}"],
        cwd=PROJECT,
        env=environment,
        capture_output=True,
        text=True,
    )
    assert copied.returncode == 0, copied.stderr
    assert "states copied:" in copied.stderr
    follower = subprocess.Popen(
        [sys.executable, "-m", "importer", source.api_url, "--follow", "--interval", "0.2"],
        cwd=PROJECT,
        env=environment,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        store = SourceCheckpoint(
            CheckpointStore(dynamodb_local, settings.table(CHECKPOINT_TABLE).name),
            source.api_url,
        )
        assert store.load().events_until is not None  # make import completed a reconcile
        known = set(source.run_ids(FLOW_RUN))
        source.run_flows("runs", "1")
        (new_run,) = set(source.run_ids(FLOW_RUN)) - known
        expected = source.states(FLOW_RUN, new_run)
        flow_table = settings.table(FLOW_RUN_STATES).name
        wait_for(
            lambda: stored_states(dynamodb_local, flow_table, FLOW_RUN, new_run) == len(expected)
        )
        follower.send_signal(signal.SIGTERM)
        _, errors = follower.communicate(timeout=60)
    finally:
        if follower.poll() is None:
            follower.kill()
            follower.wait()
    assert follower.returncode == 0, errors
    assert "SIGTERM: stopping after the write in flight" in errors
    assert "states copied:" in errors


def stored_states(client: "DynamoDBClient", table_name: str, kind: RunKind, run_id: str) -> int:
    response = client.query(
        TableName=table_name,
        IndexName=kind.table.index_name,
        KeyConditionExpression="#run = :run",
        ExpressionAttributeNames={"#run": kind.run_id_field},
        ExpressionAttributeValues={":run": {"S": run_id}},
    )
    return len(response["Items"])


def wait_for(condition: Any, limit: float = 120) -> None:
    """Poll until `condition()` holds; the limit only keeps a broken test from hanging."""
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, "the condition never held"
        time.sleep(0.2)


# --- retention -------------------------------------------------------------------------


def test_retention_counts_from_each_states_own_timestamp(
    source: Source, dynamodb: "DynamoDBClient"
) -> None:
    expected = source.all_states()
    timestamps = sorted(
        datetime.fromisoformat(state["timestamp"])
        for runs in expected.values()
        for states in runs.values()
        for state in states
    )
    # Copied as of a day after the median state: the older half has expired by then.
    cutoff = timestamps[len(timestamps) // 2]
    expired = sum(1 for moment in timestamps if moment <= cutoff)
    with (
        target_on(dynamodb, fresh_settings(retention=timedelta(days=1))) as target,
        target.importer(source, clock=lambda: cutoff + timedelta(days=1)) as importer,
    ):
        importer.run()
    assert importer.summary.states_expired == expired
    for kind, runs in expected.items():
        for run_id, states in runs.items():
            live = [
                state
                for state in states
                if datetime.fromisoformat(state["timestamp"]) > cutoff
                and state["id"] not in too_large(states)
            ]
            assert served(target.api, kind, run_id) == live
            name = target.settings.table(kind.table).name
            for state in live:
                item = dynamodb.get_item(TableName=name, Key={"id": {"S": state["id"]}})["Item"]
                expiry = datetime.fromisoformat(state["timestamp"]) + timedelta(days=1)
                assert item[EXPIRES_AT]["S"] == fixed_width_utc(expiry)


# --- faults ------------------------------------------------------------------------------


def make_import(source_url: str, **environment: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "importer", source_url],
        cwd=PROJECT,
        env={**os.environ, "AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:9", **environment},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_source_without_the_auth_string_is_refused_clearly(source: Source) -> None:
    result = make_import(source.api_url)
    assert result.returncode == 1
    assert "answered 401 Unauthorized: set SOURCE_AUTH_STRING" in result.stderr


def test_a_source_that_does_not_answer_is_named() -> None:
    from local.servers import free_port

    result = make_import(f"http://127.0.0.1:{free_port()}/api")
    assert result.returncode == 1
    assert "did not answer GET /admin/version after 3 attempts" in result.stderr
    assert "check that the Prefect server is running" in result.stderr


def test_a_server_that_is_not_prefect_3_is_refused(moto_endpoint: str) -> None:
    result = make_import(f"{moto_endpoint}/api")
    assert result.returncode == 1
    assert "is not a Prefect 3 server" in result.stderr


def test_a_bad_source_url_is_refused_by_the_command_line() -> None:
    result = make_import("prefect.internal:4200")
    assert result.returncode == 2
    assert "is not a Prefect API URL" in result.stderr
