"""The histories of issue 20 (tests/prefect_histories.py), each shown to be exactly what a live
Prefect 3.9.1 server holds once its maker has run: the ground truth the importer is tested on."""

import time
from typing import Any

import pytest

from tests.prefect_histories import (
    LISTING_LIMIT,
    crash_before_start,
    delete_flow_run,
    final_to_final,
    finished_flow_runs,
    out_of_order,
    retry_flow_run,
    task_run_states_in_recorded_order,
    vacuum,
)
from tests.prefect_source import Source

pytestmark = pytest.mark.slow


def _run(source: Source, kind: str, run_id: str) -> dict[str, Any]:
    with source.http() as http:
        run: dict[str, Any] = http.get(f"/{kind}s/{run_id}").raise_for_status().json()
    return run


def _states(source: Source, kind: str, run_id: str) -> list[dict[str, Any]]:
    with source.http() as http:
        response = http.get(f"/{kind}_states/", params={f"{kind}_id": run_id})
    states: list[dict[str, Any]] = response.raise_for_status().json()
    return states


def _task_runs_of(source: Source, flow_runs: list[str]) -> list[str]:
    body = {"flow_runs": {"id": {"any_": flow_runs}}}
    with source.http() as http:
        runs = http.post("/task_runs/filter", json=body).raise_for_status().json()
    return [run["id"] for run in runs]


def test_a_task_waiting_when_its_flow_is_stopped_crashes_without_starting(source: Source) -> None:
    made = crash_before_start(source)

    task_run = _run(source, "task_run", made.task_run)
    assert task_run["state_type"] == "CRASHED"
    assert (task_run["start_time"], task_run["end_time"]) == (None, None)
    assert task_run["expected_start_time"] is not None
    assert [state["type"] for state in _states(source, "task_run", made.task_run)] == [
        "PENDING",
        "CRASHED",
    ]
    assert _run(source, "flow_run", made.flow_run)["state_type"] == "CRASHED"


def test_a_flow_run_goes_from_crashed_to_completed_keeping_its_end_time(source: Source) -> None:
    made = final_to_final(source)

    flow_run = _run(source, "flow_run", made["flow_run"])
    states = {state["id"]: state for state in _states(source, "flow_run", made["flow_run"])}
    assert flow_run["state_id"] == made["completed"]
    assert states[made["completed"]]["type"] == "COMPLETED"
    assert states[made["crashed"]]["type"] == "CRASHED"
    assert flow_run["end_time"] == states[made["crashed"]]["timestamp"]
    assert flow_run["end_time"] < states[made["completed"]]["timestamp"]


def test_a_task_runs_older_state_is_recorded_after_a_newer_one(source: Source) -> None:
    made = out_of_order(source)

    states = {state["id"]: state for state in _states(source, "task_run", made["task_run"])}
    older, newer = states[made["older"]], states[made["newer"]]
    assert (older["type"], newer["type"]) == ("RUNNING", "COMPLETED")
    assert older["timestamp"] < newer["timestamp"]
    recorded = task_run_states_in_recorded_order(source, made["task_run"])
    assert recorded[-2:] == [made["newer"], made["older"]]
    task_run = _run(source, "task_run", made["task_run"])
    assert task_run["state_id"] == made["newer"]  # the late older state did not replace it
    assert task_run["flow_run_id"] == made["flow_run"]


def test_each_state_change_is_an_event_whose_id_is_the_states(source: Source) -> None:
    """What a follower of the events reads: flow-run and task-run state changes, with the
    state's id and timestamp, whatever order they were recorded in."""
    task_made = out_of_order(source)
    flow_made = final_to_final(source)
    runs = {
        f"prefect.task-run.{task_made['task_run']}": _states(
            source, "task_run", task_made["task_run"]
        ),
        f"prefect.flow-run.{flow_made['flow_run']}": _states(
            source, "flow_run", flow_made["flow_run"]
        ),
    }

    def state_events() -> dict[str, list[tuple[str, str, str]]]:
        events = source.events(
            {
                "occurred": {"since": "2000-01-01T00:00:00Z"},
                "resource": {"id": list(runs)},
                "event": {"exclude_name": ["prefect.flow-run.heartbeat"]},
                "order": "ASC",
            }
        )
        found: dict[str, list[tuple[str, str, str]]] = {resource: [] for resource in runs}
        for event in events:
            found[event["resource"]["prefect.resource.id"]].append(
                (event["id"], event["occurred"], event["event"].rpartition(".")[2])
            )
        return found

    expected = {
        resource: [(state["id"], state["timestamp"], state["name"]) for state in states]
        for resource, states in runs.items()
    }
    found = state_events()
    for _ in range(100):  # Prefect's event persister writes every 5 s or 20 events
        if found == expected:
            break
        time.sleep(0.1)
        found = state_events()
    assert found == expected


def test_offset_paging_skips_runs_when_runs_already_read_leave(source: Source) -> None:
    runs = finished_flow_runs(source, 6)
    body: dict[str, Any] = {"flow_runs": {"id": {"any_": runs}}, "sort": "ID_DESC", "limit": 2}
    with source.http() as http:
        listed = [run["id"] for run in http.post("/flow_runs/filter", json=body).json()]
        assert sorted(runs, reverse=True)[:2] == listed

        for run in listed:
            delete_flow_run(source, run)
        second_page = http.post("/flow_runs/filter", json={**body, "offset": 2}).json()

    assert [run["id"] for run in second_page] == sorted(runs, reverse=True)[4:6]
    assert all(_run_gone(source, run) for run in listed)


def _run_gone(source: Source, flow_run: str) -> bool:
    with source.http() as http:
        return http.get(f"/flow_runs/{flow_run}").status_code == 404


def test_a_retry_clears_a_finished_runs_end_time(source: Source) -> None:
    [run] = finished_flow_runs(source, 1)
    ended = _run(source, "flow_run", run)["end_time"]
    assert ended is not None

    retried = retry_flow_run(source, run)

    flow_run = _run(source, "flow_run", run)
    assert (flow_run["state_id"], flow_run["state_name"]) == (retried, "AwaitingRetry")
    assert flow_run["end_time"] is None
    ended_since = {"flow_runs": {"end_time": {"after_": ended}, "id": {"any_": [run]}}}
    with source.http() as http:
        assert http.post("/flow_runs/filter", json=ended_since).json() == []


def test_the_vacuum_deletes_the_aged_runs_with_their_task_runs(vacuuming_source: Source) -> None:
    runs = finished_flow_runs(vacuuming_source, 3)
    aged, kept = runs[:2], runs[2]
    aged_task_runs = _task_runs_of(vacuuming_source, aged)
    assert len(aged_task_runs) == 2

    assert vacuum(vacuuming_source, aged) == aged

    assert _run(vacuuming_source, "flow_run", kept)["state_type"] == "COMPLETED"
    assert _task_runs_of(vacuuming_source, aged) == []
    for task_run in aged_task_runs:
        assert _states(vacuuming_source, "task_run", task_run) == []


def test_a_server_with_a_lower_listing_limit_refuses_200(limited_source: Source) -> None:
    with limited_source.http() as http:
        refused = http.post("/flow_runs/filter", json={"limit": 200})
        accepted = http.post("/task_runs/filter", json={"limit": LISTING_LIMIT})
        settings = http.get("/admin/settings").raise_for_status().json()

    assert refused.status_code == 422
    assert refused.json() == {
        "detail": f"Invalid limit: must be less than or equal to {LISTING_LIMIT}."
    }
    assert accepted.status_code == 200
    assert settings["server"]["api"]["default_limit"] == LISTING_LIMIT
