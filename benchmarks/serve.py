"""`make serve`'s warm HTTP latency on its default database, beside a Prefect 3.9.1 server.

Three servers answer the same two requests over keep-alive HTTP: a read of a state by id,
and the list of a run's states (`GET /api/flow_run_states/?flow_run_id=`, unpaged):

- `make serve` (`python -m local.serve`) on DynamoDB Local keeping its tables in a folder,
  as `make serve` starts it, holding the run alone;
- a second `make serve` on the same DynamoDB Local, whose tables also hold `--other-states`
  states of other runs: the list should cost the same (one Query on the run's key);
- a Prefect 3.9.1 server (`.tools/prefect`) on SQLite in a temporary PREFECT_HOME.

Each run is written through its server's own API, with the same `set_state` bodies
(`force`, which Prefect needs to store any sequence of states). The requests are taken in
rounds, every server in turn and each round in a rotated order, so that drift on a shared
machine weighs on all alike. Run as `python -m benchmarks.serve`; it prints JSON.
"""

import argparse
import dataclasses
import functools
import json
import os
import statistics
import tempfile
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import httpx

from api.clock import utc_now
from api.routes.client import API_VERSION
from api.runs import FLOW_RUN
from api.settings import TABLE_VARIABLES
from benchmarks.listing import SEED_THREADS
from benchmarks.rounds import percentile, timed_rounds
from benchmarks.states import sample_state
from local.database import LOCAL_AWS_SETTINGS
from local.dynamodb_local import dynamodb_local
from local.servers import post_retrying_unavailable, prefect_server, run_states_service
from storage.clients import aws_client
from storage.dynamodb import DynamoDBStateRepository

RUN_LENGTH = 100  # states in the run that is listed
OTHER_STATES = 4_000  # states of other runs beside it, in the crowded service's table
ROUNDS = 200
# Rounds before the measured ones, taken the same way. DynamoDB Local's JVM takes a few
# hundred Queries to compile its hot paths; until then a list costs about a third more.
WARM_UP = 100
CROWDED_TABLE_PREFIX = "crowded-"  # the crowded service's tables: the default names, prefixed

SERVICE = "make serve"
PREFECT = "Prefect 3.9.1"
_HEADERS = {"X-Prefect-Api-Version": API_VERSION}  # as Prefect's client sends it

Request = Literal["read", "list"]
REQUESTS: tuple[Request, ...] = ("read", "list")


@dataclass(frozen=True, slots=True)
class RequestFigures:
    server: str  # SERVICE or PREFECT
    other_states: int  # states of other runs in the same table
    request: Request
    status: int
    states: int  # states in the answer: 1 for a read
    body_bytes: int
    rounds: int
    p50_ms: float
    p90_ms: float


@dataclass(frozen=True, slots=True)
class _Server:
    """A server under measurement, its run written, and what each request should answer."""

    label: str
    other_states: int
    http: httpx.Client
    run_id: str
    state_ids: list[str]  # the run's states, oldest first

    def send(self, request: Request) -> httpx.Response:
        """A read of the run's last state by id, or the list of the run's states."""
        if request == "read":
            return self.http.get(f"/flow_run_states/{self.state_ids[-1]}")
        return self.http.get("/flow_run_states/", params={FLOW_RUN.run_id_field: self.run_id})


def _proposals(run_length: int) -> list[dict[str, Any]]:
    """The run's states, as `set_state` proposes them: a flow run's usual history, its
    running state repeated."""
    running: list[dict[str, Any]] = [
        {"type": "RUNNING", "message": f"step {index}"} for index in range(run_length - 3)
    ]
    return [
        {"type": "SCHEDULED"},
        {"type": "PENDING"},
        *running,
        {"type": "COMPLETED", "data": {"rows": run_length}},
    ][:run_length]


def _set_states(http: httpx.Client, run_id: str, proposals: list[dict[str, Any]]) -> list[str]:
    """Each proposal, in turn, as the flow run's state (forced): the states' ids."""
    ids = []
    for state in proposals:
        body = {"state": state, "force": True}
        answer = post_retrying_unavailable(http, f"/flow_runs/{run_id}/set_state", body)
        ids.append(answer["state"]["id"])
    return ids


def _write_service_run(http: httpx.Client, run_length: int) -> tuple[str, list[str]]:
    """A new run of `run_length` states on the service: its id and its states' ids."""
    run_id = str(uuid.uuid4())
    return run_id, _set_states(http, run_id, _proposals(run_length))


