"""Real Prefect history, made by running flows: run with the Prefect venv's python
(`.tools/prefect/bin/python`) and PREFECT_API_URL pointed at a Prefect server.

    python tests/prefect_flows.py history     # retries, failures, a subflow, a cached task,
                                              # a scheduled run that never starts, and a
                                              # state over DynamoDB's 400 KB
    python tests/prefect_flows.py runs N      # N small flow runs
    python tests/prefect_flows.py recorded N  # N flow runs of 3 states, each with a task run
                                              # of 3, written through the API: the
                                              # benchmark's volume, in seconds

It prints nothing but Prefect's own logs; the tests read what it made from the server.
"""

import sys
from datetime import UTC, datetime, timedelta
from typing import TypedDict

from prefect import State, flow, task
from prefect.cache_policies import INPUTS
from prefect.client.orchestration import get_client
from prefect.states import Scheduled

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


def recorded(count: int) -> None:
    from prefect.states import Completed, Pending, Running

    with get_client(sync_client=True) as client:
        for _ in range(count):
            flow_run = client.create_flow_run(small, parameters={"number": 0}, state=Pending())
            client.set_flow_run_state(flow_run.id, Running())
            task_run = client.create_task_run(
                broken, flow_run_id=flow_run.id, dynamic_key=str(flow_run.id), state=Pending()
            )
            client.set_task_run_state(task_run.id, Running())
            client.set_task_run_state(task_run.id, Completed())
            client.set_flow_run_state(flow_run.id, Completed())


if __name__ == "__main__":
    if sys.argv[1:2] == ["history"]:
        history()
    elif sys.argv[1:2] == ["runs"]:
        runs(int(sys.argv[2]))
    elif sys.argv[1:2] == ["recorded"]:
        recorded(int(sys.argv[2]))
    else:
        sys.exit(__doc__)
