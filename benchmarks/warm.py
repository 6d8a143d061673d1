"""Warm overhead: many invocations of each function's Mangum handler in one process.

With `--storage memory`, each table is a `MemoryRepository` put in place through the app's
`dependency_overrides`: what is left is everything but the database. With `--storage moto`,
the functions' own DynamoDB repositories talk to moto in the same process. Run as
`python -m benchmarks.warm`, in a process of its own, so that nothing the benchmark
itself loads weighs on the collector; it prints its figures as JSON.
"""

import argparse
import dataclasses
import importlib
import json
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from fastapi import FastAPI
from mangum import Mangum

from api.dependencies import dynamodb_repository, repository_for
from benchmarks.functions import (
    LambdaFunction,
    StorageRequest,
    invoke,
    load_event,
    storage_request,
    template_functions,
)
from benchmarks.states import MemoryRepository, after_each, before_each, seed
from storage.repository import StateRepository

Storage = Literal["memory", "moto"]
WARM_UP = 50  # invocations before the measured ones: the first builds what later ones reuse


@dataclass(frozen=True, slots=True)
class WarmFigures:
    function: str
    storage: Storage
    status: int
    invocations: int
    p50_us: float
    p99_us: float


def _handler(function: LambdaFunction) -> Mangum:
    handler: Mangum = getattr(importlib.import_module(function.module), function.attribute)
    return handler


def _app(handler: Mangum) -> FastAPI:
    app = handler.app
    assert isinstance(app, FastAPI), "a function's handler serves a FastAPI app"
    return app


@contextmanager
def _repository(
    handler: Mangum, request: StorageRequest | None, storage: Storage
) -> Iterator[StateRepository | None]:
    """The repository the function will use, seeded with what its event asks for."""
    if request is None:
        yield None
        return
    if storage == "moto":
        repository: StateRepository = dynamodb_repository(request.kind.table)
        seed(repository, request)
        yield repository
        return
    memory = MemoryRepository()
    seed(memory, request)

    async def provide() -> StateRepository:
        return memory

    overrides = _app(handler).dependency_overrides
    overrides[repository_for(request.kind.table)] = provide
    try:
        yield memory
    finally:
        overrides.clear()


def _percentile(sorted_values: list[float], fraction: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(fraction * len(sorted_values)))]


def measure_function(
    function: LambdaFunction, event: dict[str, Any], storage: Storage, invocations: int
) -> WarmFigures:
    handler = _handler(function)
    request = storage_request(event)
    durations: list[float] = []
    status = 0
    with _repository(handler, request, storage) as repository:
        for index in range(WARM_UP + invocations):
            if repository is not None:
                before_each(repository, request)
            start = time.perf_counter_ns()
            response = invoke(handler, event)
            elapsed = time.perf_counter_ns() - start
            if repository is not None:
                after_each(repository, request, response)
            status = response["statusCode"]
            if index >= WARM_UP:
                durations.append(elapsed / 1e3)
    durations.sort()
    return WarmFigures(
        function=function.logical_id,
        storage=storage,
        status=status,
        invocations=invocations,
        p50_us=statistics.median(durations),
        p99_us=_percentile(durations, 0.99),
    )


def measure_warm(events: Path, storage: Storage, invocations: int) -> list[WarmFigures]:
    with ExitStack() as stack:
        if storage == "moto":
            stack.enter_context(_moto())
        return [
            measure_function(function, load_event(events, function), storage, invocations)
            for function in template_functions()
        ]


@contextmanager
def _moto() -> Iterator[None]:
    from moto import mock_aws

    from local.tables import create_tables
    from storage.dynamodb import dynamodb_client

    with mock_aws():
        create_tables(dynamodb_client())
        yield


def main(arguments: list[str] | None = None, output: Callable[[str], Any] = print) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=Path, required=True)
    parser.add_argument("--storage", choices=["memory", "moto"], required=True)
    parser.add_argument("--invocations", type=int, default=1000)
    options = parser.parse_args(arguments)
    figures = measure_warm(options.events, options.storage, options.invocations)
    output(json.dumps([dataclasses.asdict(figure) for figure in figures]))


if __name__ == "__main__":
    main()
