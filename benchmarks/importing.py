"""Importing from a live Prefect 3.9.1 server into DynamoDB Local at size, beside the floor: the
time to only read the same states from the server, with the same concurrency. Prints JSON.

The server grows to a quarter of `--runs` flow runs, then to `--runs`, each with
`--task-runs` task runs, every run of 3 states (benchmarks/prefect_volume.py). At each size
the floor and an import into fresh tables each run in a process of their own, started by a
small launcher that reads its peak RSS (benchmarks/cold.py), so that memory is the
importing process's own. Then a follow pass with nothing new, counting its requests to
Prefect (any httpx client's, by method and path) and its DynamoDB calls and keys read
(botocore's `before-call` events).
"""

import argparse
import json
import os
import re
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any
from unittest import mock

import httpx

from api.runs import FLOW_RUN, TASK_RUN
from api.settings import (
    DYNAMODB_ENDPOINT_VARIABLE,
    RECORD_TABLE_VARIABLES,
    Settings,
    TableSettings,
)
from benchmarks.cold import launch_measured
from benchmarks.prefect_volume import PrefectVolume
from importer.passes import Importer
from importer.progress import Progress
from importer.wiring import CONNECTIONS, open_importer
from local.database import LOCAL_AWS_SETTINGS
from local.dynamodb_local import dynamodb_local
from local.paths import PROJECT
from local.servers import prefect_server
from local.template_tables import create_tables
from storage.clients import aws_client

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

PAGE = 200  # runs a listing request asks for: the importer's page
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def read_everything(api_url: str) -> int:
    """Every run's states, read with the importer's concurrency (listed a page at a time,
    each page's runs' states 8 at once); the number of states. Plain HTTP, so that the floor
    is the server's and nothing of the importer's."""
    states = 0
    limits = httpx.Limits(max_connections=CONNECTIONS)
    with (
        httpx.Client(base_url=api_url, limits=limits, timeout=60) as http,
        ThreadPoolExecutor(CONNECTIONS) as executor,
    ):
        for kind in (FLOW_RUN, TASK_RUN):
            runs_path = kind.runs_path.removeprefix("/api")
            states_path = kind.states_path.removeprefix("/api") + "/"

            def count(
                run_id: str, states_path: str = states_path, field: str = kind.run_id_field
            ) -> int:
                response = http.get(states_path, params={field: run_id}).raise_for_status()
                return len(response.json())

            offset = 0
            while True:
                body = {"sort": "ID_DESC", "limit": PAGE, "offset": offset}
                runs = http.post(f"{runs_path}/filter", json=body).raise_for_status().json()
                states += sum(executor.map(count, [run["id"] for run in runs]))
                offset += len(runs)
                if len(runs) < PAGE:
                    break
    return states


def table_settings(suffix: str) -> Settings:
    return Settings(
        flow_run_states=TableSettings(f"flow-run-states-{suffix}"),
        task_run_states=TableSettings(f"task-run-states-{suffix}"),
        record_tables=tuple(
            (table, f"{variable.default_name}-{suffix}")
            for table, variable in RECORD_TABLE_VARIABLES.items()
        ),
    )


class _Quiet(Progress):
    def listing(self, what: str) -> None:
        pass

    def update(self, covered: float, summary: object) -> None:
        pass

    def done(self) -> None:
        pass


def follow_pass(importer: Importer) -> None:
    """One pass of a follower that has nothing new to copy: on a checkpoint whose copy has
    completed, `run()` is one follow pass over Prefect's events."""
    importer.run()


@contextmanager
def counted_requests() -> Iterator[Counter[str]]:
    """Every request any httpx client of this process sends, by method and path (ids as
    `{id}`, without the query), counted at the transport: whatever API the importer has."""
    counter: Counter[str] = Counter()
    send = httpx.HTTPTransport.handle_request

    def counting(transport: httpx.HTTPTransport, request: httpx.Request) -> httpx.Response:
        counter[f"{request.method} {_UUID.sub('{id}', request.url.path)}"] += 1
        return send(transport, request)

    with mock.patch.object(httpx.HTTPTransport, "handle_request", counting):
        yield counter


