"""Finding runs in a large archive through `make serve`, beside a Prefect 3.9.1 server.

- A Prefect 3.9.1 server (`.tools/prefect`, SQLite in a temporary PREFECT_HOME) makes the
  templates: a flow run of three task runs made through its client, 50 flows and a
  deployment for each, made through its API (benchmarks/archive_runs.py varies them).
- The archive: `--records-flow-runs` flow runs (100,000) and their task runs (three each)
  written straight into DynamoDB Local (its tables in a temporary folder, as `make serve`
  keeps them) through `DynamoDBRecordStore.put_records`, from threads, in chunks; the flows
  and deployments too.
- Prefect's slice: the newest `--prefect-flow-runs` of the same flow runs (10,000, the last
  36 days at 100,000 runs a year) and their task runs, written into its SQLite
  (benchmarks/prefect_slice.py). Every query below asks for runs of those days, so both
  servers hold every run it matches, and must answer the same.
- `python -m local.serve` (what `make serve` runs) on that DynamoDB Local, and the six
  queries of issue 21 asked of both over keep-alive HTTP: warm-up rounds, then measured
  rounds taking each (server, query) in turn, in an order rotated each round. The first
  answers of the two servers are compared (the same ids in the same order, the same
  count), and every answer's status is checked.

Run as `python -m benchmarks.archive`; it prints JSON.
"""

import argparse
import dataclasses
import functools
import itertools
import json
import os
import statistics
import tempfile
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from api.clock import utc_now
from api.routes.client import API_VERSION
from api.settings import Settings
from benchmarks.archive_runs import (
    FLOWS,
    TASK_RUNS_PER_FLOW_RUN,
    ArchiveRuns,
    Record,
    Templates,
    served_time,
)
from benchmarks.prefect_slice import PrefectSlice
from benchmarks.rounds import percentile, timed_rounds
from local.database import LOCAL_AWS_SETTINGS
from local.dynamodb_local import dynamodb_local
from local.servers import (
    post_retrying_unavailable,
    prefect_server,
    run_prefect_flows,
    run_states_service,
)
from local.template_tables import create_tables
from queries import Kind
from storage.clients import aws_client
from storage.record_items import RecordToStore
from storage.records import DynamoDBRecordStore

RECORDS_FLOW_RUNS = 100_000
PREFECT_FLOW_RUNS = 10_000
ROUNDS = 50
WARM_UP = 20
LOAD_THREADS = 4
LOAD_READ_TIMEOUT = 60  # seconds: DynamoDB Local's writes queue up behind each other
LOAD_CHUNK = 100  # flow runs (and their task runs) per put_records call
QUERIED_TAG = "nightly"
_MEMORY_FOLDER = Path("/dev/shm")

SERVICE = "make serve"
PREFECT = "Prefect 3.9.1"
_HEADERS = {"X-Prefect-Api-Version": API_VERSION}


@dataclass(frozen=True, slots=True)
class Query:
    label: str
    path: str
    body: dict[str, Any] | None  # None: a GET

    def send(self, http: httpx.Client) -> httpx.Response:
        if self.body is None:
            return http.get(self.path)
        return http.post(self.path, json=self.body)


@dataclass(frozen=True, slots=True)
class QueryFigures:
    server: str
    query: str
    status: int
    answer: str  # how many runs it answered (or the count)
    body_bytes: int
    rounds: int
    p50_ms: float
    p95_ms: float


@dataclass(frozen=True, slots=True)
class ArchiveFigures:
    flow_runs: int
    task_runs: int
    load_seconds: float
    prefect_flow_runs: int
    prefect_task_runs: int
    prefect_fill_seconds: float
    queries: list[QueryFigures]


