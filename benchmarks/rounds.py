"""HTTP requests timed in rounds, as the serve and archive benches take them: every request
once a round, in an order rotated each round, so that drift on a shared machine weighs on
all alike; and the percentiles they report."""

import statistics
import time
from collections.abc import Callable, Sequence

import httpx


def timed_rounds(
    requests: Sequence[Callable[[], httpx.Response]], rounds: int, warm_up: int
) -> list[list[float]]:
    """Each request's durations over `rounds` rounds after `warm_up` unkept ones; an answer
    but 200 raises."""
    durations: list[list[float]] = [[] for _ in requests]
    for round_number in range(-warm_up, rounds):
        shift = round_number % len(requests)
        for index in [*range(shift, len(requests)), *range(shift)]:
            began = time.perf_counter()
            answer = requests[index]()
            taken = time.perf_counter() - began
            if answer.status_code != 200:
                raise RuntimeError(f"{answer.request.url} answered {answer.status_code}")
            if round_number >= 0:
                durations[index].append(taken)
    return durations


def percentile(durations: Sequence[float], percent: int) -> float:
    """The `percent`th percentile (inclusive method); a single duration is every one."""
    if len(durations) == 1:
        return durations[0]
    return statistics.quantiles(durations, n=100, method="inclusive")[percent - 1]
