"""The benchmark harness on a tiny configuration: each function answers its event, make
serve and a Prefect server answer the serve bench's requests, and the archive bench's
queries.

Only answers are checked here, never durations: `make bench` prints those.
"""

import httpx
import pytest

from benchmarks.archive import PREFECT as ARCHIVE_PREFECT
from benchmarks.archive import SERVICE as ARCHIVE_SERVICE
from benchmarks.archive import measure_archive
from benchmarks.archive_runs import TASK_RUNS_PER_FLOW_RUN
from benchmarks.functions import LambdaFunction, load_event, template_functions
from benchmarks.serve import PREFECT, SERVICE, measure_serve
from benchmarks.warm import measure_function
from local.paths import EVENTS
from local.servers import post_retrying_unavailable

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


@pytest.mark.slow  # a Prefect server and its client, DynamoDB Local and make serve
def test_the_archive_bench_asks_each_query_of_both_servers_which_answer_alike() -> None:
    # measure_archive raises where the two servers' first answers differ. Prefect holds them
    # all: a slice of so few runs would leave out some of the flow's newest.
    figures = measure_archive(flow_runs=30, prefect_flow_runs=30, rounds=2, warm_up=1)
    runs = (30, 30 * TASK_RUNS_PER_FLOW_RUN)
    assert (figures.flow_runs, figures.task_runs) == runs
    assert (figures.prefect_flow_runs, figures.prefect_task_runs) == runs
    answers = {(figure.server, figure.query): figure.status for figure in figures.queries}
    queries = {figure.query for figure in figures.queries}
    assert len(queries) == 6
    assert answers == {
        (server, query): 200 for server in (ARCHIVE_SERVICE, ARCHIVE_PREFECT) for query in queries
    }
    assert {figure.rounds for figure in figures.queries} == {2}


def _prefect_answering(*statuses: int) -> tuple[httpx.Client, list[int]]:
    """A client of a fake Prefect API answering `statuses` in turn, and the statuses sent."""
    sent: list[int] = []

    def answer(request: httpx.Request) -> httpx.Response:
        status = statuses[len(sent)]
        sent.append(status)
        return httpx.Response(status, json={"id": "made"} if status == 201 else {})

    return httpx.Client(transport=httpx.MockTransport(answer), base_url="http://prefect"), sent


def test_a_write_to_prefect_is_asked_again_after_a_503_as_prefects_client_does() -> None:
    http, sent = _prefect_answering(503, 201)
    assert post_retrying_unavailable(http, "/flows/", {"name": "x"}) == {"id": "made"}
    assert sent == [503, 201]


def test_a_write_to_prefect_failing_otherwise_is_not_asked_again() -> None:
    http, sent = _prefect_answering(500, 201)
    with pytest.raises(httpx.HTTPStatusError):
        post_retrying_unavailable(http, "/flows/", {"name": "x"})
    assert sent == [500]
