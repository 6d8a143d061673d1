"""A varied history on a live Prefect 3.9.1 server, for the difference test (issue 21): flows,
deployments (some in a work pool's queues), a few hundred flow runs of every state type, with
and without deployments, tags, idempotency keys and parents, times across weeks, and task runs
under some of them. Everything is written through Prefect's REST API, as its client writes;
only the run times are then moved in its SQLite database (as `prefect_histories.vacuum` ages
runs), since Prefect stamps a run's start and end with the time of the request.

What is made follows from the seed alone (names, tags, states, times and links); the ids are
Prefect's own. Names and tags repeat on purpose, and times fall on a grid of hours, so that
filters match several records and sorts leave ties.
"""

import asyncio
import random
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.prefect_source import AUTH_STRING, Source

SEED = 21
FLOW_RUNS = 300
# Requests in flight. Prefect on SQLite makes one write at a time (about 35 ms each here: the
# 300 runs and their task runs take about 18 s); two keep it busy, more only wait on its lock,
# and from 8 on it answers 503s ("database is locked").
CONCURRENCY = 2

# Settings for a source whose background services leave runs as they were written: no Late
# marking of past Scheduled runs, no failing of expired pauses, no cancelling of a cancelled
# run's children, no runs scheduled from deployments. A comparison needs data that holds
# still between the two answers.
STILL_SETTINGS = {
    f"PREFECT_SERVER_SERVICES_{service}_ENABLED": "false"
    for service in ("LATE_RUNS", "PAUSE_EXPIRATIONS", "CANCELLATION_CLEANUP", "SCHEDULER")
}

FLOW_NAMES = ("etl", "etl-nightly", "Report", "ünïcode flow", "backfill_2026")
FLOW_TAGS = ((), ("team-a",), ("team-a", "critical"), ("team-b",), ())
WORK_POOL = "archive-pool"
WORK_QUEUES = ("default", "gpu")
# (flow index, name, tags, paused, work queue or None for no work pool)
DEPLOYMENTS = (
    (0, "nightly", ("prod",), False, "default"),
    (0, "hourly", ("prod", "fast"), False, "gpu"),
    (1, "nightly", (), False, None),  # the same name as etl's: a tie in NAME sorts
    (2, "monthly report", ("reports", "prod"), True, None),
    (3, "adhoc", ("Prod",), False, "default"),
    (4, "backfill", ("prod", "slow", "fast"), True, "gpu"),
)
RUN_NAMES = (
    "alpha-run",
    "Alpha-Run",
    "beta",
    "beta",
    "gamma_ray",
    "gamma-ray",
    "100%_done",
    "délta",
    "ÉPSILON",
    "zeta run",
    "eta.1",
    "eta.10",
)
TAGS = ("prod", "dev", "team-a", "team-b", "Prod", "critical", "ünï")
TASK_NAMES = ("extract", "extract-1", "transform", "load", "Load", "load_all", "notify%")
STATE_NAMES: dict[str, tuple[str, ...]] = {
    "SCHEDULED": ("Scheduled", "Late", "AwaitingRetry", "AwaitingConcurrencySlot"),
    "PENDING": ("Pending",),
    "RUNNING": ("Running", "Retrying"),
    "COMPLETED": ("Completed", "Cached"),
    "FAILED": ("Failed",),
    "CANCELLED": ("Cancelled",),
    "CRASHED": ("Crashed",),
    "PAUSED": ("Paused", "Suspended"),
    "CANCELLING": ("Cancelling",),
}
TASK_STATE_TYPES = ("PENDING", "RUNNING", "COMPLETED", "FAILED", "CANCELLED", "CRASHED")
# How Prefect's SQLite database stores a time (UTC), and a duration: as that time after the
# UNIX epoch (SQLAlchemy's Interval on SQLite).
_SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Longer than the plan's reach into the future: every running task run entered Running in the
# past, and longer ago than any finished run's duration (see _move_times).
RUNNING_SINCE = timedelta(weeks=5)


@dataclass
class PlannedTaskRun:
    name: str
    tags: list[str]
    state_type: str
    state_name: str
    started: bool
    delay: timedelta  # its expected start, after its flow run's
    duration: timedelta


@dataclass
class PlannedFlowRun:
    name: str
    flow: int  # index into FLOW_NAMES
    deployment: int | None  # index into DEPLOYMENTS
    tags: list[str]
    state_type: str
    state_name: str
    expected_start: datetime
    started: bool
    delay: timedelta  # its start, after its expected start
    duration: timedelta
    idempotency_key: str | None
    parent: int | None  # index of an earlier run, whose first task run is this one's parent
    task_runs: list[PlannedTaskRun] = field(default_factory=list)


