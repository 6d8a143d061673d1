"""DynamoDB on a bad day: throttled, unreachable, stopped, missing, forbidden.

Each fault is injected under the service's own DynamoDB client settings (`CLIENT_CONFIG`)
on a real endpoint (moto's server): botocore's retries run as deployed, and an event hook
counts the attempts they make. After each fault the next request succeeds and every state
accepted before it is still there.
"""

import logging
import signal
import time
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.compat import HTTPHeaders
from botocore.retries.standard import ExponentialBackoff, RetryContext, ThrottlingErrorDetector
from botocore.stub import Stubber
from fastapi.testclient import TestClient

from api.runs import FLOW_RUN, RunKind
from api.settings import TABLE_VARIABLES, Settings, TableSettings
from local.app import local_app
from local.servers import free_port, moto_process
from local.template_tables import create_tables, load_template
from storage.clients import CLIENT_CONFIG, aws_client
from tests.helpers import (
    API_VERSION_HEADER,
    new_id,
    repositories_on,
    set_state,
    table_name,
)

# The `attr-defined` ignores: botocore sets a Config's options as attributes when it is made,
# which botocore-stubs do not declare.
ATTEMPTS: int = CLIENT_CONFIG.retries["total_max_attempts"]  # type: ignore[attr-defined]
UNAVAILABLE = {"exception_message": "Service Unavailable"}
INTERNAL_ERROR = {"exception_message": "Internal Server Error"}


def worst_case_seconds() -> float:
    """The longest a DynamoDB call can take under the service's client settings before it
    gives up: every attempt waits out its connect and read timeouts, and between attempts
    standard mode waits its longest: the throttling backoff with its random factor at 1,
    stretched by the most a server's `x-amz-retry-after` header may add (botocore's own
    figures, read from its backoff)."""
    assert CLIENT_CONFIG.retries["mode"] == "standard"  # type: ignore[attr-defined]

    class EveryErrorThrottles(ThrottlingErrorDetector):
        def is_throttling_error_from_context(self, context: RetryContext) -> bool:
            return True

    throttled = EveryErrorThrottles(retry_event_adapter=None)
    backoff = ExponentialBackoff(random=lambda: 1.0, throttling_detector=throttled)
    retry_after_ms = str(3_600_000)  # an hour, which botocore caps
    waits = sum(
        backoff.delay_amount(
            RetryContext(
                attempt_number=attempt,
                http_response=SimpleNamespace(headers={"x-amz-retry-after": retry_after_ms}),
            )
        )
        for attempt in range(1, ATTEMPTS)
    )
    timeouts: float = CLIENT_CONFIG.connect_timeout + CLIENT_CONFIG.read_timeout  # type: ignore[attr-defined]
    return float(ATTEMPTS * timeouts + waits)


def test_a_call_gives_up_inside_the_lambda_timeout() -> None:
    """So a function answers 503 rather than being cut off by Lambda, with time to spare
    for the rest of the request; and Lambda gives up before API Gateway's 30 s
    integration limit, so a caller never meets API Gateway's own 503 body."""
    timeout = load_template()["Globals"]["Function"]["Timeout"]
    assert worst_case_seconds() <= timeout * 0.8
    assert timeout < 30


def assert_gave_up_in_time(started: float, what: str) -> None:
    elapsed = time.monotonic() - started
    print(f"{what}: 503 after {elapsed:.2f} s (bound {worst_case_seconds():.0f} s)")
    assert elapsed <= worst_case_seconds()


class Service:
    """The whole API on a DynamoDB client of its own, whose attempts are counted."""

    def __init__(self, endpoint: str, settings: Settings | None = None) -> None:
        self.dynamodb = aws_client("dynamodb", endpoint=endpoint)
        self.attempts = 0
        self.dynamodb.meta.events.register("before-send.dynamodb", self._count)
        app = local_app(settings or Settings(), repositories_on(self.dynamodb))
        self.http = TestClient(app, headers=API_VERSION_HEADER)

    def _count(self, **_: Any) -> None:
        self.attempts += 1

    def write(self, kind: RunKind, run_id: str, **state: Any) -> dict[str, Any]:
        response = set_state(self.http, kind, run_id, {"type": "RUNNING", **state})
        assert response.status_code == 201, response.text
        return response.json()["state"]  # type: ignore[no-any-return]

    def listed(self, kind: RunKind, run_id: str) -> list[dict[str, Any]]:
        response = self.http.get(f"{kind.states_path}/", params={kind.run_id_field: run_id})
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]


def assert_unavailable(response: Any) -> None:
    assert response.status_code == 503, response.text
    assert response.json() == UNAVAILABLE
    assert response.headers["Retry-After"] == "1"


class _Body:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.body


def answer_every_attempt_with(code: str) -> Callable[..., AWSResponse]:
    """A `before-send` hook: DynamoDB's answer `code` to each attempt, instead of sending it."""
    body = f'{{"__type":"com.amazonaws.dynamodb.v20120810#{code}","message":"injected"}}'

    def answer(request: AWSPreparedRequest, **_: Any) -> AWSResponse:
        headers = HTTPHeaders.from_dict({"Content-Type": "application/x-amz-json-1.0"})
        return AWSResponse(request.url, 400, headers, _Body(body.encode()))

    return answer


