"""Warm overhead: many invocations of each function's Mangum handler in one process.

Each function is built from its handler module's endpoints by the same factory, and so takes
the deployed path. With `--storage memory`, its table is an `InMemoryStateRepository`, given
to the factory as tests give theirs: what is left is everything but the database. With
`--storage moto`, the functions' DynamoDB repositories talk to moto in the same process.
The archived records' functions read moto in the same process under either: there is no
in-memory record store (their events name no archived record: a 404, an empty list, 0).
Run as `python -m benchmarks.warm`, in a process of its own, so that nothing the benchmark
itself loads weighs on the collector; it prints its figures as JSON.
"""

import argparse
import dataclasses
import gc
import importlib
import json
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from mangum import Mangum

from api.app import build_handler
from api.clock import Clock, utc_now
from api.services import RepositoryProvider, dynamodb_repository
from api.settings import Settings
from benchmarks.functions import (
    LambdaFunction,
    load_event,
    storage_request,
    template_functions,
)
from benchmarks.states import after_each, before_each, seed
from local.invoke import invoke
from storage.memory import InMemoryStateRepository
from storage.repository import StateRepository
from storage.table_shapes import StateTable

Storage = Literal["memory", "moto"]
WARM_UP = 50  # invocations before the measured ones: the first builds what later ones reuse
# The invocations are made in rounds, each function in turn, so that drift on a shared
# machine weighs on every function alike rather than on whichever runs first.
ROUNDS = 10


@dataclass(frozen=True, slots=True)
class WarmFigures:
    function: str
    storage: Storage
    status: int
    invocations: int
    p50_us: float
    p99_us: float


class _Subject:
    """One function under measurement: its handler, its event, and its table's contents."""

    def __init__(self, function: LambdaFunction, event: dict[str, Any], storage: Storage) -> None:
        self.function = function
        self.storage = storage
        self.event = event
        self.request = storage_request(event)
        self.repository: StateRepository | None = None
        repositories: RepositoryProvider = dynamodb_repository
        if self.request is not None:
            table = self.request.kind.table
            self.repository = (
                InMemoryStateRepository(utc_now)
                if storage == "memory"
                else dynamodb_repository(table, Settings().table(table).name, utc_now)
            )
            seed(self.repository, self.request)
            if storage == "memory":
                repositories = self._memory
        endpoints = importlib.import_module(function.module).endpoints
        self.handler: Mangum = build_handler(
            *endpoints, settings=Settings(), repositories=repositories
        )
        self.durations: list[float] = []
        self.status = 0

    def _memory(self, table: StateTable, name: str, clock: Clock) -> StateRepository:
        assert self.repository is not None
        return self.repository

    def run(self, invocations: int) -> list[float]:
        """Invoke the handler `invocations` times; the duration of each, in µs."""
        request, repository = self.request, self.repository
        if (
            request is not None
            and repository is not None
            and self.storage == "moto"
            and request.operation == "read"
        ):
            seed(repository, request)  # another function's delete may have removed it
        durations = []
        for _ in range(invocations):
            if repository is not None:
                before_each(repository, request)
            start = time.perf_counter_ns()
            response = invoke(self.handler, self.event)
            durations.append((time.perf_counter_ns() - start) / 1e3)
            if repository is not None:
                after_each(repository, request, response)
            self.status = response["statusCode"]
        return durations

    def figures(self) -> WarmFigures:
        durations = sorted(self.durations)
        return WarmFigures(
            function=self.function.logical_id,
            storage=self.storage,
            status=self.status,
            invocations=len(durations),
            p50_us=statistics.median(durations),
            p99_us=_percentile(durations, 0.99),
        )


def _percentile(sorted_values: list[float], fraction: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(fraction * len(sorted_values)))]


def _measure(subjects: Sequence[_Subject], invocations: int, rounds: int) -> list[WarmFigures]:
    gc.freeze()  # as each function does at the end of its init (`api.app.lambda_handler`)
    for subject in subjects:
        subject.run(WARM_UP)
    per_round = -(-invocations // rounds)
    for _ in range(rounds):
        for subject in subjects:
            remaining = invocations - len(subject.durations)
            subject.durations += subject.run(min(per_round, remaining))
    return [subject.figures() for subject in subjects]


def measure_function(
    function: LambdaFunction, event: dict[str, Any], storage: Storage, invocations: int
) -> WarmFigures:
    with _moto():
        (figures,) = _measure([_Subject(function, event, storage)], invocations, rounds=1)
    return figures


def measure_warm(
    events: Path, storage: Storage, invocations: int, rounds: int = ROUNDS
) -> list[WarmFigures]:
    with _moto():
        subjects = [
            _Subject(function, load_event(events, function), storage)
            for function in template_functions()
        ]
        return _measure(subjects, invocations, rounds)


@contextmanager
def _moto() -> Iterator[None]:
    from moto import mock_aws

    from local.template_tables import create_tables
    from storage.dynamodb import dynamodb_client

    with mock_aws():
        create_tables(dynamodb_client(), Settings())
        yield


def main(arguments: list[str] | None = None, output: Callable[[str], Any] = print) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=Path, required=True)
    parser.add_argument("--storage", choices=["memory", "moto"], required=True)
    parser.add_argument("--invocations", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    options = parser.parse_args(arguments)
    figures = measure_warm(options.events, options.storage, options.invocations, options.rounds)
    output(json.dumps([dataclasses.asdict(figure) for figure in figures]))


if __name__ == "__main__":
    main()
