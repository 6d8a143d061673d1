"""Prefect's own client (prefect-client 3.8.8) against the service over real HTTP, with auth
off and on: what the client writes, it reads back field for field."""

import tests.prefect_client_home  # noqa: F401  (first: Prefect reads its settings on import)

# isort: split
import asyncio
import json
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from prefect._internal.result_records import ResultRecord, ResultRecordMetadata
from prefect._internal.version_checking import _clear_api_version_check_cache
from prefect.client.orchestration import get_client
from prefect.client.schemas.objects import State, StateDetails, StateType
from prefect.client.schemas.responses import OrchestrationResult, SetStateStatus
from prefect.context import AsyncClientContext, SyncClientContext
from prefect.exceptions import ObjectNotFound, PrefectHTTPStatusError
from prefect.serializers import JSONSerializer
from prefect.settings import (
    PREFECT_API_AUTH_STRING,
    PREFECT_API_URL,
    PREFECT_CLIENT_CSRF_SUPPORT_ENABLED,
    temporary_settings,
)
from prefect.states import to_state_create

from local.paths import README
from local.servers import run_states_service

pytestmark = pytest.mark.slow  # Prefect's client against `make serve`'s process

AUTH_STRING = "prefect:s3cret-pässword"
REPEATED_TRANSITION = "This run has already made this state transition."


@dataclass(frozen=True)
class Service:
    api_url: str
    auth_string: str | None


@pytest.fixture(scope="session")
def authed_api_url(moto_endpoint: str) -> Iterator[str]:
    """A second live service, with auth on."""
    with run_states_service(moto_endpoint, PREFECT_SERVER_API_AUTH_STRING=AUTH_STRING) as url:
        yield url


@pytest.fixture(params=["auth off", "auth on"])
def service(request: pytest.FixtureRequest) -> Iterator[Service]:
    """A live service, and Prefect's settings pointing at it as a user would set them."""
    if request.param == "auth off":
        service = Service(request.getfixturevalue("live_api_url"), None)
        settings = temporary_settings(
            updates={PREFECT_API_URL: service.api_url}, restore_defaults={PREFECT_API_AUTH_STRING}
        )
    else:
        service = Service(request.getfixturevalue("authed_api_url"), AUTH_STRING)
        settings = temporary_settings(
            updates={PREFECT_API_URL: service.api_url, PREFECT_API_AUTH_STRING: AUTH_STRING}
        )
    with settings:
        yield service


class Wiretap(httpx.AsyncHTTPTransport):
    """The client's real transport, keeping each request it sends and the answer it got.

    It can also lose the service's first answer to a `set_state` on the way back, as a
    gateway that timed out would: the service has stored the state, the client sees a 502.
    """

    def __init__(self, lose_first_set_state_answer: bool = False) -> None:
        super().__init__()
        self.exchanges: list[tuple[httpx.Request, httpx.Response]] = []
        self._answers_to_lose = 1 if lose_first_set_state_answer else 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await super().handle_async_request(request)
        await response.aread()
        self.exchanges.append((request, response))
        if self._answers_to_lose and request.url.path.endswith("/set_state"):
            self._answers_to_lose -= 1
            return httpx.Response(502, headers={"Retry-After": "0"}, request=request)
        return response

    def paths(self) -> list[tuple[str, str, int]]:
        return [(r.method, r.url.path, answer.status_code) for r, answer in self.exchanges]


