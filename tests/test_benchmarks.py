"""The benchmark harness on a tiny configuration: each function answers its event.

Only answers are checked here, never durations: `make bench` prints those.
"""

import pytest

from benchmarks.functions import LambdaFunction, load_event, template_functions
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
    "ClientRoutesFunction": 200,
    "FallbackFunction": 405,  # its event is a PUT on a state
}


def test_the_bench_knows_every_function_of_the_template() -> None:
    assert {function.logical_id for function in template_functions()} == set(EXPECTED_ANSWERS)


@pytest.mark.parametrize("function", template_functions(), ids=lambda function: function.logical_id)
def test_each_function_answers_its_event_on_the_memory_fake(function: LambdaFunction) -> None:
    figures = measure_function(function, load_event(EVENTS, function), "memory", invocations=3)
    assert figures.status == EXPECTED_ANSWERS[function.logical_id]
