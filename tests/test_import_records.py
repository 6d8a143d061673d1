"""The importer copies the records of runs, flows and deployments from a live Prefect 3.9.1
(the `source` fixture's real flows, plus a deployment and runs made here): each read back
through the service's routes equals Prefect's JSON; written once; kept current by a follow
pass; retention; the record over 400 KB skipped and named; resumed; verified. Each on moto
and on DynamoDB Local, into tables of the test's own."""

import json
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest

from api.runs import FLOW_RUN, TASK_RUN, RunKind
from importer.progress import Progress, Summary
from importer.wiring import open_verifier
from queries import Kind
from storage.repository import fixed_width_utc
from storage.table_shapes import DEPLOYMENTS, EXPIRES_AT, FLOW_RUNS, RECORD
from tests.prefect_source import AUTH_STRING, Source
from tests.test_import import Target, fresh_settings, target_on
from tests.test_import_histories import followable

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

pytestmark = pytest.mark.slow

ITEM_LIMIT = 400_000  # about DynamoDB's 400 KB: the history's one larger record is far above


@pytest.fixture
def target(dynamodb: "DynamoDBClient") -> Iterator[Target]:
    with target_on(dynamodb, fresh_settings()) as fresh:
        yield fresh


def served_records(source: Source, kind: Kind) -> dict[str, dict[str, Any]]:
    """Every record of `kind` the source serves, by id."""
    found: dict[str, dict[str, Any]] = {}
    with source.http() as http:
        while True:
            body = {"limit": 200, "offset": len(found)}
            page = http.post(f"/{kind.value}s/filter", json=body).raise_for_status().json()
            found |= {record["id"]: record for record in page}
            if len(page) < 200:
                return found


def source_record(source: Source, kind: Kind, record_id: str) -> dict[str, Any]:
    with source.http() as http:
        record: dict[str, Any] = http.get(f"/{kind.value}s/{record_id}").raise_for_status().json()
    return record


def too_large(records: dict[str, dict[str, Any]]) -> set[str]:
    return {key for key, record in records.items() if len(json.dumps(record)) > ITEM_LIMIT}


def deployed_run(source: Source, state: str = "COMPLETED") -> dict[str, str]:
    """A new deployment of a flow, and a flow run of it in `state`, made through Prefect's
    REST API: the history has no deployment."""
    with source.http() as http:
        flow = http.post("/flows/", json={"name": "archived-records"}).raise_for_status().json()
        name = f"archived-{uuid.uuid4().hex[:8]}"
        deployment = http.post(
            "/deployments/", json={"name": name, "flow_id": flow["id"], "tags": ["archived"]}
        )
        deployment_id = deployment.raise_for_status().json()["id"]
        run = http.post(
            "/flow_runs/",
            json={
                "flow_id": flow["id"],
                "deployment_id": deployment_id,
                "tags": ["archived"],
                "state": {"type": state},
            },
        )
        run_id = run.raise_for_status().json()["id"]
    return {"flow": flow["id"], "deployment": deployment_id, "flow_run": run_id}


def archived(target: Target, kind: Kind, record_id: str) -> dict[str, Any] | None:
    """The record as the service serves it; None where it answers 404."""
    response = target.api.get(f"/api/{kind.value}s/{record_id}")
    if response.status_code == 404:
        return None
    assert response.status_code == 200, (kind, record_id, response.text)
    record: dict[str, Any] = response.json()
    return record


def assert_records_copied(target: Target, source: Source) -> int:
    """Every record the source serves reads back through the service as Prefect's JSON, but
    the one over the item limit (a 404); how many were compared."""
    compared = 0
    for kind in Kind:
        records = served_records(source, kind)
        skipped = too_large(records)
        for record_id, record in records.items():
            answer = archived(target, kind, record_id)
            assert answer == (None if record_id in skipped else record), (kind, record_id)
            compared += record_id not in skipped
    return compared