class SyncWiretap(httpx.HTTPTransport):
    """The sync client's real transport, keeping each request's path and answer's status."""

    def __init__(self) -> None:
        super().__init__()
        self.exchanges: list[tuple[str, int]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        self.exchanges.append((request.url.path, response.status_code))
        return response


# --- what is written -------------------------------------------------------------------

PLUS_TWO = timezone(timedelta(hours=2))
# The `arg-type` ignores below: Prefect types its datetime fields as its own DateTime
# (pendulum's, on Python 3.12), which pydantic makes of the plain datetimes users pass.


def persisted_result(storage_key: str) -> ResultRecord[Any]:
    """What a flow or task with a persisted result puts in `data`: the client sends only
    a persisted record's metadata (any other data stays local)."""
    record = ResultRecord(
        metadata=ResultRecordMetadata(
            storage_key=storage_key,
            expiration=datetime(2031, 5, 6, 7, 8, 9, 123456, tzinfo=UTC),  # type: ignore[arg-type]
            serializer=JSONSerializer(),
            storage_block_id=uuid.uuid4(),
        ),
        result={"rows": 3},
    )
    record.mark_persisted()
    return record


def every_detail() -> StateDetails:
    """Every `state_details` field away from its default (but the run ids the path sets)."""
    return StateDetails(
        child_flow_run_id=uuid.uuid4(),
        scheduled_time=datetime(2030, 1, 1, 12, 0, tzinfo=PLUS_TWO),  # type: ignore[arg-type]
        cache_key="cache-key",
        cache_expiration=datetime(2030, 1, 2, 3, 4, 5, 500000, tzinfo=UTC),  # type: ignore[arg-type]
        deferred=True,
        untrackable_result=True,
        pause_timeout=datetime(2030, 1, 1, 13, 0, 0, 1, tzinfo=PLUS_TWO),  # type: ignore[arg-type]
        pause_reschedule=True,
        pause_key="pause-key",
        run_input_keyset={"description": "run-input-description", "response": "run-input"},
        refresh_cache=True,
        retriable=False,
        task_parameters_id=uuid.uuid4(),
        traceparent="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        deployment_concurrency_lease_id=uuid.uuid4(),
    )


def proposals(run_field: str) -> list[State[Any]]:
    """States as a run goes through them; the first sets every field there is."""
    first_details = every_detail()
    if run_field == "task_run_id":  # Prefect's engine names a task run's flow run itself
        first_details.flow_run_id = uuid.uuid4()
    return [
        State(
            type=StateType.SCHEDULED,
            name="AwaitingRetry",
            message="waiting, with ünïcode ✓",
            data=persisted_result("results/first.json"),
            state_details=first_details,
        ),
        State(type=StateType.RUNNING),
        State(type=StateType.CANCELLING, message=""),
        State(type=StateType.COMPLETED, data=persisted_result("results/last.json")),
    ]


WRITTEN = {"type", "name", "message", "data", "state_details"}


def as_sent(state: State[Any], **state_details: Any) -> dict[str, Any]:
    """The fields of a state as the client sends them, as JSON, with what the path sets."""
    sent: dict[str, Any] = to_state_create(state).model_dump(mode="json", serialize_as_any=True)
    sent["state_details"].update(state_details)
    return sent


def as_parsed(state: State[Any], fields: set[str] | None = None) -> dict[str, Any]:
    parsed: dict[str, Any] = state.model_dump(mode="json", serialize_as_any=True, include=fields)
    return parsed


# --- the async client ------------------------------------------------------------------


def test_flow_run_states_round_trip(service: Service) -> None:
    async def scenario() -> None:
        run_id = uuid.uuid4()
        async with get_client() as client:
            written, stored = proposals("flow_run_id"), []
            for proposal in written:
                result = await client.set_flow_run_state(run_id, proposal)
                assert result.status == SetStateStatus.ACCEPT
                state = result.state
                assert state is not None
                details = state.state_details
                assert details.transition_id is not None  # the client sends a fresh one
                assert as_parsed(state, WRITTEN) == as_sent(
                    proposal, flow_run_id=str(run_id), transition_id=str(details.transition_id)
                )
                stored.append(state)

            for state in stored:
                read = await client.read_flow_run_state(state.id)
                assert as_parsed(read) == as_parsed(state)
            listed = await client.read_flow_run_states(run_id)
            assert [as_parsed(state) for state in listed] == [as_parsed(s) for s in stored]
            timestamps = [state.timestamp for state in listed]
            assert timestamps == sorted(timestamps)
            assert len({state.id for state in listed}) == len(stored)
            assert len({state.state_details.transition_id for state in listed}) == len(stored)
            assert [state.name for state in listed[1:3]] == ["Running", "Cancelling"]
            assert isinstance(listed[0].data, ResultRecordMetadata)
            assert isinstance(written[0].data, ResultRecord)
            assert listed[0].data == written[0].data.metadata

            with pytest.raises(ObjectNotFound):
                await client.read_flow_run_state(uuid.uuid4())
            assert await client.read_flow_run_states(uuid.uuid4()) == []

    asyncio.run(scenario())


def test_task_run_states_round_trip(service: Service) -> None:
    async def scenario() -> None:
        task_run_id = uuid.uuid4()
        async with get_client() as client:
            stored = []
            for proposal in proposals("task_run_id"):
                # Typed: this client's signature names `prefect.states.State`, which mypy
                # cannot resolve there (Any), leaving the result's type parameter unsolved.
                result: OrchestrationResult[Any] = await client.set_task_run_state(
                    task_run_id, proposal
                )
                assert result.status == SetStateStatus.ACCEPT
                assert result.state is not None
                assert as_parsed(result.state, WRITTEN) == as_sent(
                    proposal, task_run_id=str(task_run_id)
                )
                stored.append(result.state)
            listed = await client.read_task_run_states(task_run_id)
            assert [as_parsed(state) for state in listed] == [as_parsed(s) for s in stored]
            timestamps = [state.timestamp for state in listed]
            assert timestamps == sorted(timestamps)
            assert await client.read_task_run_states(uuid.uuid4()) == []

    asyncio.run(scenario())


def test_a_retried_set_flow_run_state_stores_one_state(service: Service) -> None:
    """The client retries a 502 with the same body, `transition_id` included: the retry
    finds the state the first attempt stored, and Prefect's answer to a repeated
    transition comes back (200 REJECT with the stored state)."""

    async def scenario() -> None:
        run_id = uuid.uuid4()
        wiretap = Wiretap(lose_first_set_state_answer=True)
        async with get_client(httpx_settings={"transport": wiretap}) as client:
            result = await client.set_flow_run_state(
                run_id, State(type=StateType.RUNNING, message="started")
            )
            listed = await client.read_flow_run_states(run_id)

        attempts = [(r, a) for r, a in wiretap.exchanges if r.url.path.endswith("/set_state")]
        assert [answer.status_code for _, answer in attempts] == [201, 200]
        first, retry = (json.loads(request.content) for request, _ in attempts)
        assert retry == first
        assert first["state"]["state_details"]["transition_id"] is not None
        stored = State.model_validate(attempts[0][1].json()["state"])

        assert result.status == SetStateStatus.REJECT
        assert getattr(result.details, "reason", None) == REPEATED_TRANSITION
        assert result.state is not None
        assert as_parsed(result.state) == as_parsed(stored)
        assert [as_parsed(state) for state in listed] == [as_parsed(stored)]

    asyncio.run(scenario())


def test_the_health_check_and_the_server_version_check(service: Service) -> None:
    async def scenario() -> None:
        async with get_client() as client:
            assert await client.api_healthcheck() is None
            assert await client.api_version() == "3.9.1"
            await client.raise_for_api_version_mismatch()  # the same major version: 3

        # What the client does on entering a run context: check the server's version.
        _clear_api_version_check_cache()
        wiretap = Wiretap()
        async with AsyncClientContext(httpx_settings={"transport": wiretap}):
            pass
        assert wiretap.paths() == [("GET", "/api/admin/version", 200)]

    asyncio.run(scenario())


# --- the sync client -------------------------------------------------------------------


def test_the_sync_client(service: Service) -> None:
    flow_run_id, task_run_id = uuid.uuid4(), uuid.uuid4()
    with get_client(sync_client=True) as client:
        assert client.api_healthcheck() is None
        assert client.api_version() == "3.9.1"
        client.raise_for_api_version_mismatch()

        flow_proposal, task_proposal = proposals("flow_run_id")[0], proposals("task_run_id")[0]
        flow_result = client.set_flow_run_state(flow_run_id, flow_proposal)
        task_result = client.set_task_run_state(task_run_id, task_proposal)
        assert (flow_result.status, task_result.status) == (SetStateStatus.ACCEPT,) * 2
        flow_state, task_state = flow_result.state, task_result.state
        assert flow_state is not None
        assert task_state is not None
        assert as_parsed(flow_state, WRITTEN) == as_sent(
            flow_proposal,
            flow_run_id=str(flow_run_id),
            transition_id=str(flow_state.state_details.transition_id),
        )
        assert as_parsed(task_state, WRITTEN) == as_sent(
            task_proposal, task_run_id=str(task_run_id)
        )

        assert as_parsed(client.read_flow_run_state(flow_state.id)) == as_parsed(flow_state)
        assert [as_parsed(s) for s in client.read_flow_run_states(flow_run_id)] == [
            as_parsed(flow_state)
        ]
        assert [as_parsed(s) for s in client.read_task_run_states(task_run_id)] == [
            as_parsed(task_state)
        ]
        with pytest.raises(ObjectNotFound):
            client.read_flow_run_state(uuid.uuid4())

    _clear_api_version_check_cache()
    wiretap = SyncWiretap()
    with SyncClientContext(httpx_settings={"transport": wiretap}):
        pass
    assert wiretap.exchanges == [("/api/admin/version", 200)]


# --- auth ------------------------------------------------------------------------------


@pytest.mark.parametrize("auth_string", [None, "prefect:wrong"], ids=["none", "a wrong one"])
def test_a_client_without_the_auth_string_is_refused_and_stores_nothing(
    authed_api_url: str, auth_string: str | None
) -> None:
    run_id = uuid.uuid4()
    unauthorized = {"exception_message": "Unauthorized"}

    async def refused() -> None:
        wiretap = Wiretap()
        async with get_client(httpx_settings={"transport": wiretap}) as client:
            assert await client.api_healthcheck() is None  # open, as on Prefect
            with pytest.raises(PrefectHTTPStatusError) as write:
                await client.set_flow_run_state(run_id, State(type=StateType.RUNNING))
            assert write.value.response.json() == unauthorized
            with pytest.raises(PrefectHTTPStatusError, match="Unauthorized"):
                await client.raise_for_api_version_mismatch()
        assert wiretap.paths() == [
            ("GET", "/api/health", 200),
            ("POST", f"/api/flow_runs/{run_id}/set_state", 401),
            ("GET", "/api/admin/version", 401),
        ]
        _clear_api_version_check_cache()
        with pytest.raises(PrefectHTTPStatusError, match="Unauthorized"):
            async with AsyncClientContext():
                pass

    async def stored() -> list[State[Any]]:
        async with get_client() as client:
            return await client.read_flow_run_states(run_id)

    # CSRF support off, so that the client's first request is the write itself.
    settings: dict[Any, Any] = {PREFECT_API_URL: authed_api_url}
    with temporary_settings(
        updates=settings
        | {PREFECT_CLIENT_CSRF_SUPPORT_ENABLED: False, PREFECT_API_AUTH_STRING: auth_string}
    ):
        asyncio.run(refused())
    with temporary_settings(updates=settings | {PREFECT_API_AUTH_STRING: AUTH_STRING}):
        assert asyncio.run(stored()) == []


# --- the README ------------------------------------------------------------------------


def readme_block(language: str) -> str:
    """The first `language` block of the README's "Use it from Prefect" section."""
    section = README.read_text().split("\n## Use it from Prefect\n", 1)[1]
    match = re.search(rf"^```{language}\n(.*?)^```", section.split("\n## ", 1)[0], re.M | re.S)
    assert match, f"no {language} block"
    return match.group(1)


def test_the_readme_example_runs_as_it_stands(service: Service) -> None:
    exports = dict(re.findall(r"^export (\w+)=(\S+)", readme_block("sh"), re.M))
    assert exports == {
        "PREFECT_API_URL": "http://127.0.0.1:4200/api",  # what `make serve` prints
        "PREFECT_API_AUTH_STRING": "'admin:pass'",
    }
    environment = os.environ | {"PREFECT_API_URL": service.api_url}  # this service's port
    if service.auth_string is not None:
        environment["PREFECT_API_AUTH_STRING"] = service.auth_string
    example = subprocess.run(
        [sys.executable, "-c", readme_block("python")],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    lines = [line.rsplit(" ", 2) for line in example.stdout.splitlines()]
    assert [(name, message) for _, name, message in lines] == [
        ("Running", "started"),
        ("Completed", "done"),
    ]
    timestamps = [datetime.fromisoformat(timestamp) for timestamp, _, _ in lines]
    assert timestamps == sorted(timestamps)