def plan(
    seed: int = SEED, count: int = FLOW_RUNS, around: datetime | None = None
) -> list[PlannedFlowRun]:
    """The flow runs to make, from `seed` alone: expected starts on the hour, within four weeks
    either side of `around` (now, to the hour, by default)."""
    rng = random.Random(seed)
    around = around or datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    planned: list[PlannedFlowRun] = []
    for number in range(count):
        flow = rng.randrange(len(FLOW_NAMES))
        own = [index for index, deployment in enumerate(DEPLOYMENTS) if deployment[0] == flow]
        state_type = rng.choice(tuple(STATE_NAMES))
        run = PlannedFlowRun(
            name=rng.choice(RUN_NAMES),
            flow=flow,
            deployment=rng.choice([None, *own]) if own else None,
            tags=rng.sample(TAGS, rng.choice((0, 0, 1, 1, 2, 3))),
            state_type=state_type,
            state_name=rng.choice(STATE_NAMES[state_type]),
            expected_start=around + timedelta(hours=rng.randrange(-4 * 7 * 24, 4 * 7 * 24, 3)),
            started=_started(state_type, rng),
            delay=timedelta(seconds=rng.choice((0, 0, 5, 90, 3600))),
            duration=timedelta(seconds=rng.choice((1, 1, 30, 600, 7200))),
            idempotency_key=f"key-{number % 7}-{number}" if rng.random() < 0.2 else None,
            parent=None,
        )
        with_task_runs = [earlier for earlier, made in enumerate(planned) if made.task_runs]
        if with_task_runs and rng.random() < 0.05:
            run.parent = rng.choice(with_task_runs)
        if rng.random() < 0.35:
            for _ in range(rng.randint(1, 4)):
                task_type = rng.choice(TASK_STATE_TYPES)
                run.task_runs.append(
                    PlannedTaskRun(
                        name=rng.choice(TASK_NAMES),
                        tags=rng.sample(TAGS, rng.choice((0, 1, 2))),
                        state_type=task_type,
                        state_name=rng.choice(STATE_NAMES[task_type]),
                        started=_started(task_type, rng),
                        delay=timedelta(seconds=rng.choice((0, 1, 60))),
                        duration=timedelta(seconds=rng.choice((0, 2, 45, 900))),
                    )
                )
        planned.append(run)
    return planned


def _started(state_type: str, rng: random.Random) -> bool:
    """Whether a run in a state of this type has a start time: always once it has run, never
    while it waits, and either way for one cancelled (before or after it started)."""
    if state_type in ("SCHEDULED", "PENDING"):
        return False
    if state_type in ("CANCELLED", "CANCELLING"):
        return rng.random() < 0.5
    return True


@dataclass(frozen=True)
class Made:
    flows: list[str]
    deployments: list[str]
    flow_runs: list[str]
    task_runs: list[str]


