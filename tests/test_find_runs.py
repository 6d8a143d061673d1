"""The README's "Find runs" examples run as they stand: Prefect's client and CLI against the
service `make serve` runs, on archived records."""

import os
import re
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from api.clock import utc_now
from api.settings import Settings
from local.paths import README
from local.servers import PREFECT_VENV
from queries import Kind
from storage.clients import aws_client
from storage.record_items import RecordToStore
from storage.records import DynamoDBRecordStore

pytestmark = pytest.mark.slow  # the service over HTTP, Prefect's client and CLI


def find_runs_block(language: str) -> str:
    section = README.read_text().split("\n## Find runs\n", 1)[1].split("\n## ", 1)[0]
    match = re.search(rf"^```{language}\n(.*?)^```", section, re.M | re.S)
    assert match, f"no {language} block"
    return match.group(1)


def served(record: object) -> str:
    """A record as the Prefect client's own model writes it, as a server serves it."""
    return record.model_dump_json()  # type: ignore[attr-defined,no-any-return]


@pytest.fixture(scope="module")
def archived_runs(moto_tables: str) -> list[str]:
    """Three failed flow runs of one flow and a completed one, archived in `make serve`'s
    database; the failed runs' ids, newest first."""
    from prefect.client.schemas.objects import Flow, FlowRun, State, StateType

    started = datetime(2025, 3, 1, tzinfo=UTC)
    flow = Flow.model_validate(
        {"id": uuid.uuid4(), "name": "nightly-etl", "created": started, "updated": started}
    )
    runs = []
    for n, state_type in enumerate([StateType.FAILED] * 3 + [StateType.COMPLETED]):
        start = started + timedelta(hours=n)
        state = State(type=state_type, name=state_type.value.title(), timestamp=start)
        fields = {"expected_start_time": start, "start_time": start, "created": start}
        runs.append(
            FlowRun.model_validate(
                {
                    "id": uuid.uuid4(),
                    "name": f"archived-run-{n}",
                    "flow_id": flow.id,
                    "state": state,
                    "state_type": state_type,
                    "state_name": state.name,
                    "updated": start,
                    **fields,
                }
            )
        )
    client = aws_client("dynamodb", endpoint=moto_tables)
    store = DynamoDBRecordStore(Settings().record_table_names(), client, utc_now)
    store.put_records(Kind.FLOW, [RecordToStore(served(flow))])
    store.put_records(Kind.FLOW_RUN, [RecordToStore(served(run)) for run in runs])
    return [str(run.id) for run in reversed(runs[:3])]


def test_the_client_example_finds_the_archived_failed_runs(
    live_api_url: str, archived_runs: list[str]
) -> None:
    environment = os.environ | {"PREFECT_API_URL": live_api_url}
    example = subprocess.run(
        [sys.executable, "-c", find_runs_block("python")],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    lines = example.stdout.splitlines()
    count = int(lines[0].split()[0])
    assert count >= 3  # other tests on the same database may archive failed runs too
    listed = [line.split()[0] for line in lines[1:-1]]
    assert listed[:3] == archived_runs or set(archived_runs) <= set(listed)
    assert "Failed" in lines[-1]


def test_the_cli_example_lists_and_inspects_archived_runs(
    live_api_url: str, archived_runs: list[str], tmp_path: object
) -> None:
    ls_line, inspect_line = find_runs_block("sh").splitlines()
    environment = os.environ | {
        "PREFECT_API_URL": live_api_url,
        "PREFECT_HOME": str(tmp_path),
        "PREFECT_SERVER_EPHEMERAL_ENABLED": "false",
        "COLUMNS": "200",
    }
    prefect = str(PREFECT_VENV / "prefect")
    listing = subprocess.run(
        [prefect, *ls_line.split()[1:]],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert listing.returncode == 0, listing.stdout + listing.stderr
    assert "archived-run-" in listing.stdout
    command = [*inspect_line.split()[1:3], archived_runs[0]]
    inspected = subprocess.run(
        [prefect, *command],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert archived_runs[0] in inspected.stdout
    assert "archived-run-2" in inspected.stdout
