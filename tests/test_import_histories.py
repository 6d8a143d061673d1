"""The importer against the histories of issue 20 on a live Prefect 3.9.1
(tests/prefect_histories.py), each on moto and on DynamoDB Local: what a copy by `end_time`
or by offsets missed, copied by a follow pass after a first copy and by a reconcile; a
state deleted through the service never copied back; the source's listing limit; a failing
run skipped and copied next pass; `verify` and `status`."""

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from api.runs import FLOW_RUN, TASK_RUN, RunKind
from importer.__main__ import main
from importer.passes import SETTLING
from importer.progress import Progress
from importer.source import SourceState
from importer.wiring import open_verifier
from storage.table_shapes import DOCUMENT, FLOW_RUN_STATES
from tests.prefect_histories import (
    LISTING_LIMIT,
    crash_before_start,
    delete_flow_run,
    final_to_final,
    finished_flow_runs,
    out_of_order,
    retry_flow_run,
)
from tests.prefect_source import AUTH_STRING, Source
from tests.test_import import (
    Target,
    fresh_settings,
    served,
    table_environment,
    target_on,
    wait_for,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

pytestmark = pytest.mark.slow


@pytest.fixture
def target(dynamodb: "DynamoDBClient") -> Iterator[Target]:
    with target_on(dynamodb, fresh_settings()) as fresh:
        yield fresh


def followable(source: Source, kind: RunKind, run_id: str) -> list[dict[str, Any]]:
    """The run's states, once each has its event readable and old enough for a follow pass
    (which reads up to a few seconds before now, while Prefect persists what just happened)."""
    states = source.states(kind, run_id)
    resource = f"prefect.{kind.noun.replace(' ', '-')}.{run_id}"

    def evented() -> bool:
        events = source.events(
            {"occurred": {"since": "2000-01-01T00:00:00Z"}, "resource": {"id": [resource]}}
        )
        return {state["id"] for state in states} <= {event["id"] for event in events}

    wait_for(evented, limit=60)
    newest = max(datetime.fromisoformat(state["timestamp"]) for state in states)
    while datetime.now(UTC) - newest <= SETTLING:
        time.sleep(0.2)
    return states


# --- what offsets and end_time missed -------------------------------------------------


def test_a_task_run_crashed_before_it_started_is_copied_by_follow_and_by_reconcile(
    source: Source, target: Target, dynamodb: "DynamoDBClient"
) -> None:
    target.copy(source)
    made = crash_before_start(source)
    task_states = followable(source, TASK_RUN, made.task_run)
    assert [state["type"] for state in task_states] == ["PENDING", "CRASHED"]

    followed = target.copy(source)
    assert followed.summary.states_copied > 0
    assert served(target.api, TASK_RUN, made.task_run) == task_states
    assert served(target.api, FLOW_RUN, made.flow_run) == source.states(FLOW_RUN, made.flow_run)

    with target_on(dynamodb, fresh_settings()) as reconciled:
        reconciled.copy(source)
        assert served(reconciled.api, TASK_RUN, made.task_run) == task_states


def test_a_flow_run_from_one_final_state_to_another_is_followed(
    source: Source, target: Target
) -> None:
    target.copy(source)
    made = final_to_final(source)
    states = followable(source, FLOW_RUN, made["flow_run"])

    target.copy(source)
    assert [state["id"] for state in served(target.api, FLOW_RUN, made["flow_run"])][-2:] == [
        made["crashed"],
        made["completed"],
    ]
    assert served(target.api, FLOW_RUN, made["flow_run"]) == states


def test_a_task_runs_state_recorded_late_is_pending_then_copied(
    source: Source, target: Target
) -> None:
    """Its event is read before the source serves the state (as while Prefect's task-run
    recorder lags): kept pending, holding `complete_until` back, and copied next pass."""
    target.copy(source)
    made = out_of_order(source)
    states = followable(source, TASK_RUN, made["task_run"])

    with target.importer(source) as importer:
        read_states = importer.source.run_states

        def not_served_yet(kind: RunKind, run_id: str) -> list[SourceState]:
            return [state for state in read_states(kind, run_id) if state.id != made["older"]]

        importer.source.run_states = not_served_yet  # type: ignore[method-assign]
        importer.run()
    assert importer.summary.states_pending == 1
    checkpoint = target.checkpoint(source)
    (pending,) = checkpoint.pending
    assert (pending.kind, pending.run, pending.state) == (
        "task run",
        made["task_run"],
        made["older"],
    )
    assert checkpoint.complete_until is not None
    assert checkpoint.complete_until <= pending.occurred.replace("+00:00", "Z")
    assert made["older"] not in {
        state["id"] for state in served(target.api, TASK_RUN, made["task_run"])
    }

    second = target.copy(source)
    assert second.summary.states_pending == 0
    assert target.checkpoint(source).pending == ()
    assert served(target.api, TASK_RUN, made["task_run"]) == states


def test_out_of_order_states_are_copied_by_a_reconcile(source: Source, target: Target) -> None:
    made = out_of_order(source)
    target.copy(source)
    assert served(target.api, TASK_RUN, made["task_run"]) == source.states(
        TASK_RUN, made["task_run"]
    )


def test_runs_leaving_the_listing_between_pages_make_no_other_run_skipped(
    limited_source: Source, dynamodb: "DynamoDBClient"
) -> None:
    """After the first page of flow runs, one of its runs is deleted by hand and another
    retried from the UI (which clears its end_time): every run is still copied whole."""
    finished_flow_runs(limited_source, 8)
    before = {run: limited_source.states(FLOW_RUN, run) for run in limited_source.run_ids(FLOW_RUN)}
    first_page: list[str] = []
    left: dict[str, str] = {}

    class LeaveAfterFirstPage(Progress):
        updates = 0

        def update(self, covered: float, summary: Any) -> None:
            self.updates += 1
            if self.updates == 2:  # the first page of flow runs is copied
                delete_flow_run(limited_source, first_page[0])
                left["retried"] = first_page[1]
                left["retry state"] = retry_flow_run(limited_source, first_page[1])

    with target_on(dynamodb, fresh_settings()) as target:
        with target.importer(limited_source, progress=LeaveAfterFirstPage()) as importer:
            importer.source.page_size = 3
            list_runs = importer.source.list_runs

            def recording(kind: RunKind, *arguments: Any, **options: Any) -> Any:
                runs = list_runs(kind, *arguments, **options)
                if kind is FLOW_RUN and "limit" not in options and not first_page:
                    first_page.extend(run.id for run in runs)
                return runs

            importer.source.list_runs = recording  # type: ignore[method-assign]
            importer.run()
        for run, states in before.items():  # the deleted and the retried runs included
            assert served(target.api, FLOW_RUN, run) == states, run

        retried = followable(limited_source, FLOW_RUN, left["retried"])
        assert retried[-1]["id"] == left["retry state"]
        target.copy(limited_source)
        assert served(target.api, FLOW_RUN, left["retried"]) == retried


def test_a_source_listing_at_most_50_runs_a_request_is_copied(
    limited_source: Source, target: Target
) -> None:
    finished_flow_runs(limited_source, 3)
    expected = limited_source.all_states()
    with target.importer(limited_source) as importer:
        importer.run()
        assert importer.source.page_size == LISTING_LIMIT
    for kind, runs in expected.items():
        for run_id, states in runs.items():
            assert served(target.api, kind, run_id) == states


# --- deletion is final ----------------------------------------------------------------


def test_a_state_deleted_through_the_service_is_not_copied_back(
    source: Source, target: Target
) -> None:
    target.copy(source)
    made = final_to_final(source)
    followable(source, FLOW_RUN, made["flow_run"])
    target.copy(source)
    deleted = target.api.delete(f"{FLOW_RUN.states_path}/{made['crashed']}")
    assert deleted.status_code == 204

    followed = target.copy(source)  # its event is still in the follow pass's overlap
    assert followed.summary.events_read > 0
    with target.importer(source) as importer:
        importer.run(reconcile=True)
    assert importer.summary.states_copied == 0
    assert target.api.get(f"{FLOW_RUN.states_path}/{made['crashed']}").status_code == 404
    ids = [state["id"] for state in served(target.api, FLOW_RUN, made["flow_run"])]
    assert made["crashed"] not in ids
    assert made["completed"] in ids


# --- faults ---------------------------------------------------------------------------


class FailingFor(httpx.BaseTransport):
    """The source's transport, answering 503 to every request about one run."""

    def __init__(self, inner: httpx.BaseTransport, run_id: str) -> None:
        self.inner, self.run_id = inner, run_id

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.run_id in str(request.url):
            return httpx.Response(503)
        return self.inner.handle_request(request)


def test_a_run_that_keeps_failing_is_skipped_named_and_copied_next_pass(
    source: Source, target: Target
) -> None:
    expected = source.all_states()
    failing = next(iter(expected[FLOW_RUN]))
    with target.importer(source) as importer:
        http = importer.source._http
        http._transport = FailingFor(http._transport, failing)
        importer.source._sleep = lambda seconds: None  # the retries' backoff, not waited
        assert importer.run() is True
    (named,) = importer.summary.runs_failed
    assert failing in named
    assert "503" in named
    checkpoint = target.checkpoint(source)
    (failed,) = checkpoint.failed
    assert failed.run == failing
    assert checkpoint.complete_until is not None
    assert checkpoint.complete_until <= failed.since  # held back by the failing run
    assert served(target.api, FLOW_RUN, failing) == []
    other = next(run for run in expected[FLOW_RUN] if run != failing)
    assert served(target.api, FLOW_RUN, other) != []

    again = target.copy(source)
    assert again.summary.runs_failed == []
    assert target.checkpoint(source).failed == ()
    assert [s["id"] for s in served(target.api, FLOW_RUN, failing)] == [
        s["id"] for s in expected[FLOW_RUN][failing] if len(str(s)) < 400_000
    ]


# --- verify and status ----------------------------------------------------------------


def test_verify_finds_nothing_after_a_good_copy_then_a_missing_and_a_changed_state(
    source: Source, target: Target
) -> None:
    expected = source.all_states()
    target.copy(source)
    with open_verifier(source.api_url, target.settings, AUTH_STRING, client=target.client) as v:
        assert v.verify() == []
    assert v.report.states_too_large == 1
    assert v.report.states_equal == sum(len(s) for r in expected.values() for s in r.values()) - 1

    flow_run, states = next(
        (run, s)
        for run, s in expected[FLOW_RUN].items()
        if len(s) > 2 and all(len(str(state)) < 400_000 for state in s)  # all three stored
    )
    missing, changed, deleted = states[0]["id"], states[1]["id"], states[2]["id"]
    table = target.settings.table(FLOW_RUN_STATES).name
    target.client.delete_item(TableName=table, Key={"id": {"S": missing}})
    item = target.client.get_item(TableName=table, Key={"id": {"S": changed}})["Item"]
    item[DOCUMENT] = {"S": item[DOCUMENT]["S"].replace(states[1]["name"], "Renamed", 1)}
    target.client.put_item(TableName=table, Item=item)
    assert target.api.delete(f"{FLOW_RUN.states_path}/{deleted}").status_code == 204

    with open_verifier(source.api_url, target.settings, AUTH_STRING, client=target.client) as v:
        differences = v.verify()
    assert sorted((d.run, d.id, d.what) for d in differences) == sorted(
        [(flow_run, missing, "missing"), (flow_run, changed, "differs (keys: name)")]
    )
    assert v.report.states_deleted == 1
    assert "flow run state" in v.report.lines()[0]


def test_status_prints_how_far_the_copy_is_known_complete_and_verify_exits_0(
    source: Source,
    target: Target,
    backend: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for variable, name in table_environment(target.settings).items():
        monkeypatch.setenv(variable, name)
    if backend == "dynamodb_local":
        monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", target.client.meta.endpoint_url)

    assert main(["status", source.api_url]) == 0
    assert "complete until: never" in capsys.readouterr().out

    target.copy(source)
    assert main(["status", source.api_url]) == 0
    printed = capsys.readouterr().out
    complete_until = target.checkpoint(source).complete_until
    assert complete_until is not None
    assert f"complete until: {complete_until}" in printed
    assert "\nlag: " in printed
    assert "pending states: 0" in printed
    assert "failed runs: 0" in printed

    monkeypatch.setenv("SOURCE_AUTH_STRING", AUTH_STRING)
    assert main(["verify", source.api_url]) == 0  # what `make verify` runs
    assert "differences: 0" in capsys.readouterr().err
