"""The importer's retries, without a Prefect server: the source's timeouts and 5xx, and
DynamoDB's throttling, each ridden out with backoff; what cannot be, a clear SourceError."""

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from botocore.awsrequest import AWSResponse

from api.runs import FLOW_RUN
from api.settings import Settings
from importer.source import ATTEMPTS, OutOfTime, PrefectSource, SourceError
from storage.batch import BatchTables
from storage.table_shapes import FLOW_RUN_STATES
from tests.test_faults import answer_every_attempt_with

if TYPE_CHECKING:
    from collections.abc import Iterator

    from mypy_boto3_dynamodb import DynamoDBClient

RUN_ID = "0c9f54a6-5a1b-4e84-9a5f-5b6c3e0a51d1"
FLOW_TABLE = Settings().table(FLOW_RUN_STATES).name
STATE = {"id": "01a23484-08c9-7aa7-a593-f62c92f3c79c", "timestamp": "2026-01-01T00:00:00Z"}


def source_answering(answers: list[Callable[[httpx.Request], httpx.Response]]) -> PrefectSource:
    """A source whose requests get `answers` in turn; its backoff is recorded, not slept."""
    pending = iter(answers)
    waits: list[float] = []
    source = PrefectSource(
        "http://prefect.test/api",
        sleep=waits.append,
        transport=httpx.MockTransport(lambda request: next(pending)(request)),
    )
    source.waits = waits  # type: ignore[attr-defined]
    return source


def status(code: int, body: Any = None) -> Callable[[httpx.Request], httpx.Response]:
    return lambda request: httpx.Response(code, json=body)


def timeout(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout("no answer", request=request)


def test_timeouts_and_5xx_are_retried_with_a_growing_backoff() -> None:
    source = source_answering([timeout, status(503), status(500), status(200, [STATE])])
    (state,) = source.run_states(FLOW_RUN, RUN_ID)
    assert state.id == STATE["id"]
    assert source.waits == [0.5, 1.0, 2.0]  # type: ignore[attr-defined]


def test_a_source_that_keeps_failing_is_named_after_its_attempts() -> None:
    source = source_answering([status(502)] * ATTEMPTS)
    with pytest.raises(SourceError, match=f"did not answer GET .* after {ATTEMPTS} attempts"):
        source.run_states(FLOW_RUN, RUN_ID)


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (status(401, {"exception_message": "Unauthorized"}), "401 Unauthorized: set SOURCE_AUTH"),
        (status(200, "2.20.4"), "is not a Prefect 3 server"),
        (status(404, {"detail": "Not Found"}), "is not a Prefect 3 server"),
        (lambda request: httpx.Response(200, text="<html>"), "is not a Prefect 3 server"),
    ],
)
def test_a_source_that_is_no_prefect_3_or_refuses_us_is_refused_clearly(
    answer: Callable[[httpx.Request], httpx.Response], message: str
) -> None:
    with pytest.raises(SourceError, match=message):
        source_answering([answer]).check_version()


@pytest.fixture
def batch_tables(dynamodb: "DynamoDBClient") -> "Iterator[BatchTables]":
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(2) as executor:
        yield BatchTables(dynamodb, executor, sleep=lambda seconds: None)


def item(number: int) -> dict[str, Any]:
    return {
        "id": {"S": f"state-{number}"},
        "flow_run_id": {"S": RUN_ID},
        "timestamp_id": {"S": f"2026-01-01T00:00:00.{number:06d}Z#state-{number}"},
        "state": {"S": "{}"},
    }


def test_dynamodb_throttling_is_ridden_out(
    dynamodb: "DynamoDBClient", batch_tables: BatchTables
) -> None:
    """Throttled whole (botocore's own retries), then in part (UnprocessedItems, which the
    importer sends again after a wait)."""
    throttle = answer_every_attempt_with("ProvisionedThroughputExceededException")
    events: list[str] = []

    def throttle_twice(**kwargs: Any) -> AWSResponse | None:
        events.append("throttled")
        return throttle(**kwargs) if events.count("throttled") <= 2 else None

    def leave_first_call_unprocessed(params: dict[str, Any], **_: Any) -> Any:
        if "unprocessed" in events:
            return None
        events.append("unprocessed")
        return _Accepted(), {"UnprocessedItems": json.loads(params["body"])["RequestItems"]}

    hooks = [
        ("before-call.dynamodb.BatchWriteItem", leave_first_call_unprocessed),
        ("before-send.dynamodb.BatchWriteItem", throttle_twice),
    ]
    # botocore-stubs type event handlers as returning None: these return the response that
    # stands for the call or its sending (the arg-type ignores here).
    for event, hook in hooks:
        dynamodb.meta.events.register(event, hook)  # type: ignore[arg-type]
    try:
        batch_tables.put(FLOW_TABLE, [item(number) for number in range(30)])
    finally:
        for event, hook in hooks:
            dynamodb.meta.events.unregister(event, hook)  # type: ignore[arg-type]
    assert events[:3] == ["unprocessed", "throttled", "throttled"]
    stored = batch_tables.stored_ids(FLOW_TABLE, [f"state-{number}" for number in range(30)])
    assert len(stored) == 30


class _Accepted:
    status_code = 200


class FakeTime:
    """A monotonic clock that only the source's waits move."""

    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def source_with_deadline(
    deadline: float, answer: Callable[[httpx.Request], httpx.Response], clock: FakeTime
) -> PrefectSource:
    return PrefectSource(
        "http://prefect.test/api",
        sleep=clock.sleep,
        transport=httpx.MockTransport(answer),
        deadline=deadline,
        monotonic=clock.monotonic,
    )


def test_each_request_is_cut_to_the_time_left() -> None:
    clock = FakeTime()
    timeouts: list[dict[str, float]] = []

    def record(request: httpx.Request) -> httpx.Response:
        timeouts.append(request.extensions["timeout"])
        clock.now += 8  # a slow answer
        return httpx.Response(200, json=[STATE])

    source = source_with_deadline(10.0, record, clock)
    source.run_states(FLOW_RUN, RUN_ID)
    source.run_states(FLOW_RUN, RUN_ID)
    assert timeouts[0]["read"] == 10.0  # not the usual 30 s
    assert timeouts[0]["connect"] == 5.0
    assert timeouts[1]["read"] == timeouts[1]["connect"] == 2.0
    with pytest.raises(OutOfTime):  # no time left: no request made
        source.run_states(FLOW_RUN, RUN_ID)
    assert len(timeouts) == 2


def test_no_retry_waits_past_the_deadline() -> None:
    clock = FakeTime()
    source = source_with_deadline(5.0, status(503), clock)
    with pytest.raises(OutOfTime):
        source.run_states(FLOW_RUN, RUN_ID)
    assert clock.now == 0.5 + 1.0 + 2.0  # the next wait (4 s) would end past it


def test_a_refused_limit_is_read_from_the_sources_422() -> None:
    requests: list[dict[str, Any]] = []

    def limited(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        requests.append(body)
        if body["limit"] > 50:
            return httpx.Response(
                422, json={"detail": "Invalid limit: must be less than or equal to 50."}
            )
        return httpx.Response(200, json=[])

    source = PrefectSource("http://prefect.test/api", transport=httpx.MockTransport(limited))
    assert source.list_runs(FLOW_RUN, {}) == []
    assert source.page_size == 50
    assert [body["limit"] for body in requests] == [200, 50]
    assert "offset" not in requests[-1]
    assert requests[-1]["sort"] == "EXPECTED_START_TIME_ASC"
