"""The archive answers as the live Prefect 3.9.1 it copied (the `source` fixture: real
flows' history): its records loaded through `put_records` (tests/prefect_records.py), then
the same filter and count bodies asked of both."""

from typing import TYPE_CHECKING, Any

import httpx
import pytest
from fastapi.testclient import TestClient

from api.clock import utc_now
from api.services import RecordClient, RepositoryProvider
from local.app import local_app
from local.template_tables import create_tables
from queries import Kind
from storage.records import DynamoDBRecordStore
from tests.helpers import API_VERSION_HEADER
from tests.prefect_records import load_records
from tests.prefect_source import Source
from tests.test_import import fresh_settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

pytestmark = pytest.mark.slow  # a Prefect server


def bodies(run: dict[str, Any], flow_id: str) -> list[tuple[str, dict[str, Any]]]:
    """A handful of what users ask to find old runs, on the source's own ids."""
    return [
        ("/flow_runs/filter", {}),
        ("/flow_runs/filter", {"sort": "EXPECTED_START_TIME_DESC", "limit": 5}),
        ("/flow_runs/filter", {"flows": {"id": {"any_": [flow_id]}}, "sort": "START_TIME_DESC"}),
        ("/flow_runs/filter", {"flow_runs": {"state": {"type": {"any_": ["COMPLETED"]}}}}),
        ("/flow_runs/count", {"flow_runs": {"state": {"type": {"any_": ["FAILED"]}}}}),
        ("/flow_runs/count", {}),
        ("/task_runs/filter", {"flow_runs": {"id": {"any_": [run["id"]]}}, "sort": "NAME_ASC"}),
        ("/task_runs/count", {"flow_runs": {"id": {"any_": [run["id"]]}}}),
        ("/flows/filter", {"sort": "NAME_DESC"}),
        ("/deployments/count", {}),
    ]


def prefects_answer(http: httpx.Client, path: str, body: dict[str, Any], skipped: set[str]) -> Any:
    """Prefect's answer, less the records the archive could not keep (over 400 KB: the
    history holds one such run on purpose): its ids in order, or its count."""
    if path.endswith("/count"):
        listed = http.post(path.replace("/count", "/filter"), json=body).raise_for_status()
        too_large = {record["id"] for record in listed.json()} & skipped
        return http.post(path, json=body).raise_for_status().json() - len(too_large)
    limit = body.get("limit", 200)
    asked = {**body, "limit": min(limit + len(skipped), 200)}
    found = http.post(path, json=asked).raise_for_status().json()
    return [record["id"] for record in found if record["id"] not in skipped][:limit]


def ids(answer: Any) -> Any:
    return [record["id"] for record in answer] if isinstance(answer, list) else answer


# The source's scheduler keeps creating runs (its deployments have schedules): a body's two
# answers are compared just after the archive is brought up to date, up to a few times.
ATTEMPTS = 3


def test_the_archive_answers_as_the_prefect_it_copied(
    source: Source,
    dynamodb: "DynamoDBClient",
    repositories: RepositoryProvider,
    record_client: RecordClient,
) -> None:
    # Tables of its own: DynamoDB Local is one server for the session, and other tests
    # archive records of their own in the default tables.
    settings = fresh_settings()
    create_tables(dynamodb, settings)
    store = DynamoDBRecordStore(settings.record_table_names(), dynamodb, utc_now)
    app = local_app(settings, repositories, utc_now, record_client)
    with source.http() as http, TestClient(app, headers=API_VERSION_HEADER) as api:
        loaded, _ = load_records(http, store)
        assert loaded[Kind.FLOW_RUN]
        assert loaded[Kind.TASK_RUN]
        assert loaded[Kind.FLOW]
        runs = http.post("/flow_runs/filter", json={"sort": "START_TIME_DESC"}).json()
        for path, body in bodies(runs[0], runs[0]["flow_id"]):
            for _ in range(ATTEMPTS):
                _, skipped = load_records(http, store)
                prefect = prefects_answer(http, path, body, skipped)
                ours = api.post(f"/api{path}", json=body)
                assert ours.status_code == 200, (path, body, ours.text)
                if ids(ours.json()) == prefect:
                    break
            assert ids(ours.json()) == prefect, (path, body)
        some = next(run["id"] for run in runs if run["id"] not in skipped)
        assert api.get(f"/api/flow_runs/{some}").json() == http.get(f"/flow_runs/{some}").json()
