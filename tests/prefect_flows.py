"""Real Prefect history, made by running flows: run with the Prefect venv's python
(`.tools/prefect/bin/python`) and PREFECT_API_URL pointed at a Prefect server.

    python tests/prefect_flows.py history     # retries, failures, a subflow, a cached task,
                                              # a scheduled run that never starts, and a
                                              # state over DynamoDB's 400 KB
    python tests/prefect_flows.py runs N      # N small flow runs
    python tests/prefect_flows.py recorded N [T]  # N flow runs of 3 states, each with T task
                                                  # runs (1) of 3, written through the API
    python tests/prefect_flows.py stopped     # a flow whose task waits for an upstream task
                                              # until the flow's process is stopped
    python tests/prefect_flows.py final-to-final  # Crashed, then Completed without force
    python tests/prefect_flows.py out-of-order    # a task run's Completed recorded before
                                                  # its Running, through the engine's events

`history` and `runs` print nothing but Prefect's own logs (on stderr); the tests read what
they made from the server. The other modes print the ids they made as JSON on stdout.
"""

import json
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any, TypedDict, cast
from uuid import UUID

from prefect import State, flow, task
from prefect.cache_policies import INPUTS
from prefect.client.orchestration import get_client
from prefect.client.schemas.objects import TaskRun
from prefect.client.schemas.responses import OrchestrationResult
from prefect.events import Event
from prefect.events.worker import EventsWorker
from prefect.runtime import flow_run as current_flow_run
from prefect.states import Completed, Crashed, Pending, Running, Scheduled
from prefect.utilities.asyncutils import run_coro_as_sync
from prefect.utilities.engine import emit_task_run_state_change_event

_attempts: dict[str, int] = {}


@task(retries=2, retry_delay_seconds=0)
def flaky(label: str) -> str:
    """Fails twice, then succeeds: three runs of one task run, two of them retries."""
    _attempts[label] = _attempts.get(label, 0) + 1
    if _attempts[label] < 3:
        raise RuntimeError(f"attempt {_attempts[label]} of {label} fails")
    return label


class CachedResult(TypedDict):
    number: int
    nested: list[float | str | None]


@task(cache_policy=INPUTS, persist_result=True)
def cached(number: int) -> CachedResult:
    return {"number": number, "nested": [1.5, None, "ünïcode"]}


@task
def broken() -> None:
    raise ValueError("this task always fails")


@flow(retries=1, retry_delay_seconds=0)
def child(number: int) -> int:
    return cached(number)["number"]


@flow
def parent() -> int:
    flaky("parent")
    first = cached(7)
    second = cached(7)  # the same inputs: a cache hit, Cached state
    return first["number"] + second["number"] + child(3)


@flow
def failing() -> None:
    broken()


@flow
def oversized() -> None:
    """Fails with a message that makes its Failed state larger than a DynamoDB item."""
    raise ValueError("x" * 450_000)


@flow
def small(number: int) -> int:
    return number


def history() -> None:
    parent()
    failing(return_state=True)
    oversized(return_state=True)
    with get_client(sync_client=True) as client:
        # A run scheduled for next year that no worker will ever start.
        never: State[None] = Scheduled(scheduled_time=datetime.now(UTC) + timedelta(days=365))
        client.create_flow_run(small, parameters={"number": 0}, state=never)


def runs(count: int) -> None:
    for number in range(count):
        small(number)


def recorded(count: int, task_runs: int = 1) -> None:
    flow_run_ids: list[str] = []
    with get_client(sync_client=True) as client:
        for _ in range(count):
            flow_run = client.create_flow_run(small, parameters={"number": 0}, state=Pending())
            client.set_flow_run_state(flow_run.id, Running())
            for number in range(task_runs):
                task_run = client.create_task_run(
                    broken,
                    flow_run_id=flow_run.id,
                    dynamic_key=f"{flow_run.id}-{number}",
                    state=Pending(),
                )
                client.set_task_run_state(task_run.id, Running())
                client.set_task_run_state(task_run.id, Completed())
            client.set_flow_run_state(flow_run.id, Completed())
            flow_run_ids.append(str(flow_run.id))
    print(json.dumps({"flow_runs": flow_run_ids}))


_upstream_released = threading.Event()


@task
def upstream() -> int:
    """Holds its downstream task back until the flow lets it go (at most a minute)."""
    _upstream_released.wait(60)
    return 1


@task
def downstream(value: int) -> int:
    return value


