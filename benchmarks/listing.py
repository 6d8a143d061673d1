"""Listing cost against dynalite: runs of 10 to 10,000 states, through the list function.

dynalite pages like DynamoDB (1 MB a page), so a long listing shows its cost per page.
Run as `python -m benchmarks.listing`: it starts dynalite on a free loopback port, fills
the tables in parallel, measures, stops dynalite, and prints its figures as JSON.
"""

import argparse
import dataclasses
import json
import os
import statistics
import subprocess
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from benchmarks.functions import PROJECT, invoke
from benchmarks.states import sample_state
from tests.lambda_events import http_api_event
from tests.servers import free_port

DYNALITE = PROJECT / "node_modules" / ".bin" / "dynalite"
RUN_LENGTHS = (10, 100, 1_000, 10_000)
SEED_THREADS = 8


@dataclass(frozen=True, slots=True)
class ListingFigures:
    states: int
    listed: int
    repetitions: int
    median_ms: float
    us_per_state: float
    calls: int  # DynamoDB calls per listing
    pages: int  # Query responses per listing
    body_bytes: int


@contextmanager
def dynalite() -> Iterator[str]:
    """dynalite on a free loopback port; yields its endpoint URL."""
    port = free_port()
    process = subprocess.Popen(
        [
            *(str(DYNALITE), "--host", "127.0.0.1", "--port", str(port)),
            *("--createTableMs", "0", "--deleteTableMs", "0"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def measure_listing(run_lengths: tuple[int, ...]) -> list[ListingFigures]:
    with dynalite() as endpoint:
        os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = endpoint
        # Imported once the endpoint is set: the function's client is made from it.
        from api.dependencies import dynamodb_repository
        from api.runs import FLOW_RUN
        from handlers.list_flow_run_states import handler
        from local.tables import create_tables
        from storage.dynamodb import dynamodb_client

        client = dynamodb_client()
        _wait_until_answering(client)
        create_tables(client)
        repository = dynamodb_repository(FLOW_RUN.table)
        runs = {length: str(uuid.uuid4()) for length in run_lengths}
        states = [
            sample_state(FLOW_RUN, run_id, index)
            for length, run_id in runs.items()
            for index in range(length)
        ]
        with ThreadPoolExecutor(SEED_THREADS) as pool:
            for _ in pool.map(repository.insert, states):
                pass

        calls = 0
        pages = 0

        def count_call(**_: Any) -> None:
            nonlocal calls
            calls += 1

        def count_page(parsed: dict[str, Any], **_: Any) -> None:
            nonlocal pages
            pages += "Items" in parsed

        client.meta.events.register("before-call.dynamodb.Query", count_call)
        client.meta.events.register("after-call.dynamodb.Query", count_page)
        figures = []
        for length, run_id in runs.items():
            event = http_api_event("GET", FLOW_RUN.states_path, query=f"flow_run_id={run_id}")
            repetitions = max(3, min(20, 2_000 // length))
            durations = []
            for _ in range(repetitions):
                calls = pages = 0
                start = time.perf_counter()
                response = invoke(handler, event)
                durations.append(time.perf_counter() - start)
            median_ms = statistics.median(durations) * 1e3
            figures.append(
                ListingFigures(
                    states=length,
                    listed=len(json.loads(response["body"])),
                    repetitions=repetitions,
                    median_ms=median_ms,
                    us_per_state=median_ms * 1e3 / length,
                    calls=calls,
                    pages=pages,
                    body_bytes=len(response["body"]),
                )
            )
        return figures


def _wait_until_answering(client: Any, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            client.list_tables()
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run-lengths", type=int, nargs="+", default=list(RUN_LENGTHS))
    options = parser.parse_args()
    figures = measure_listing(tuple(options.run_lengths))
    print(json.dumps([dataclasses.asdict(figure) for figure in figures]))


if __name__ == "__main__":
    main()