@contextmanager
def counted_dynamodb_calls(client: "DynamoDBClient") -> Iterator[Counter[str]]:
    """`client`'s calls by operation, and the keys its reads asked for (`<operation> keys`)."""
    counter: Counter[str] = Counter()

    def count(model: Any, params: dict[str, Any], **kwargs: Any) -> None:
        counter[model.name] += 1
        if model.name == "BatchGetItem":
            items = json.loads(params["body"])["RequestItems"]  # the request as sent
            keys = sum(len(request["Keys"]) for request in items.values())
            counter["BatchGetItem keys"] += keys
        elif model.name == "GetItem":
            counter["GetItem keys"] += 1

    client.meta.events.register("before-call.dynamodb", count)
    try:
        yield counter
    finally:
        client.meta.events.unregister("before-call.dynamodb", count)


def child(mode: str, api_url: str, suffix: str) -> dict[str, Any]:
    """What one measured process does: `floor`, `import` (into fresh tables named by
    `suffix`) or `follow` (a follow pass over those tables, once imported)."""
    if mode == "floor":
        began = time.perf_counter()
        states = read_everything(api_url)
        return {"seconds": time.perf_counter() - began, "states": states}
    settings = table_settings(suffix)
    client = aws_client("dynamodb", connections=CONNECTIONS, bulk=True)
    if mode == "import":
        create_tables(client, settings)
        with open_importer(api_url, settings, progress=_Quiet(), client=client) as importer:
            began = time.perf_counter()
            importer.run()
            seconds = time.perf_counter() - began
        return {"seconds": seconds, "states": importer.summary.states_copied}
    with (
        counted_requests() as requests,
        open_importer(api_url, settings, progress=_Quiet(), client=client) as importer,
        counted_dynamodb_calls(client) as calls,
    ):
        began = time.perf_counter()
        follow_pass(importer)
        seconds = time.perf_counter() - began
    return {
        "seconds": seconds,
        "states": importer.summary.states_copied,
        "requests": dict(requests),
        "dynamodb": dict(calls),
    }


def measured(mode: str, api_url: str, suffix: str) -> dict[str, Any]:
    """`child(mode, ...)` in a process of its own: what it returned, and its peak RSS."""
    argv = [sys.executable, "-m", "benchmarks.importing", "--child", mode, api_url, suffix]
    ((_, peak_rss_mb, printed),) = launch_measured({mode: argv}, [mode], os.environ, cwd=PROJECT)[
        mode
    ]
    figures: dict[str, Any] = json.loads(str(printed))
    figures["peak_rss_mb"] = peak_rss_mb
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000, help="flow runs at the full size")
    parser.add_argument("--task-runs", type=int, default=3, help="task runs per flow run")
    parser.add_argument("--child", nargs=3, metavar=("MODE", "API_URL", "SUFFIX"))
    options = parser.parse_args()
    if options.child:
        print(json.dumps(child(*options.child)))
        return

    os.environ.update(LOCAL_AWS_SETTINGS)
    sizes = [options.runs // 4, options.runs]
    rows = []
    with (
        tempfile.TemporaryDirectory(prefix="bench-prefect-") as home,
        prefect_server(Path(home)) as api_url,
        dynamodb_local() as endpoint,
    ):
        os.environ[DYNAMODB_ENDPOINT_VARIABLE] = endpoint
        volume = PrefectVolume(api_url, Path(home), options.task_runs)
        suffix = ""
        for size in sizes:
            began = time.perf_counter()
            volume.fill(size)
            made_s = time.perf_counter() - began
            floor = measured("floor", api_url, "")
            suffix = uuid.uuid4().hex[:8]  # fresh tables: every state is copied
            imported = measured("import", api_url, suffix)
            rows.append(
                {
                    "flow_runs": size,
                    "task_runs": size * options.task_runs,
                    "made_s": made_s,
                    "floor": floor,
                    "import": imported,
                }
            )
        follow = measured("follow", api_url, suffix)
    print(json.dumps({"sizes": rows, "follow": follow}))


if __name__ == "__main__":
    main()
