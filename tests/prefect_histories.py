"""Histories a live Prefect 3.9.1 server holds that a copy by `end_time` or by offset misses
(issue 20), made the way Prefect makes them: its engine, its client, its events, its vacuum.
Each maker returns the ids it made. The facts behind them: ../helpers/prefect-facts.md."""

import contextlib
import json
import signal
import sqlite3
import subprocess
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from local.servers import prefect_environment, prefect_flows_command
from tests.prefect_source import AUTH_STRING, Source

# Prefect's vacuum of flow runs every 2 s, deleting those that ended more than an hour and a
# second ago (its shortest retention): a test ages the runs it wants deleted.
VACUUM_RETENTION = timedelta(hours=1, seconds=1)
VACUUM_SETTINGS = {
    "PREFECT_SERVER_SERVICES_DB_VACUUM_ENABLED": "events,flow_runs",
    "PREFECT_SERVER_SERVICES_DB_VACUUM_LOOP_SECONDS": "2",
    "PREFECT_SERVER_SERVICES_DB_VACUUM_RETENTION_PERIOD": str(
        int(VACUUM_RETENTION.total_seconds())
    ),
}
LISTING_LIMIT = 50  # below the importer's 200
LISTING_LIMIT_SETTINGS = {"PREFECT_SERVER_API_DEFAULT_LIMIT": str(LISTING_LIMIT)}
# How Prefect's SQLite database stores a time (UTC).
_SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"


def _wait_for(what: str, found: Any, timeout: float = 60) -> Any:
    """`found()` once it is truthy; Prefect records task-run events a moment after they are
    sent."""
    deadline = time.monotonic() + timeout
    while not (value := found()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout} s")
        time.sleep(0.1)
    return value


@dataclass(frozen=True)
class CrashedBeforeStart:
    flow_run: str
    task_run: str  # Pending, then Crashed: never started, no start or end time


def crash_before_start(source: Source) -> CrashedBeforeStart:
    """A flow process (tests/prefect_flows.py `stopped`) sent SIGTERM, by its own PID, while
    one of its tasks waits for an upstream task: Prefect's engine records that task Crashed
    without ever starting it."""
    env = prefect_environment(source.home, AUTH_STRING, source.api_url)
    with tempfile.TemporaryFile("w+") as printed, tempfile.TemporaryFile("w+") as logs:
        process = subprocess.Popen(
            prefect_flows_command("stopped"), env=env, cwd=source.home, stdout=printed, stderr=logs
        )
        try:

            def first_line() -> str:
                if process.poll() is not None:
                    logs.seek(0)
                    raise RuntimeError(f"`stopped` ended early:\n{logs.read()[-3000:]}")
                printed.seek(0)
                line = printed.readline()
                return line if line.endswith("\n") else ""

            flow_run = json.loads(_wait_for("the flow run's id", first_line))["flow_run"]
            waiting = _wait_for("the waiting task run", lambda: _waiting_task_run(source, flow_run))
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    with source.http() as http:
        _wait_for(
            "its Crashed state",
            lambda: http.get(f"/task_runs/{waiting}").json()["state_type"] == "CRASHED",
        )
    return CrashedBeforeStart(flow_run=flow_run, task_run=waiting)


def _waiting_task_run(source: Source, flow_run: str) -> str | None:
    """The id of `downstream`'s task run, once Prefect has recorded it Pending."""
    body = {
        "flow_runs": {"id": {"any_": [flow_run]}},
        "task_runs": {"name": {"like_": "downstream"}, "state": {"type": {"any_": ["PENDING"]}}},
    }
    with source.http() as http:
        runs = http.post("/task_runs/filter", json=body).raise_for_status().json()
    return runs[0]["id"] if runs else None


def final_to_final(source: Source) -> dict[str, str]:
    """A flow run Crashed, then Completed without `force` through Prefect's client: its ids
    (`flow_run`) and those of the two states (`crashed`, `completed`)."""
    made: dict[str, str] = json.loads(source.run_flows("final-to-final"))
    return made


def out_of_order(source: Source) -> dict[str, str]:
    """A task run whose Completed state Prefect recorded before its Running state, both sent
    as the events Prefect's engine emits: `flow_run`, `task_run`, `older` (Running, recorded
    last) and `newer` (Completed)."""
    made: dict[str, str] = json.loads(source.run_flows("out-of-order"))
    return made


def finished_flow_runs(source: Source, count: int) -> list[str]:
    """`count` Completed flow runs, each with a Completed task run, made through Prefect's
    client (tests/prefect_flows.py `recorded`)."""
    made: list[str] = json.loads(source.run_flows("recorded", str(count)))["flow_runs"]
    return made


def delete_flow_run(source: Source, flow_run: str) -> None:
    """Deleted by hand, as `prefect flow-run delete` does; its task runs and states go too."""
    with source.http() as http:
        http.delete(f"/flow_runs/{flow_run}").raise_for_status()


def retry_flow_run(source: Source, flow_run: str) -> str:
    """The UI's Retry of a finished flow run (AwaitingRetry, forced): Prefect clears its
    `end_time`. Returns the new state's id."""
    state = {"type": "SCHEDULED", "name": "AwaitingRetry", "message": "Retry from the UI"}
    with source.http() as http:
        response = http.post(
            f"/flow_runs/{flow_run}/set_state", json={"state": state, "force": True}
        )
    result = response.raise_for_status().json()
    if result["status"] != "ACCEPT":
        raise RuntimeError(f"Prefect did not accept the retry: {result}")
    state_id: str = result["state"]["id"]
    return state_id


def vacuum(source: Source, flow_runs: list[str], timeout: float = 60) -> list[str]:
    """Ages `flow_runs` past the vacuum's retention in the server's SQLite database, waits
    for Prefect's vacuum (a server started with VACUUM_SETTINGS) to delete them, and returns
    those it deleted, in the order given."""
    aged_end = (datetime.now(UTC) - VACUUM_RETENTION - timedelta(hours=1)).strftime(_SQLITE_TIME)
    with sqlite3.connect(source.home / "prefect.db", timeout=30) as database:
        placeholders = ", ".join("?" for _ in flow_runs)
        aged = database.execute(
            f"UPDATE flow_run SET end_time = ? WHERE id IN ({placeholders})"
            " AND end_time IS NOT NULL",
            [aged_end, *flow_runs],
        ).rowcount
    database.close()
    if aged != len(flow_runs):
        raise ValueError(f"only {aged} of {len(flow_runs)} flow runs exist and have ended")
    with source.http() as http:

        def deleted() -> list[str]:
            return [run for run in flow_runs if http.get(f"/flow_runs/{run}").status_code == 404]

        with contextlib.suppress(TimeoutError):  # the caller sees which were not deleted
            _wait_for("the vacuum", lambda: len(deleted()) == len(flow_runs), timeout)
        return deleted()


def task_run_states_in_recorded_order(source: Source, task_run: str) -> list[str]:
    """The ids of a task run's states in the order Prefect inserted them: the `created`
    column of its database, which the API does not show."""
    uri = f"file:{source.home / 'prefect.db'}?mode=ro"
    with sqlite3.connect(uri, uri=True, timeout=30) as database:
        rows = database.execute(
            "SELECT id FROM task_run_state WHERE task_run_id = ? ORDER BY created", (task_run,)
        ).fetchall()
    database.close()
    return [state_id for (state_id,) in rows]