def test_every_record_reads_back_as_prefect_serves_it_and_is_written_once(
    source: Source, target: Target
) -> None:
    made = deployed_run(source)
    by_id = source_record(source, Kind.FLOW_RUN, made["flow_run"])
    # The listing serves a run's record as its read by id does, which the copy stores.
    assert served_records(source, Kind.FLOW_RUN)[made["flow_run"]] == by_id
    (oversized,) = too_large(served_records(source, Kind.FLOW_RUN))

    first = target.copy(source)
    compared = assert_records_copied(target, source)
    assert first.summary.records_copied == compared
    assert first.summary.records_present == first.summary.records_expired == 0
    (named,) = first.summary.records_too_large
    assert named.startswith(f"flow run record {oversized}: ")
    assert "records copied (runs, flows, deployments): " in "\n".join(first.summary.lines())
    # Found through the service's queries, as Prefect's client asks.
    found = target.api.post(
        "/api/flow_runs/filter", json={"deployments": {"id": {"any_": [made["deployment"]]}}}
    )
    assert [run["id"] for run in found.json()] == [made["flow_run"]]
    assert archived(target, Kind.DEPLOYMENT, made["deployment"]) == source_record(
        source, Kind.DEPLOYMENT, made["deployment"]
    )

    with target.importer(source) as importer:
        importer.run(reconcile=True)
    assert importer.summary.records_copied == 0
    assert importer.summary.records_present == compared


def test_a_follow_pass_keeps_a_runs_record_current_and_copies_what_it_names(
    source: Source, target: Target
) -> None:
    made = deployed_run(source, state="PENDING")
    target.copy(source)
    assert (archived(target, Kind.FLOW_RUN, made["flow_run"]) or {}).get("state_type") == "PENDING"

    # A state change, and a run of a deployment made after the copy listed deployments.
    with source.http() as http:
        http.post(
            f"/flow_runs/{made['flow_run']}/set_state",
            json={"state": {"type": "COMPLETED"}, "force": True},
        ).raise_for_status()
    later = deployed_run(source)
    followable(source, FLOW_RUN, made["flow_run"])
    followable(source, FLOW_RUN, later["flow_run"])

    followed = target.copy(source)
    assert followed.summary.runs_read >= 2  # a follow pass: from the events
    assert not target.checkpoint(source).in_pass
    for kind, key in ((Kind.FLOW_RUN, "flow_run"), (Kind.DEPLOYMENT, "deployment")):
        for run in (made, later):
            assert archived(target, kind, run[key]) == source_record(source, kind, run[key])
    assert (archived(target, Kind.FLOW_RUN, made["flow_run"]) or {}).get(
        "state_type"
    ) == "COMPLETED"


def test_a_record_left_behind_its_states_is_caught_up_by_the_next_follow_pass(
    source: Source, target: Target
) -> None:
    """A pass cut short between a run's states and its record (here: the record not
    written), then resumed: the states are stored, so only the stored record's older state
    tells the next pass to read it again."""
    made = deployed_run(source, state="PENDING")
    target.copy(source)
    with source.http() as http:
        http.post(
            f"/flow_runs/{made['flow_run']}/set_state",
            json={"state": {"type": "COMPLETED"}, "force": True},
        ).raise_for_status()
    followable(source, FLOW_RUN, made["flow_run"])
    with target.importer(source) as importer:
        importer.records.copy_runs = lambda *arguments: None  # type: ignore[method-assign]
        importer.run()
    assert importer.summary.states_copied > 0
    behind = archived(target, Kind.FLOW_RUN, made["flow_run"])
    assert behind is not None
    assert behind["state_type"] == "PENDING"

    caught_up = target.copy(source)
    assert caught_up.summary.states_copied == 0
    assert archived(target, Kind.FLOW_RUN, made["flow_run"]) == source_record(
        source, Kind.FLOW_RUN, made["flow_run"]
    )


def newest_states(
    source: Source, kind: RunKind, runs: dict[str, dict[str, Any]]
) -> dict[str, datetime]:
    """Each run's newest state's timestamp."""
    return {
        run_id: max(
            datetime.fromisoformat(state["timestamp"]) for state in source.states(kind, run_id)
        )
        for run_id in runs
    }


