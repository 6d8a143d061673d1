"""The archive bench's runs: flow-run and task-run records as Prefect 3.9.1 serves them, made
from a real flow run and task run of a live Prefect (the templates), varied run by run.

Run n of N is made from its number alone (a random generator seeded with it), so the
archive and the Prefect server's slice hold the same records. Its expected start time is
spread evenly over the year before `end` (a few minutes of jitter, less than the gap
between runs, so that run n is the n-th by time); its flow one of `FLOWS`, the first
busiest (weights 1, 1/2, 1/3, ...); its deployment that flow's for most runs; zero to three
of `TAGS`; and a final state, mostly COMPLETED. Each flow run has `TASK_RUNS_PER_FLOW_RUN`
task runs, started one after another; a run that did not complete ends with a task run in
its own state.
"""

import random
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

FLOWS = 50
TASK_RUNS_PER_FLOW_RUN = 3
TAGS = ("prod", "staging", "etl", "nightly", "backfill", "ml")
SPAN = timedelta(days=365)
DEPLOYED_SHARE = 0.75  # runs of a deployment; the rest were started by hand
# (type, name, weight) of a run's final state.
FINAL_STATES = (
    ("COMPLETED", "Completed", 86),
    ("FAILED", "Failed", 7),
    ("CRASHED", "Crashed", 4),
    ("CANCELLED", "Cancelled", 3),
)
_TAG_COUNTS = ((0, 30), (1, 40), (2, 20), (3, 10))  # (how many tags, weight)
_ADJECTIVES = (
    "amber", "brave", "calm", "dapper", "eager", "fancy", "gentle", "hasty", "icy", "jolly",
    "keen", "lively", "mellow", "nimble", "odd", "proud", "quick", "rustic", "sly", "tidy",
)  # fmt: skip
_ANIMALS = (
    "alpaca", "badger", "cheetah", "dingo", "egret", "ferret", "gecko", "heron", "ibis",
    "jackal", "koala", "lemur", "marmot", "newt", "otter", "puffin", "quail", "raven", "seal",
    "tapir",
)  # fmt: skip
_TASKS = ("extract", "transform", "load")

type Record = dict[str, Any]


def served_time(moment: datetime) -> str:
    """A date-time as Prefect's API writes it: UTC, microseconds, `Z`."""
    return f"{moment:%Y-%m-%dT%H:%M:%S.%f}Z"


@dataclass(frozen=True, slots=True)
class Templates:
    """Records served by a live Prefect: a flow run and one of its task runs, and the flows
    and deployments the runs are spread over (a deployment per flow, in the flows' order)."""

    flow_run: Record
    task_run: Record
    flows: Sequence[Record]
    deployments: Sequence[Record]


