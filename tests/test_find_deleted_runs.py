"""Old runs found through Prefect's own client and CLI (issue 21): once Prefect's vacuum has
deleted imported runs, the questions users ask to find them, asked of the service as `make
serve` runs it, answer what Prefect answered before the vacuum.

The source: a Prefect 3.9.1 server of its own whose vacuum deletes what a test ages, and whose
other services leave runs as written, holding real flows' history and a varied one with its
times in the weeks ahead (so that nothing but this test's ageing makes the vacuum delete).
"""

import tests.prefect_client_home  # noqa: F401  (first: Prefect reads its settings on import)

# isort: split
import json
import re
import subprocess
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    FlowFilter,
    FlowFilterName,
    FlowRunFilter,
    FlowRunFilterId,
    FlowRunFilterStartTime,
    FlowRunFilterState,
    FlowRunFilterStateType,
)
from prefect.client.schemas.objects import StateType
from prefect.client.schemas.sorting import FlowRunSort
from prefect.settings import PREFECT_API_AUTH_STRING, PREFECT_API_URL, temporary_settings
from pydantic import BaseModel

from local.servers import PREFECT_VENV, prefect_environment
from tests.archive import served_archive
from tests.conftest import prefect_source
from tests.filter_bodies import DEPLOYMENTS, FLOW_RUNS, FLOWS, TASK_RUNS, Record, Route
from tests.prefect_histories import VACUUM_SETTINGS, vacuum
from tests.prefect_source import AUTH_STRING, Source
from tests.same_answer import page_difference
from tests.varied_history import STILL_SETTINGS, delete_oversized_runs, make_varied_history

pytestmark = pytest.mark.slow

FINAL = {"COMPLETED", "FAILED", "CANCELLED", "CRASHED"}
# Computed by Prefect when it answers: for a run not yet final, they change from one answer to
# the next (the archive serves them as they were when copied).
NOW_DEPENDENT = ("estimated_run_time", "estimated_start_time_delta")
# The varied history's times: four weeks either side of this, all ahead of now.
AROUND = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(weeks=5)
WINDOW = (AROUND - timedelta(days=5), AROUND + timedelta(days=2))
VARIED_RUNS = 60


@dataclass(frozen=True)
class Before:
    """What Prefect answered before its vacuum, and the runs the vacuum then deleted."""

    answers: dict[str, Any]
    cli: dict[str, str]
    deleted: list[str]


@dataclass(frozen=True)
class Served:
    source: Source
    api_url: str  # the service's
    before: Before


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with prefect_source(tmp_path_factory, VACUUM_SETTINGS | STILL_SETTINGS) as source:
        source.run_flows("history")
        delete_oversized_runs(source)
        make_varied_history(source, count=VARIED_RUNS, around=AROUND)
        with served_archive(source.api_url) as api_url:
            asked = ask(source.api_url, AUTH_STRING)
            assert len(asked["all flow runs"]) < 200  # one answer holds them all
            cli = use_cli(source, source.api_url, AUTH_STRING, asked["all flow runs"])
            finished = [run["id"] for run in asked["all flow runs"] if _vacuumable(run)]
            deleted = vacuum(source, finished)
            assert deleted == finished
            yield Served(source, api_url, Before(asked, cli, deleted))


def _vacuumable(run: Record) -> bool:
    """Whether Prefect's vacuum deletes this flow run once its end is old enough: a finished
    run that is no other run's subflow."""
    return (
        run["state_type"] in FINAL
        and run["parent_task_run_id"] is None
        and run["end_time"] is not None
    )


def _json(models: Sequence[BaseModel] | BaseModel | int) -> Any:
    if isinstance(models, BaseModel):
        return models.model_dump(mode="json")
    if isinstance(models, int):
        return models
    return [model.model_dump(mode="json") for model in models]


def ask(api_url: str, auth_string: str | None, deleted: Sequence[str] = ()) -> dict[str, Any]:
    """The questions of issue 21, asked through Prefect's client, as JSON."""
    failed = FlowRunFilter(
        state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.FAILED]))
    )
    settings = temporary_settings(
        updates={PREFECT_API_URL: api_url, PREFECT_API_AUTH_STRING: auth_string}
    )
    with settings, get_client(sync_client=True) as client:
        every_run = client.read_flow_runs()
        with_task_runs = sorted(
            {
                str(task_run.flow_run_id)
                for task_run in client.read_task_runs()
                if task_run.flow_run_id
            }
        )
        window = FlowRunFilterStartTime(after_=WINDOW[0], before_=WINDOW[1])  # type: ignore[arg-type]
        return {
            "all flow runs": _json(every_run),
            "each deleted run by id": [
                _json(client.read_flow_run(uuid.UUID(run))) for run in deleted
            ],
            "failed runs, newest first": _json(
                client.read_flow_runs(flow_run_filter=failed, sort=FlowRunSort.START_TIME_DESC)
            ),
            "the runs of one flow": _json(
                client.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=["etl"])))
            ),
            "the runs started in a window": _json(
                client.read_flow_runs(
                    flow_run_filter=FlowRunFilter(start_time=window),
                    sort=FlowRunSort.START_TIME_ASC,
                )
            ),
            "a count of failures": client.count_flow_runs(flow_run_filter=failed),
            "a flow run's task runs": _json(
                client.read_task_runs(
                    flow_run_filter=FlowRunFilter(
                        id=FlowRunFilterId(any_=[uuid.UUID(with_task_runs[0])])
                    )
                )
            ),
            "flows": _json(client.read_flows()),
            "deployments": _json(client.read_deployments()),
        }


