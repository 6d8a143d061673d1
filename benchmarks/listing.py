"""Listing cost against DynamoDB Local (in memory): runs of 10 to 10,000 states, through the
list function.

Each run is listed as a client pages through it (`limit`, then each `X-Next-Cursor`), so
every length is listed the same way: one Query per page, and no call per state.
Run as `python -m benchmarks.listing`: it starts DynamoDB Local on a free loopback port, fills
the tables in parallel, measures, stops it, and prints its figures as JSON.
"""

import argparse
import dataclasses
import json
import os
import statistics
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from api.clock import utc_now
from api.paging import MAX_LIMIT, NEXT_CURSOR_HEADER
from api.runs import FLOW_RUN
from api.settings import DYNAMODB_ENDPOINT_VARIABLE
from benchmarks.states import sample_state
from local.dynamodb_local import dynamodb_local
from local.invoke import invoke
from local.lambda_events import http_api_event

if TYPE_CHECKING:
    from mangum import Mangum

RUN_LENGTHS = (10, 100, 1_000, 10_000)
SEED_THREADS = 8
PAGE_LIMIT = MAX_LIMIT  # states per page: the most a client may ask for


@dataclass(frozen=True, slots=True)
class ListingFigures:
    states: int
    listed: int
    repetitions: int
    median_ms: float
    us_per_state: float
    calls: int  # DynamoDB calls (Queries) per listing
    pages: int  # responses per listing: pages of at most PAGE_LIMIT states
    body_bytes: int


def measure_listing(run_lengths: tuple[int, ...]) -> list[ListingFigures]:
    with dynamodb_local() as endpoint:
        os.environ[DYNAMODB_ENDPOINT_VARIABLE] = endpoint
        # Imported once the endpoint is set: the function's client is made from it.
        from api.services import dynamodb_repository
        from api.settings import Settings
        from handlers.list_flow_run_states import handler
        from local.template_tables import create_tables
        from storage.dynamodb import dynamodb_client

        client = dynamodb_client()
        create_tables(client, Settings())
        repository = dynamodb_repository(FLOW_RUN.table, Settings().flow_run_states.name, utc_now)
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

        def count_call(**_: Any) -> None:
            nonlocal calls
            calls += 1

        client.meta.events.register("before-call.dynamodb.Query", count_call)
        figures = []
        for length, run_id in runs.items():
            repetitions = max(3, min(20, 2_000 // length))
            durations = []
            for _ in range(repetitions):
                calls = 0
                start = time.perf_counter()
                pages = _list_in_pages(handler, run_id)
                durations.append(time.perf_counter() - start)
            median_ms = statistics.median(durations) * 1e3
            figures.append(
                ListingFigures(
                    states=length,
                    listed=sum(len(json.loads(page)) for page in pages),
                    repetitions=repetitions,
                    median_ms=median_ms,
                    us_per_state=median_ms * 1e3 / length,
                    calls=calls,
                    pages=len(pages),
                    body_bytes=sum(len(page) for page in pages),
                )
            )
        return figures


def _list_in_pages(handler: "Mangum", run_id: str) -> list[str]:
    """A run's whole listing, as a client pages through it: `limit`, then each response's
    cursor, until a response comes without one. The body of each page."""
    bodies = []
    query = f"{FLOW_RUN.run_id_field}={run_id}&limit={PAGE_LIMIT}"
    while True:
        response = invoke(handler, http_api_event("GET", FLOW_RUN.states_path, query=query))
        if response["statusCode"] != 200:
            raise RuntimeError(f"the listing answered {response['statusCode']}")
        bodies.append(response["body"])
        headers = {name.lower(): value for name, value in response["headers"].items()}
        cursor = headers.get(NEXT_CURSOR_HEADER.lower())
        if cursor is None:
            return bodies
        query = f"{FLOW_RUN.run_id_field}={run_id}&limit={PAGE_LIMIT}&cursor={cursor}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run-lengths", type=int, nargs="+", default=list(RUN_LENGTHS))
    options = parser.parse_args()
    figures = measure_listing(tuple(options.run_lengths))
    print(json.dumps([dataclasses.asdict(figure) for figure in figures]))


if __name__ == "__main__":
    main()