@pytest.mark.slow
@pytest.mark.parametrize("code", ["ProvisionedThroughputExceededException", "ThrottlingException"])
def test_throttling_past_every_retry_is_503_then_the_next_request_succeeds(
    moto_tables: str, code: str
) -> None:
    kind = FLOW_RUN  # task runs take the same path; each case waits out botocore's backoff
    service = Service(moto_tables)
    run_id, transition = new_id(), new_id()
    earlier = service.write(kind, run_id)
    throttle = answer_every_attempt_with(code)
    # botocore-stubs type event handlers as returning None: a before-send handler returns
    # the response that stands for sending (the arg-type ignores here).
    service.dynamodb.meta.events.register_first("before-send.dynamodb", throttle)  # type: ignore[arg-type]
    proposal = {"type": "COMPLETED", "state_details": {"transition_id": transition}}

    service.attempts = 0
    started = time.monotonic()
    assert_unavailable(set_state(service.http, kind, run_id, proposal))
    assert_gave_up_in_time(started, f"{code} on every attempt")
    assert service.attempts == ATTEMPTS  # botocore retried, as configured, before giving up
    assert_unavailable(service.http.get(f"{kind.states_path}/{earlier['id']}"))

    service.dynamodb.meta.events.unregister("before-send.dynamodb", throttle)  # type: ignore[arg-type]
    retried = set_state(service.http, kind, run_id, proposal)
    assert retried.status_code == 201  # the refused call stored nothing
    assert service.listed(kind, run_id) == [earlier, retried.json()["state"]]


def test_an_unreachable_endpoint_is_503_after_the_configured_attempts(
    monkeypatch: pytest.MonkeyPatch, kind: RunKind
) -> None:
    # The client's own settings win over the environment's: no more attempts than these.
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "10")
    monkeypatch.setenv("AWS_RETRY_MODE", "legacy")
    service = Service(f"http://127.0.0.1:{free_port()}")  # nothing listens there
    started = time.monotonic()
    assert_unavailable(set_state(service.http, kind, new_id(), {"type": "RUNNING"}))
    assert_gave_up_in_time(started, "closed port")
    assert service.attempts == ATTEMPTS


@pytest.mark.slow
def test_a_stopped_server_is_503_and_nothing_accepted_is_lost() -> None:
    kind = FLOW_RUN  # task runs take the same path; the case waits out every read timeout
    with moto_process() as (endpoint, process):
        create_tables(aws_client("dynamodb", endpoint=endpoint), Settings())
        service = Service(endpoint)
        run_id = new_id()
        earlier = service.write(kind, run_id, data={"before": "the fault"})
        proposal = {"type": "COMPLETED", "state_details": {"transition_id": new_id()}}

        process.send_signal(signal.SIGSTOP)  # it still accepts connections, and never answers
        try:
            service.attempts = 0
            started = time.monotonic()
            assert_unavailable(set_state(service.http, kind, run_id, proposal))
            assert_gave_up_in_time(started, "stopped server")
            assert service.attempts == ATTEMPTS
        finally:
            process.send_signal(signal.SIGCONT)

        # The write that timed out may yet have been stored: the retry answers either way,
        # and the run holds it once.
        retried = set_state(service.http, kind, run_id, proposal)
        assert retried.status_code in (200, 201), retried.text
        print(f"the retry after the stopped server resumed: {retried.status_code}")
        assert service.listed(kind, run_id) == [earlier, retried.json()["state"]]
        assert service.http.get(f"{kind.states_path}/{earlier['id']}").json() == earlier


def assert_logged_misconfiguration(
    caplog: pytest.LogCaptureFixture, count: int, table: str, variable: str, code: str
) -> None:
    """One error line per failed call, naming the table, the variable that named it, and
    what DynamoDB answered."""
    records = [r for r in caplog.records if r.name == "prefect_run_states.storage"]
    assert len(records) == count
    for record in records:
        assert record.levelno == logging.ERROR
        message = record.getMessage()
        assert repr(table) in message
        assert variable in message
        assert code in message


@pytest.mark.slow
def test_a_missing_table_is_500_and_the_log_names_it(
    moto_tables: str, kind: RunKind, service_log: pytest.LogCaptureFixture
) -> None:
    run_id = new_id()
    earlier = Service(moto_tables).write(kind, run_id)

    missing = Settings().with_table(kind.table, TableSettings("no-such-table"))
    misconfigured = Service(moto_tables, missing)
    for response in (
        set_state(misconfigured.http, kind, run_id, {"type": "RUNNING"}),
        misconfigured.http.get(f"{kind.states_path}/{earlier['id']}"),
    ):
        assert response.status_code == 500
        assert response.json() == INTERNAL_ERROR
    assert_logged_misconfiguration(
        service_log,
        2,
        "no-such-table",
        TABLE_VARIABLES[kind.table].name,
        "ResourceNotFoundException",
    )

    fixed = Service(moto_tables)  # the operator sets it right
    later = fixed.write(kind, run_id)
    assert fixed.listed(kind, run_id) == [earlier, later]


@pytest.mark.slow
def test_denied_access_is_500_and_the_log_names_the_table(
    moto_tables: str, kind: RunKind, service_log: pytest.LogCaptureFixture
) -> None:
    service = Service(moto_tables)
    run_id = new_id()
    earlier = service.write(kind, run_id)

    with Stubber(service.dynamodb) as stubber:
        stubber.add_client_error("put_item", "AccessDeniedException", http_status_code=400)
        response = set_state(service.http, kind, run_id, {"type": "RUNNING"})
        stubber.assert_no_pending_responses()
    assert response.status_code == 500
    assert response.json() == INTERNAL_ERROR
    assert_logged_misconfiguration(
        service_log, 1, table_name(kind), TABLE_VARIABLES[kind.table].name, "AccessDeniedException"
    )

    later = service.write(kind, run_id)
    assert service.listed(kind, run_id) == [earlier, later]