def _queries(runs: ArchiveRuns, first_in_slice: int) -> list[Query]:
    """Issue 21's six queries, about the busiest flow, a run and the days before `end`."""
    newest = runs.flow_runs - 1
    a_run, _ = runs.flow_run((first_in_slice + newest) // 2)

    def days_before_end(first: int, last: int) -> dict[str, str]:
        return {
            "after_": served_time(runs.end - timedelta(days=first)),
            "before_": served_time(runs.end - timedelta(days=last)),
        }

    failed = {"type": {"any_": ["FAILED"]}}
    return [
        Query(
            "a flow's newest 200 runs",
            "/flow_runs/filter",
            {
                "flows": {"id": {"any_": [runs.flow_id(0)]}},
                "sort": "EXPECTED_START_TIME_DESC",
                "limit": 200,
            },
        ),
        Query(
            "the failed flow runs of one day",
            "/flow_runs/filter",
            {
                "flow_runs": {"state": failed, "start_time": days_before_end(2, 1)},
                "sort": "START_TIME_DESC",
            },
        ),
        Query(
            f"the runs tagged {QUERIED_TAG} in one week",
            "/flow_runs/filter",
            {
                "flow_runs": {
                    "tags": {"all_": [QUERIED_TAG]},
                    "start_time": days_before_end(8, 1),
                },
                "sort": "START_TIME_DESC",
                "limit": 200,
            },
        ),
        Query(
            "a flow run's task runs",
            "/task_runs/filter",
            {"flow_runs": {"id": {"any_": [a_run["id"]]}}},
        ),
        Query(
            "the failed flow runs of 30 days, counted",
            "/flow_runs/count",
            {"flow_runs": {"state": failed, "start_time": days_before_end(31, 1)}},
        ),
        Query("a flow run by id", f"/flow_runs/{a_run['id']}", None),
    ]


def _scratch_parent() -> str | None:
    """Where the servers keep their data: in memory (tmpfs) where the machine has it, since
    DynamoDB Local on a disk syncs every write (loading took 2.5 times as long); else the
    default temporary folder."""
    return str(_MEMORY_FOLDER) if _MEMORY_FOLDER.is_dir() else None


def _templates(http: httpx.Client, home: Path, api_url: str) -> tuple[Templates, str]:
    """A flow run and task run made through Prefect's client, and the flows and deployments,
    made through its API: the templates, and the template flow run's id."""
    made = run_prefect_flows(api_url, home, "recorded", "1", "3")
    (template_id,) = json.loads(made)["flow_runs"]
    flow_run = http.get(f"/flow_runs/{template_id}").raise_for_status().json()
    task_runs = http.post(
        "/task_runs/filter", json={"flow_runs": {"id": {"any_": [template_id]}}}
    ).raise_for_status()
    flows, deployments = [], []
    for number in range(FLOWS):
        flow = post_retrying_unavailable(http, "/flows/", {"name": f"pipeline-{number:02d}"})
        flows.append(flow)
        deployment = {"name": "scheduled", "flow_id": flow["id"]}
        deployments.append(post_retrying_unavailable(http, "/deployments/", deployment))
    return Templates(flow_run, task_runs.json()[0], flows, deployments), template_id


def _served(record: Record) -> RecordToStore:
    """A record as Prefect's JSON response writes it (tests/prefect_records.py)."""
    return RecordToStore(json.dumps(record, separators=(",", ":"), ensure_ascii=False))


def _load_archive(endpoint: str, runs: ArchiveRuns) -> float:
    """Every record into the archive's tables (made from template.yaml): the seconds it took."""
    client = aws_client(
        "dynamodb", endpoint=endpoint, connections=LOAD_THREADS, read_timeout=LOAD_READ_TIMEOUT
    )
    settings = Settings()
    create_tables(client, settings)
    store = DynamoDBRecordStore(settings.record_table_names(), client, utc_now)
    began = time.perf_counter()
    store.put_records(Kind.FLOW, [_served(flow) for flow in runs.templates.flows])
    store.put_records(Kind.DEPLOYMENT, [_served(each) for each in runs.templates.deployments])

    def put(numbers: Sequence[int]) -> None:
        made = [runs.flow_run(number) for number in numbers]
        skipped = store.put_records(Kind.FLOW_RUN, [_served(run) for run, _ in made])
        skipped += store.put_records(
            Kind.TASK_RUN, [_served(task) for _, tasks in made for task in tasks]
        )
        if skipped:
            raise RuntimeError(f"records over DynamoDB's item limit: {skipped}")

    with ThreadPoolExecutor(LOAD_THREADS) as pool:
        for _ in pool.map(put, itertools.batched(range(runs.flow_runs), LOAD_CHUNK)):
            pass
    return time.perf_counter() - began


def _fill_prefect(database: Path, template_id: str, runs: ArchiveRuns, first: int) -> float:
    """Runs `first` to the last into Prefect's SQLite: the seconds it took."""
    began = time.perf_counter()
    prefect_slice = PrefectSlice(database, template_id)
    for numbers in itertools.batched(range(first, runs.flow_runs), 1_000):
        prefect_slice.write(runs.flow_run(number) for number in numbers)
    return time.perf_counter() - began


@contextmanager
def _archive(
    flow_runs: int, prefect_flow_runs: int
) -> Iterator[tuple[dict[str, httpx.Client], list[Query], ArchiveFigures]]:
    """Both servers holding their runs: an HTTP client for each, the queries, the figures
    of the loading (with no query figures yet)."""
    with ExitStack() as stack:
        scratch = Path(
            stack.enter_context(
                tempfile.TemporaryDirectory(prefix="bench-archive-", dir=_scratch_parent())
            )
        )
        prefect_home = scratch / "prefect"
        prefect_url = stack.enter_context(prefect_server(prefect_home))
        prefect = stack.enter_context(httpx.Client(base_url=prefect_url, headers=_HEADERS))
        templates, template_id = _templates(prefect, prefect_home, prefect_url)
        end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=1)
        runs = ArchiveRuns(templates, flow_runs, end)
        first_in_slice = max(0, flow_runs - prefect_flow_runs)
        prefect_seconds = _fill_prefect(
            prefect_home / "prefect.db", template_id, runs, first_in_slice
        )
        # The template run is no part of the data.
        prefect.delete(f"/flow_runs/{template_id}").raise_for_status()
        endpoint = stack.enter_context(dynamodb_local(scratch / "dynamodb"))
        load_seconds = _load_archive(endpoint, runs)
        service_url = stack.enter_context(run_states_service(endpoint))
        service = stack.enter_context(httpx.Client(base_url=service_url, headers=_HEADERS))
        in_slice = flow_runs - first_in_slice
        loaded = ArchiveFigures(
            flow_runs=flow_runs,
            task_runs=flow_runs * TASK_RUNS_PER_FLOW_RUN,
            load_seconds=load_seconds,
            prefect_flow_runs=in_slice,
            prefect_task_runs=in_slice * TASK_RUNS_PER_FLOW_RUN,
            prefect_fill_seconds=prefect_seconds,
            queries=[],
        )
        yield {SERVICE: service, PREFECT: prefect}, _queries(runs, first_in_slice), loaded