class _Writer:
    """Prefect's REST API, at most CONCURRENCY requests at once, each retried on a 5xx
    ("database is locked" under concurrent writes)."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self._http = http
        self._slots = asyncio.Semaphore(CONCURRENCY)

    async def post(self, path: str, body: dict[str, Any]) -> Any:
        async with self._slots:
            for attempt in range(10):
                response = await self._http.post(path, json=body)
                if response.status_code < 500:
                    break
                await asyncio.sleep(0.1 * 2**attempt)
        return response.raise_for_status().json()


def _scheduled(at: datetime, name: str = "Scheduled") -> dict[str, Any]:
    return {
        "type": "SCHEDULED",
        "name": name,
        "state_details": {"scheduled_time": at.isoformat()},
    }


async def _make(source: Source, planned: Sequence[PlannedFlowRun]) -> Made:
    user, _, password = AUTH_STRING.partition(":")
    async with httpx.AsyncClient(
        base_url=source.api_url, auth=(user, password), timeout=60
    ) as http:
        writer = _Writer(http)
        flows = [
            (await writer.post("/flows/", {"name": name, "tags": list(tags)}))["id"]
            for name, tags in zip(FLOW_NAMES, FLOW_TAGS, strict=True)
        ]
        await writer.post("/work_pools/", {"name": WORK_POOL, "type": "process"})
        await writer.post(f"/work_pools/{WORK_POOL}/queues", {"name": WORK_QUEUES[1]})
        deployments = []
        for flow, name, tags, paused, queue in DEPLOYMENTS:
            pool = {"work_pool_name": WORK_POOL, "work_queue_name": queue} if queue else {}
            body = {"flow_id": flows[flow], "name": name, "tags": list(tags), "paused": paused}
            deployments.append((await writer.post("/deployments/", body | pool))["id"])

        flow_run_ids: list[str] = [""] * len(planned)
        first_task_runs: dict[int, str] = {}
        task_run_ids: list[str] = []
        made = {number: asyncio.Event() for number in range(len(planned))}

        async def make_flow_run(number: int, run: PlannedFlowRun) -> None:
            parent = None
            if run.parent is not None:
                await made[run.parent].wait()
                parent = first_task_runs[run.parent]
            if run.state_type == "SCHEDULED":
                state = _scheduled(run.expected_start, run.state_name)
            else:  # made in its state, as no worker ever picked it up
                state = {"type": run.state_type, "name": run.state_name}
            body: dict[str, Any] = {
                "name": run.name,
                "flow_id": flows[run.flow],
                "tags": run.tags,
                "state": state,
                "idempotency_key": run.idempotency_key,
                "parent_task_run_id": parent,
            }
            if run.deployment is not None:
                body["deployment_id"] = deployments[run.deployment]
                if queue := DEPLOYMENTS[run.deployment][4]:
                    body |= {"work_pool_name": WORK_POOL, "work_queue_name": queue}
            flow_run = (await writer.post("/flow_runs/", body))["id"]
            flow_run_ids[number] = flow_run
            for index, task in enumerate(run.task_runs):
                task_run = await _make_task_run(writer, flow_run, index, task)
                task_run_ids.append(task_run)
                first_task_runs.setdefault(number, task_run)
            made[number].set()

        await asyncio.gather(*(make_flow_run(n, run) for n, run in enumerate(planned)))
    return Made(flows, deployments, flow_run_ids, task_run_ids)


async def _make_task_run(writer: _Writer, flow_run: str, index: int, task: PlannedTaskRun) -> str:
    body = {
        "name": task.name,
        "flow_run_id": flow_run,
        "task_key": f"tasks.{task.name}",
        "dynamic_key": str(index),
        "tags": task.tags,
        "state": {"type": task.state_type, "name": task.state_name},
    }
    task_run: str = (await writer.post("/task_runs/", body))["id"]
    return task_run


def _move_times(source: Source, planned: Sequence[PlannedFlowRun], made: Made) -> None:
    """The plan's times, in one transaction: each run's expected start, its start (null where
    it never started) and its end (where Prefect set one on entering a final state), and a
    finished task run's total run time (what its DURATION sorts read).

    A running task run's DURATION is the time since it entered Running, and grows between
    Prefect's answer and the archive's. Left at the request's time, it may cross a finished
    run's total run time; and two such runs entered Running a fraction of a millisecond apart,
    which Prefect on SQLite rounds to the millisecond at the moment it answers, so their order
    turned on that moment. Each is moved to have entered Running RUNNING_SINCE before its
    planned start: longer ago than any finished run's duration, and where not at once, whole
    seconds apart."""

    def sqlite(moment: datetime | None) -> str | None:
        return moment.astimezone(UTC).strftime(_SQLITE_TIME) if moment else None

    flow_rows = []
    task_rows = []
    running_rows = []
    task_runs = iter(made.task_runs)
    for run, flow_run in zip(planned, made.flow_runs, strict=True):
        start = run.expected_start + run.delay
        started = start if run.started else None
        flow_rows.append(
            (sqlite(run.expected_start), sqlite(started), sqlite(start + run.duration), flow_run)
        )
        task_start = start
        for task in run.task_runs:
            task_start += task.delay
            task_run = next(task_runs)
            ran = task.duration if task.started and task.state_type != "RUNNING" else None
            task_rows.append(
                (
                    sqlite(task_start),
                    sqlite(task_start if task.started else None),
                    sqlite(task_start + task.duration),
                    sqlite(_EPOCH + (ran or timedelta())),
                    task_run,
                )
            )
            if task.state_type == "RUNNING":
                running_rows.append((sqlite(task_start - RUNNING_SINCE), task_run))
            task_start += task.duration
    with sqlite3.connect(source.home / "prefect.db", timeout=30) as database:
        database.executemany(
            "UPDATE flow_run SET expected_start_time = ?, start_time = ?,"
            " end_time = CASE WHEN end_time IS NULL THEN NULL ELSE ? END"
            " WHERE id = ?",
            flow_rows,
        )
        database.executemany(
            "UPDATE task_run SET expected_start_time = ?, start_time = ?,"
            " end_time = CASE WHEN end_time IS NULL THEN NULL ELSE ? END,"
            " total_run_time = ?"
            " WHERE id = ?",
            task_rows,
        )
        database.executemany(
            "UPDATE task_run_state SET timestamp = ?"
            " WHERE id = (SELECT state_id FROM task_run WHERE id = ?)",
            running_rows,
        )
        database.executemany("UPDATE task_run SET state_timestamp = ? WHERE id = ?", running_rows)
    database.close()


def make_varied_history(
    source: Source, seed: int = SEED, count: int = FLOW_RUNS, around: datetime | None = None
) -> Made:
    """The plan of `seed` made on `source`: the ids Prefect gave what it made."""
    planned = plan(seed, count, around)
    made = asyncio.run(_make(source, planned))
    _move_times(source, planned, made)
    return made


def delete_oversized_runs(source: Source) -> None:
    """Deletes the run of the real flows' history whose Failed state passes DynamoDB's item
    limit: the archive skips its record by design and names it (the import tests' concern),
    so a comparison of whole answers leaves it out."""
    with source.http() as http:
        body = {"flows": {"name": {"any_": ["oversized"]}}}
        for run in http.post("/flow_runs/filter", json=body).raise_for_status().json():
            http.delete(f"/flow_runs/{run['id']}").raise_for_status()