@dataclass(frozen=True, slots=True)
class ArchiveRuns:
    """`flow_runs` flow runs (numbered from 0, oldest first) ending at `end`."""

    templates: Templates
    flow_runs: int
    end: datetime

    @property
    def gap(self) -> timedelta:
        return SPAN / self.flow_runs

    def expected_start(self, number: int) -> datetime:
        """Run `number`'s place in time, before its jitter (which only delays it)."""
        return self.end - SPAN + number * self.gap

    def flow_id(self, flow: int) -> str:
        return str(self.templates.flows[flow]["id"])

    def flow_run(self, number: int) -> tuple[Record, list[Record]]:
        """Flow run `number`'s record and its task runs' records."""
        rng = random.Random(number)
        template = self.templates.flow_run
        flow = rng.choices(range(FLOWS), weights=[1 / (k + 1) for k in range(FLOWS)])[0]
        flow_id = self.flow_id(flow)
        deployment = self.templates.deployments[flow] if rng.random() < DEPLOYED_SHARE else None
        tag_count = rng.choices(*zip(*_TAG_COUNTS, strict=True))[0]
        tags = sorted(rng.sample(TAGS, tag_count))
        state_type, state_name, _ = rng.choices(
            FINAL_STATES, weights=[weight for *_, weight in FINAL_STATES]
        )[0]
        expected = self.expected_start(number) + rng.random() * self.gap / 2
        start = expected + timedelta(seconds=rng.uniform(0.5, 20))
        task_durations = [rng.uniform(0.5, 120) for _ in range(TASK_RUNS_PER_FLOW_RUN)]
        end = start + timedelta(seconds=sum(task_durations) + rng.uniform(0.1, 2))
        run_id = _uuid(rng)
        labels: dict[str, str] = {"prefect.flow.id": flow_id}
        if deployment is not None:
            labels["prefect.deployment.id"] = str(deployment["id"])
        run_time = (end - start).total_seconds()
        state = _state(template["state"], rng, state_type, state_name, end, run_id, None)
        record = {
            **template,
            "id": run_id,
            "created": served_time(expected - timedelta(seconds=1)),
            "updated": served_time(end),
            "name": f"{rng.choice(_ADJECTIVES)}-{rng.choice(_ANIMALS)}",
            "flow_id": flow_id,
            "state_id": state["id"],
            "deployment_id": None if deployment is None else deployment["id"],
            "parameters": {"number": number % 100},
            "tags": tags,
            "labels": labels,
            "state_type": state_type,
            "state_name": state_name,
            "run_count": 1,
            "expected_start_time": served_time(expected),
            "start_time": served_time(start),
            "end_time": served_time(end),
            "total_run_time": run_time,
            "estimated_run_time": run_time,
            "estimated_start_time_delta": (start - expected).total_seconds(),
            "state": state,
        }
        task_runs = []
        task_start = start
        for place, duration in enumerate(task_durations):
            last = place == len(task_durations) - 1
            task_type, task_name = (state_type, state_name) if last else ("COMPLETED", "Completed")
            task_runs.append(
                self._task_run(rng, record, place, task_start, duration, task_type, task_name)
            )
            task_start += timedelta(seconds=duration)
        return record, task_runs

    def _task_run(
        self,
        rng: random.Random,
        flow_run: Record,
        place: int,
        expected: datetime,
        duration: float,
        state_type: str,
        state_name: str,
    ) -> Record:
        template = self.templates.task_run
        task_id = _uuid(rng)
        start = expected + timedelta(seconds=0.01)
        end = start + timedelta(seconds=duration)
        state = _state(template["state"], rng, state_type, state_name, end, flow_run["id"], task_id)
        task_key = f"{_TASKS[place]}-{flow_run['flow_id'][:8]}"
        return {
            **template,
            "id": task_id,
            "created": served_time(expected),
            "updated": served_time(end),
            "name": f"{_TASKS[place]}-{rng.getrandbits(12):03x}",
            "flow_run_id": flow_run["id"],
            "task_key": task_key,
            "dynamic_key": str(place),
            "tags": flow_run["tags"],
            "labels": {
                "prefect.flow.id": flow_run["flow_id"],
                "prefect.flow-run.id": flow_run["id"],
            },
            "state_id": state["id"],
            "state_type": state_type,
            "state_name": state_name,
            "run_count": 1,
            "flow_run_run_count": 1,
            "expected_start_time": served_time(expected),
            "start_time": served_time(start),
            "end_time": served_time(end),
            "total_run_time": duration,
            "estimated_run_time": duration,
            "estimated_start_time_delta": 0.01,
            "state": state,
        }


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _state(
    template: Mapping[str, Any],
    rng: random.Random,
    state_type: str,
    name: str,
    timestamp: datetime,
    flow_run_id: str,
    task_run_id: str | None,
) -> Record:
    return {
        **template,
        "id": _uuid(rng),
        "type": state_type,
        "name": name,
        "timestamp": served_time(timestamp),
        "message": None if state_type == "COMPLETED" else f"Run ended: {name.lower()}.",
        "state_details": {
            **template["state_details"],
            "flow_run_id": flow_run_id,
            "task_run_id": task_run_id,
            "transition_id": None,
        },
    }