def _answer(query: Query, response: httpx.Response) -> tuple[str, Any]:
    """What an answer says, to compare between servers: (a summary, the ids or count)."""
    if response.status_code != 200:
        raise RuntimeError(f"{query.label} answered {response.status_code}: {response.text}")
    body = response.json()
    if isinstance(body, int):
        return f"{body:,}", body
    if isinstance(body, dict):
        return "1", body["id"]
    runs = f"{len(body):,} run" + ("" if len(body) == 1 else "s")
    return runs, [record["id"] for record in body]


def measure_archive(
    flow_runs: int = RECORDS_FLOW_RUNS,
    prefect_flow_runs: int = PREFECT_FLOW_RUNS,
    rounds: int = ROUNDS,
    warm_up: int = WARM_UP,
) -> ArchiveFigures:
    with _archive(flow_runs, prefect_flow_runs) as (servers, queries, loaded):
        subjects = [(server, query) for query in queries for server in servers]
        first_answers = [query.send(servers[server]) for server, query in subjects]
        answers = {
            (server, query.label): _answer(query, response)
            for (server, query), response in zip(subjects, first_answers, strict=True)
        }
        for query in queries:
            if answers[(SERVICE, query.label)] != answers[(PREFECT, query.label)]:
                raise RuntimeError(
                    f"{query.label}: the archive answered {answers[(SERVICE, query.label)]},"
                    f" Prefect {answers[(PREFECT, query.label)]}"
                )
        requests = [functools.partial(query.send, servers[server]) for server, query in subjects]
        durations = timed_rounds(requests, rounds, warm_up)
        figures = [
            QueryFigures(
                server=server,
                query=query.label,
                status=response.status_code,
                answer=answers[(server, query.label)][0],
                body_bytes=len(response.content),
                rounds=rounds,
                p50_ms=statistics.median(taken) * 1e3,
                p95_ms=percentile(taken, 95) * 1e3,
            )
            for (server, query), response, taken in zip(
                subjects, first_answers, durations, strict=True
            )
        ]
        return dataclasses.replace(loaded, queries=figures)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records-flow-runs", type=int, default=RECORDS_FLOW_RUNS)
    parser.add_argument("--prefect-flow-runs", type=int, default=PREFECT_FLOW_RUNS)
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--warm-up", type=int, default=WARM_UP)
    options = parser.parse_args()
    os.environ.update(LOCAL_AWS_SETTINGS)
    figures = measure_archive(
        options.records_flow_runs, options.prefect_flow_runs, options.rounds, options.warm_up
    )
    print(json.dumps(dataclasses.asdict(figures)))


if __name__ == "__main__":
    main()