@flow
def stopped() -> None:
    """Prints its flow run's id, then waits in `downstream` (called in the flow's own thread,
    as a plain call is) for `upstream`. A SIGTERM to the process then reaches the task engine
    of `downstream` before it starts: Prefect records it Crashed, never Running.

    A task submitted to the thread pool instead is not stopped while it waits: it runs once
    its upstream ends and is then cancelled (Running, then Crashed)."""
    print(json.dumps({"flow_run": str(current_flow_run.id)}), flush=True)
    waited_for = upstream.submit()
    try:
        downstream(waited_for)  # type: ignore[call-overload]  # a future stands for its value
    finally:
        _upstream_released.set()  # so that the flow ends now, not when `upstream` times out


def final_to_final() -> None:
    """A flow run Crashed, then Completed through Prefect's client without `force`: Prefect
    accepts it and keeps the `end_time` of the Crashed state."""
    with get_client(sync_client=True) as client:
        flow_run = client.create_flow_run(small, parameters={"number": 0}, state=Pending())
        client.set_flow_run_state(flow_run.id, Running())
        crashed: OrchestrationResult[Any] = client.set_flow_run_state(
            flow_run.id, Crashed(message="its process ended")
        )
        completed: OrchestrationResult[Any] = client.set_flow_run_state(flow_run.id, Completed())
    accepted = {crashed.status.value, completed.status.value}
    if accepted != {"ACCEPT"} or crashed.state is None or completed.state is None:
        raise RuntimeError(f"Prefect did not accept Crashed -> Completed: {accepted}")
    made = {"flow_run": flow_run.id, "crashed": crashed.state.id, "completed": completed.state.id}
    print(json.dumps(made, default=str))


@task
def recorded_late() -> None:
    """Never run: its task run's states are sent as the engine's events, out of order."""


def _send(task_run: TaskRun, initial: State | None, state: State, follows: Event | None) -> Event:
    """The event Prefect's task engine emits for a state change, sent now and waited for
    until the server has recorded the state."""
    event = emit_task_run_state_change_event(task_run, initial, state, follows=follows)
    if event is None:
        raise RuntimeError("Prefect emitted no event: is PREFECT_API_URL set?")
    EventsWorker.drain_all()  # sent before the next: their order is this function's calls
    with get_client(sync_client=True) as client:
        deadline = time.monotonic() + 30
        while not any(s.id == state.id for s in client.read_task_run_states(task_run.id)):
            if time.monotonic() > deadline:
                raise TimeoutError(f"Prefect has not recorded {state.name} {state.id}")
            time.sleep(0.05)
    return event


def _as_of(task_run: TaskRun, state: State, **fields: Any) -> TaskRun:
    """The task run as the engine holds it when it emits `state`."""
    return task_run.model_copy(update={"state": state, **fields}, deep=True)


@flow
def out_of_order() -> None:
    """One task run, Pending, then Running and Completed (the engine's events, in its flow
    run's context), the Completed event delivered and recorded before the Running one: as
    when Prefect's task-run recorder puts a batch back after "database is locked"."""
    task_run = cast(TaskRun, run_coro_as_sync(recorded_late.create_local_run()))
    pending = task_run.state
    if pending is None:
        raise RuntimeError("Prefect made a task run without its Pending state")
    running: State[Any] = Running()
    completed: State[Any] = Completed()
    as_running = _as_of(task_run, running, start_time=running.timestamp, run_count=1)
    as_completed = _as_of(as_running, completed, end_time=completed.timestamp)
    pending_event = _send(task_run, None, pending, follows=None)
    # The engine would say the Completed event follows the Running one; it cannot, as that
    # is not sent yet. The task-run recorder reads no `follows` (only automations do).
    _send(as_completed, running, completed, follows=None)
    _send(as_running, pending, running, follows=pending_event)
    made: dict[str, UUID | None] = {
        "flow_run": task_run.flow_run_id,
        "task_run": task_run.id,
        "older": running.id,
        "newer": completed.id,
    }
    print(json.dumps(made, default=str))


if __name__ == "__main__":
    if sys.argv[1:2] == ["history"]:
        history()
    elif sys.argv[1:2] == ["runs"]:
        runs(int(sys.argv[2]))
    elif sys.argv[1:2] == ["recorded"]:
        recorded(*(int(argument) for argument in sys.argv[2:4]))
    elif sys.argv[1:2] == ["stopped"]:
        stopped()
    elif sys.argv[1:2] == ["final-to-final"]:
        final_to_final()
    elif sys.argv[1:2] == ["out-of-order"]:
        out_of_order()
    else:
        sys.exit(__doc__)
