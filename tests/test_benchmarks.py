"""The benchmark harness on a tiny configuration: each function answers its event, and
make serve and a Prefect server answer the serve bench's requests.

Only answers are checked here, never durations: `make bench` prints those.
"""

import pytest

from benchmarks.functions import LambdaFunction, load_event, template_functions
from benchmarks.serve import PREFECT, SERVICE, measure_serve
from benchmarks.warm import measure_function
from local.paths import EVENTS

EXPECTED_ANSWERS = {
    "ReadFlowRunStateFunction": 200,
    "ListFlowRunStatesFunction": 200,
    "DeleteFlowRunStateFunction": 204,
    "SetFlowRunStateFunction": 201,
    "ReadTaskRunStateFunction": 200,
    "ListTaskRunStatesFunction": 200,
    "DeleteTaskRunStateFunction": 204,
    "SetTaskRunStateFunction": 201,
    # Their events name records no bench archives (benchmarks/warm.py).
    "ReadRecordsFunction": 404,
    "QueryFlowRunsFunction": 200,
    "QueryRecordsFunction": 200,
    "ClientRoutesFunction": 200,
    "FallbackFunction": 405,  # its event is a PUT on a state
}


def test_the_bench_knows_every_function_of_the_template() -> None:
    assert {function.logical_id for function in template_functions()} == set(EXPECTED_ANSWERS)


@pytest.mark.parametrize("function", template_functions(), ids=lambda function: function.logical_id)
def test_each_function_answers_its_event_on_the_memory_fake(function: LambdaFunction) -> None:
    figures = measure_function(function, load_event(EVENTS, function), "memory", invocations=3)
    assert figures.status == EXPECTED_ANSWERS[function.logical_id]


@pytest.mark.slow  # DynamoDB Local, two services and a Prefect server
def test_the_serve_bench_reads_and_lists_the_same_run_on_each_server() -> None:
    figures = measure_serve(run_length=3, other_states=7, rounds=2, warm_up=1)
    answers = {
        (figure.server, figure.other_states, figure.request): (figure.status, figure.states)
        for figure in figures
    }
    assert answers == {
        (SERVICE, 0, "read"): (200, 1),
        (PREFECT, 0, "read"): (200, 1),
        (SERVICE, 0, "list"): (200, 3),
        (SERVICE, 7, "list"): (200, 3),
        (PREFECT, 0, "list"): (200, 3),
    }
    assert {figure.rounds for figure in figures} == {2}