def _write_prefect_run(http: httpx.Client, run_length: int) -> tuple[str, list[str]]:
    """A new flow run of `run_length` states on a Prefect server, which knows flow runs and
    gives a new one its first state: its id and its states' ids."""
    first, *rest = _proposals(run_length)
    flow = post_retrying_unavailable(http, "/flows/", {"name": f"bench-{uuid.uuid4().hex[:8]}"})
    run = post_retrying_unavailable(http, "/flow_runs/", {"flow_id": flow["id"], "state": first})
    run_id: str = run["id"]
    return run_id, [run["state"]["id"], *_set_states(http, run_id, rest)]


def _store_other_runs(endpoint: str, table_name: str, states: int) -> None:
    """`states` states of other runs, ten to a run, straight into the table: what the listed
    run's neighbours would be. Not through HTTP: only their presence is measured."""
    client = aws_client("dynamodb", endpoint=endpoint, connections=SEED_THREADS)
    repository = DynamoDBStateRepository(FLOW_RUN.table, table_name, client, utc_now)
    runs = [str(uuid.uuid4()) for _ in range(max(1, states // 10))]
    others = [sample_state(FLOW_RUN, runs[index % len(runs)], index) for index in range(states)]
    with ThreadPoolExecutor(SEED_THREADS) as pool:
        for _ in pool.map(repository.insert, others):
            pass


def _crowded_tables() -> dict[str, str]:
    """The environment that gives a service tables of its own on the same DynamoDB."""
    return {
        variables.name: CROWDED_TABLE_PREFIX + variables.default_name
        for variables in TABLE_VARIABLES.values()
    }


@contextmanager
def _servers(run_length: int, other_states: int) -> Iterator[list[_Server]]:
    """The three servers, each holding its run; the crowded one the other states too."""
    with ExitStack() as stack:
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-serve-")))
        endpoint = stack.enter_context(dynamodb_local(scratch / "dynamodb"))
        service_url = stack.enter_context(run_states_service(endpoint))
        crowded_tables = _crowded_tables()
        crowded_url = stack.enter_context(run_states_service(endpoint, **crowded_tables))
        prefect_url = stack.enter_context(prefect_server(scratch / "prefect"))
        servers = []
        for label, others, url in (
            (SERVICE, 0, service_url),
            (SERVICE, other_states, crowded_url),
            (PREFECT, 0, prefect_url),
        ):
            http = stack.enter_context(httpx.Client(base_url=url, headers=_HEADERS))
            write_run = _write_prefect_run if label == PREFECT else _write_service_run
            run_id, ids = write_run(http, run_length)
            servers.append(_Server(label, others, http, run_id, ids))
        crowded_table = crowded_tables[TABLE_VARIABLES[FLOW_RUN.table].name]
        _store_other_runs(endpoint, crowded_table, other_states)
        yield servers


def _checked(server: _Server, request: Request, answer: httpx.Response) -> int:
    """The number of states in a right answer; raises on any other."""
    if answer.status_code != 200:
        raise RuntimeError(f"{server.label}: {request} answered {answer.status_code}")
    body = answer.json()
    if request == "read":
        if body["id"] != server.state_ids[-1]:
            raise RuntimeError(f"{server.label}: the read answered another state")
        return 1
    if [state["id"] for state in body] != server.state_ids:
        raise RuntimeError(f"{server.label}: the list is not the run's states, oldest first")
    return len(body)


def measure_serve(
    run_length: int = RUN_LENGTH,
    other_states: int = OTHER_STATES,
    rounds: int = ROUNDS,
    warm_up: int = WARM_UP,
) -> list[RequestFigures]:
    with _servers(run_length, other_states) as servers:
        # A read on each server but the crowded one (a GetItem by key, like the other's);
        # a list on each.
        subjects = [
            (server, request)
            for request in REQUESTS
            for server in servers
            if request == "list" or server.other_states == 0
        ]
        first_answers = [server.send(request) for server, request in subjects]
        listed = [
            _checked(server, request, answer)
            for (server, request), answer in zip(subjects, first_answers, strict=True)
        ]
        requests = [functools.partial(server.send, request) for server, request in subjects]
        durations = timed_rounds(requests, rounds, warm_up)
        return [
            RequestFigures(
                server=server.label,
                other_states=server.other_states,
                request=request,
                status=answer.status_code,
                states=states,
                body_bytes=len(answer.content),
                rounds=rounds,
                p50_ms=statistics.median(taken) * 1e3,
                p90_ms=percentile(taken, 90) * 1e3,
            )
            for (server, request), states, answer, taken in zip(
                subjects, listed, first_answers, durations, strict=True
            )
        ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run-length", type=int, default=RUN_LENGTH)
    parser.add_argument("--other-states", type=int, default=OTHER_STATES)
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    options = parser.parse_args()
    os.environ.update(LOCAL_AWS_SETTINGS)
    figures = measure_serve(options.run_length, options.other_states, options.rounds)
    print(json.dumps([dataclasses.asdict(figure) for figure in figures]))


if __name__ == "__main__":
    main()