# The route and sort behind each listing above: where a sort leaves ties, tied runs are
# compared as a set.
LISTINGS: dict[str, tuple[Route, str]] = {
    "all flow runs": (FLOW_RUNS, "ID_DESC"),
    "failed runs, newest first": (FLOW_RUNS, "START_TIME_DESC"),
    "the runs of one flow": (FLOW_RUNS, "ID_DESC"),
    "the runs started in a window": (FLOW_RUNS, "START_TIME_ASC"),
    "a flow run's task runs": (TASK_RUNS, "ID_DESC"),
    "flows": (FLOWS, "NAME_ASC"),
    "deployments": (DEPLOYMENTS, "NAME_ASC"),
}


def comparable(record: Record) -> Record:
    """A record as it can be compared across time: a run not yet final without the figures
    Prefect computes when it answers."""
    if record.get("state_type", "COMPLETED") in FINAL or "state_type" not in record:
        return record
    return {key: value for key, value in record.items() if key not in NOW_DEPENDENT}


def assert_same_records(
    what: str, route: Route, sort: str, expected: list[Record], answered: list[Record]
) -> None:
    """`answered` holds Prefect's records of `expected` (all that match: fewer than a page),
    each as Prefect served it, in Prefect's order but for ties."""
    matches = {record["id"]: record for record in expected}
    ids = [record["id"] for record in answered]
    difference = page_difference(route, sort, list(matches), ids, matches)
    assert difference is None, f"{what}: {difference}"
    for record in answered:
        assert comparable(record) == comparable(matches[record["id"]]), (what, record["id"])


def test_prefects_client_finds_the_deleted_runs_as_prefect_did(served: Served) -> None:
    before = served.before.answers
    # Prefect itself has lost them.
    assert ask(served.source.api_url, AUTH_STRING)["all flow runs"] != before["all flow runs"]
    assert served.before.deleted
    after = ask(served.api_url, None, served.before.deleted)
    for what, (route, sort) in LISTINGS.items():
        assert before[what], f"{what}: Prefect answered nothing; the test needs some"
        assert_same_records(what, route, sort, before[what], after[what])
    assert after["a count of failures"] == before["a count of failures"] > 0
    by_id = {run["id"]: run for run in before["all flow runs"]}
    assert [comparable(run) for run in after["each deleted run by id"]] == [
        comparable(by_id[run]) for run in served.before.deleted
    ]


def prefect_cli(source: Source, api_url: str, auth_string: str | None, *arguments: str) -> str:
    """`prefect ARGUMENTS` (Prefect's own CLI, from its venv) against `api_url`: its output."""
    environment = prefect_environment(source.home, auth_string, api_url) | {"COLUMNS": "400"}
    result = subprocess.run(
        [str(PREFECT_VENV / "prefect"), *arguments],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def use_cli(
    source: Source, api_url: str, auth_string: str | None, runs: list[Record]
) -> dict[str, str]:
    """`prefect flow-run ls` (as JSON, and as its table of every run), and `prefect flow-run
    inspect` of a finished run (as Prefect prints it, and as JSON)."""
    inspected = [run["id"] for run in runs if run["state_type"] in FINAL][:1]  # 3 s a call
    printed = {
        "ls": prefect_cli(source, api_url, auth_string, "flow-run", "ls", "-o", "json"),
        "ls table": prefect_cli(source, api_url, auth_string, "flow-run", "ls", "--limit", "200"),
    }
    for run in inspected:
        printed[f"inspect {run}"] = prefect_cli(
            source, api_url, auth_string, "flow-run", "inspect", run
        )
        printed[f"inspect {run} json"] = prefect_cli(
            source, api_url, auth_string, "flow-run", "inspect", run, "-o", "json"
        )
    return printed


_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def table_rows(table: str) -> list[list[str]]:
    """The rows of `prefect flow-run ls`'s table, without its last column ("When": a time
    relative to now, such as "5 seconds ago")."""
    rows = [line for line in table.splitlines() if _UUID.search(line)]
    return [[cell.strip() for cell in row.strip("│ ").split("│")][:-1] for row in rows]


def test_prefects_cli_finds_the_deleted_runs_as_prefect_did(served: Served) -> None:
    before = served.before
    every_run = before.answers["all flow runs"]
    after = use_cli(served.source, served.api_url, None, every_run)
    assert after.keys() == before.cli.keys()

    listed, listed_before = json.loads(after["ls"]), json.loads(before.cli["ls"])
    assert len(listed_before) == 15  # the CLI's default limit, of the newest expected starts
    matches = {run["id"]: run for run in every_run}
    difference = page_difference(
        FLOW_RUNS,
        "EXPECTED_START_TIME_DESC",
        [run["id"] for run in listed_before],
        [run["id"] for run in listed],
        matches,
    )
    assert difference is None, difference
    for run in listed:
        assert comparable(run) == comparable(matches[run["id"]])

    assert table_rows(after["ls table"]) == table_rows(before.cli["ls table"])
    assert len(table_rows(before.cli["ls table"])) == len(every_run)
    for name in before.cli:
        if name.startswith("inspect"):
            assert after[name] == before.cli[name], name