def test_a_records_expiry_is_the_latest_of_its_states(
    source: Source, dynamodb: "DynamoDBClient"
) -> None:
    """Copied as of a day after the median flow run's newest state: the older half of the
    runs' records have expired by then (each with all its states); flows never expire."""
    runs = served_records(source, Kind.FLOW_RUN)
    newest = newest_states(source, FLOW_RUN, runs)
    cutoff = sorted(newest.values())[len(newest) // 2]
    task_runs = newest_states(source, TASK_RUN, served_records(source, Kind.TASK_RUN))
    with (
        target_on(dynamodb, fresh_settings(retention=timedelta(days=1))) as target,
        target.importer(source, clock=lambda: cutoff + timedelta(days=1)) as importer,
    ):
        importer.run()
    table = target.settings.record_table_names()[FLOW_RUNS]
    skipped = too_large(runs)
    live = {run_id for run_id, moment in newest.items() if moment > cutoff}
    expired = set(runs) - live
    expired_task_runs = [moment for moment in task_runs.values() if moment <= cutoff]
    assert importer.summary.records_expired == len(expired) + len(expired_task_runs)
    for run_id in runs:
        answer = archived(target, Kind.FLOW_RUN, run_id)
        if run_id in skipped or run_id in expired:
            assert answer is None, run_id
            continue
        assert answer == runs[run_id]
        item = dynamodb.get_item(TableName=table, Key={"id": {"S": run_id}})["Item"]
        assert item[EXPIRES_AT]["S"] == fixed_width_utc(newest[run_id] + timedelta(days=1))
    flows = served_records(source, Kind.FLOW)
    assert all(archived(target, Kind.FLOW, key) == flows[key] for key in flows)


def test_an_interrupted_copy_writes_each_pages_records_and_resumes(
    source: Source, target: Target
) -> None:
    class StopAfterTwoPages(Progress):
        pages = -1  # the first update is the walk's start

        def update(self, covered: float, summary: Summary) -> None:
            self.pages += 1
            if self.pages == 2:
                importer.stop.set()

    with target.importer(source, progress=StopAfterTwoPages()) as importer:
        importer.source.page_size = 2
        assert importer.run() is False
        interrupted = importer.summary
    flow_runs = served_records(source, Kind.FLOW_RUN)
    stored = [run_id for run_id in flow_runs if archived(target, Kind.FLOW_RUN, run_id) is not None]
    assert 0 < len(stored) <= 4
    assert interrupted.runs_read == 4  # two pages of two flow runs: theirs, and every flow's
    assert interrupted.records_copied == len(stored) + sum(
        len(served_records(source, kind)) for kind in (Kind.FLOW, Kind.DEPLOYMENT)
    )

    resumed = target.copy(source)
    compared = assert_records_copied(target, source)
    # The page in flight when it stopped was complete: nothing is written twice.
    assert interrupted.records_copied + resumed.summary.records_copied == compared


def test_verify_finds_a_missing_and_a_changed_record_and_nothing_after_a_good_copy(
    source: Source, target: Target
) -> None:
    made = deployed_run(source)
    target.copy(source)

    def verify() -> list[str]:
        with open_verifier(
            source.api_url, target.settings, AUTH_STRING, client=target.client
        ) as verifier:
            return [difference.line() for difference in verifier.verify()]

    assert verify() == []
    table = target.settings.record_table_names()[FLOW_RUNS]
    target.client.delete_item(TableName=table, Key={"id": {"S": made["flow_run"]}})
    deployments = target.settings.record_table_names()[DEPLOYMENTS]
    changed = source_record(source, Kind.DEPLOYMENT, made["deployment"]) | {"tags": ["edited"]}
    target.client.update_item(
        TableName=deployments,
        Key={"id": {"S": made["deployment"]}},
        UpdateExpression="SET #record = :record",
        ExpressionAttributeNames={"#record": RECORD},
        ExpressionAttributeValues={":record": {"S": json.dumps(changed)}},
    )
    assert sorted(verify()) == [
        f"deployment record {made['deployment']}: differs (keys: tags)",
        f"flow run record {made['flow_run']}: missing",
    ]
    with target.importer(source) as importer:
        importer.run(reconcile=True)  # what verify's reader is told to run
    assert verify() == []
