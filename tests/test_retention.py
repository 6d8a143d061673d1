"""Retention: a state is served until its expiry and is absent for every route from then on,
whether or not the database has deleted it yet."""

import math
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from botocore.awsrequest import AWSResponse
from botocore.compat import HTTPHeaders
from fastapi.testclient import TestClient
from moto import mock_aws

from api.runs import FLOW_RUN, TASK_RUN, RunKind
from api.schemas import StateCreate
from api.services import RepositoryProvider
from api.settings import (
    MAX_RETENTION_DAYS,
    TABLE_VARIABLES,
    Settings,
    SettingsError,
    TableSettings,
)
from api.states import new_state
from local.paths import PROJECT
from local.template_tables import create_tables, load_template, table_definition
from storage.dynamodb import DynamoDBStateRepository, dynamodb_client
from storage.table_shapes import (
    EXPIRES_AT,
    FLOW_RUN_STATES,
    LIST_ORDER,
    TASK_RUN_STATES,
    TTL,
    StateTable,
)
from tests.helpers import SettableClock, new_id, set_state, table_name

FLOW_RETENTION_VARIABLE = TABLE_VARIABLES[FLOW_RUN_STATES].retention_days
TASK_RETENTION_VARIABLE = TABLE_VARIABLES[TASK_RUN_STATES].retention_days
RETENTION = timedelta(days=30)
MICROSECOND = timedelta(microseconds=1)
WRITTEN = datetime(2026, 11, 22, 14, 1, 26, 589310, tzinfo=UTC)
EXPIRY = WRITTEN + RETENTION


@pytest.fixture
def frozen_clock(clock: SettableClock) -> SettableClock:
    """The service's clock, set to WRITTEN."""
    clock.now = WRITTEN
    return clock


@pytest.fixture
def retained(
    api: TestClient, kind: RunKind, repositories: RepositoryProvider, clock: SettableClock
) -> Iterator[TestClient]:
    """The app as `api`'s, on the same storage and clock, with `kind`'s states kept for
    RETENTION (30 days) and the other kind's kept until deleted."""
    from local.app import local_app

    settings = Settings().with_table(kind.table, TableSettings(table_name(kind), RETENTION))
    app = local_app(settings, repositories, clock)
    with TestClient(app, headers=dict(api.headers)) as client:
        yield client


def listed(api: TestClient, kind: RunKind, run_id: str) -> list[dict[str, Any]]:
    response = api.get(f"{kind.states_path}/", params={kind.run_id_field: run_id})
    assert response.status_code == 200
    states: list[dict[str, Any]] = response.json()
    return states


def stored_item(dynamodb: Any, kind: RunKind, state_id: str) -> dict[str, Any] | None:
    """The item as the table holds it, expired or not."""
    item: dict[str, Any] | None = dynamodb.get_item(
        TableName=table_name(kind), Key={"id": {"S": state_id}}
    ).get("Item")
    return item


# --- the setting -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("days", "period"),
    [
        (None, None),
        ("", None),
        ("0", None),
        ("0.0", None),
        ("30", timedelta(days=30)),
        (" 7 ", timedelta(days=7)),
        ("0.5", timedelta(hours=12)),
        ("0.001", timedelta(seconds=86.4)),
        ("1e-11", timedelta(microseconds=1)),  # 0.864 µs, kept to the microsecond
        ("1e-12", None),  # 0.0864 µs: nothing left
        ("36500", timedelta(days=36_500)),
    ],
)
def test_the_period_is_read_in_days(days: str | None, period: timedelta | None) -> None:
    environment = {} if days is None else {TASK_RETENTION_VARIABLE: days}
    assert Settings.from_environment(environment).task_run_states.retention == period


@pytest.mark.parametrize("days", ["-1", "-0.5", "thirty", "30d", "nan", "inf", "36501", "1e9"])
def test_a_bad_period_is_refused_naming_the_variable(days: str) -> None:
    with pytest.raises(SettingsError) as refusal:
        Settings.from_environment({FLOW_RETENTION_VARIABLE: days})
    assert str(refusal.value) == (
        f"FLOW_RUN_STATE_RETENTION_DAYS={days!r} is not a retention period: give a number of "
        "days from 0 (keep states until deleted) to 36500, fractions allowed (0.5 is 12 hours)"
    )


def test_a_bad_period_stops_make_serve_as_it_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    from local.app import local_app

    monkeypatch.setenv(FLOW_RETENTION_VARIABLE, "a month")
    with pytest.raises(SettingsError, match="FLOW_RUN_STATE_RETENTION_DAYS='a month'"):
        local_app()


@pytest.mark.slow
def test_a_bad_period_stops_a_set_state_function_as_it_starts() -> None:
    """The Lambda function's init fails, before any request."""
    environment = {**os.environ, TASK_RETENTION_VARIABLE: "-1"}
    started = subprocess.run(
        [sys.executable, "-c", "import handlers.set_task_run_state"],
        cwd=PROJECT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert started.returncode == 1
    assert started.stderr.splitlines()[-1] == (
        "api.settings.SettingsError: TASK_RUN_STATE_RETENTION_DAYS='-1' is not a "
        "retention period: give a number of days from 0 (keep states until deleted) to "
        "36500, fractions allowed (0.5 is 12 hours)"
    )


# --- what is stored ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "ttl"),
    [
        (WRITTEN, datetime(2026, 12, 22, 14, 1, 27, tzinfo=UTC)),  # rounded up to the second
        (WRITTEN.replace(microsecond=0), datetime(2026, 12, 22, 14, 1, 26, tzinfo=UTC)),
    ],
)
def test_each_item_carries_its_exact_expiry_and_a_ttl_rounded_up(
    retained: TestClient,
    kind: RunKind,
    dynamodb: Any,
    frozen_clock: SettableClock,
    written: datetime,
    ttl: datetime,
) -> None:
    frozen_clock.now = written
    state = set_state(retained, kind, new_id(), {"type": "RUNNING"}).json()["state"]
    item = stored_item(dynamodb, kind, state["id"])
    assert item is not None
    expiry = written + RETENTION
    assert item[EXPIRES_AT] == {"S": expiry.strftime("%Y-%m-%dT%H:%M:%S.%fZ")}
    assert item[TTL] == {"N": str(math.ceil(expiry.timestamp()))}
    assert item[TTL] == {"N": str(int(ttl.timestamp()))}


def test_without_retention_items_carry_no_expiry(
    api: TestClient, kind: RunKind, dynamodb: Any
) -> None:
    state = set_state(api, kind, new_id(), {"type": "RUNNING"}).json()["state"]
    item = stored_item(dynamodb, kind, state["id"])
    assert item is not None
    assert EXPIRES_AT not in item
    assert TTL not in item


def test_each_kind_of_run_has_its_own_period(
    retained: TestClient, kind: RunKind, dynamodb: Any, frozen_clock: SettableClock
) -> None:
    other = TASK_RUN if kind is FLOW_RUN else FLOW_RUN
    kept = set_state(retained, other, new_id(), {"type": "RUNNING"}).json()["state"]
    frozen_clock.now = EXPIRY + timedelta(days=365)
    assert retained.get(f"{other.states_path}/{kept['id']}").json() == kept
    assert EXPIRES_AT not in (stored_item(dynamodb, other, kept["id"]) or {})


# --- served until the expiry, absent from that instant on --------------------------------


def test_a_state_is_served_until_its_expiry_and_not_a_microsecond_after(
    retained: TestClient,
    kind: RunKind,
    dynamodb: Any,
    calls: Counter[str],
    frozen_clock: SettableClock,
) -> None:
    run_id = new_id()
    first = set_state(retained, kind, run_id, {"type": "PENDING"}).json()["state"]
    frozen_clock.now = WRITTEN + MICROSECOND
    second = set_state(retained, kind, run_id, {"type": "RUNNING"}).json()["state"]

    frozen_clock.now = EXPIRY - MICROSECOND
    assert retained.get(f"{kind.states_path}/{first['id']}").json() == first
    assert listed(retained, kind, run_id) == [first, second]

    frozen_clock.now = EXPIRY
    calls.clear()
    read = retained.get(f"{kind.states_path}/{first['id']}")
    assert read.status_code == 404
    assert read.json() == {"detail": kind.not_found}
    assert listed(retained, kind, run_id) == [second]
    # The database has deleted nothing: the expired item is skipped, not missing.
    assert stored_item(dynamodb, kind, first["id"]) is not None
    deleted = retained.delete(f"{kind.states_path}/{first['id']}")
    assert deleted.status_code == 404
    assert deleted.json() == {"detail": kind.not_found}
    assert retained.delete(f"{kind.states_path}/{second['id']}").status_code == 204
    assert calls == {"GetItem": 2, "Query": 1, "UpdateItem": 2}  # one call each, as always

    frozen_clock.now = EXPIRY + MICROSECOND
    assert listed(retained, kind, run_id) == []


def test_a_retry_whose_state_has_expired_is_stored_anew(
    retained: TestClient, kind: RunKind, calls: Counter[str], frozen_clock: SettableClock
) -> None:
    run_id = new_id()
    proposal = {"type": "RUNNING", "state_details": {"transition_id": new_id()}}
    first = set_state(retained, kind, run_id, proposal).json()["state"]

    frozen_clock.now = EXPIRY - MICROSECOND
    retry = set_state(retained, kind, run_id, proposal)
    assert (retry.status_code, retry.json()["state"]) == (200, first)

    frozen_clock.now = EXPIRY
    calls.clear()
    again = set_state(retained, kind, run_id, proposal)
    assert again.status_code == 201
    assert calls == {"PutItem": 1}
    stored = again.json()["state"]
    assert stored["id"] == first["id"]
    assert stored["timestamp"] == "2026-12-22T14:01:26.589310Z"
    assert retained.get(f"{kind.states_path}/{stored['id']}").json() == stored
    assert listed(retained, kind, run_id) == [stored]


# --- listings across DynamoDB pages ------------------------------------------------------

READ_AT = datetime(2026, 6, 1, tzinfo=UTC)
# 60 states of about 100 KB, so that DynamoDB's 1 MB pages hold about 10 each: the first
# page and the pages within the long middle run are nothing but expired states.
EXPIRED = {*range(12), 15, 17, 19, *range(22, 46)}


def test_listing_skips_expired_states_across_pages(dynamodb: Any, calls: Counter[str]) -> None:
    repository = DynamoDBStateRepository(
        FLOW_RUN_STATES, table_name(FLOW_RUN), dynamodb, now=lambda: READ_AT
    )
    run_id = new_id()
    written = []
    for n in range(60):
        moment = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=n)
        # Periods as if the setting had changed over time: expiry does not follow timestamp.
        until = READ_AT if n in EXPIRED else READ_AT + MICROSECOND
        proposal = StateCreate.model_validate({"type": "RUNNING", "data": "x" * 100_000})
        state = new_state(FLOW_RUN, UUID(run_id), proposal, moment, until - moment)
        repository.insert(state)
        written.append(state)

    pages: list[list[Any]] = []

    def keep_page(parsed: dict[str, Any], **kwargs: Any) -> None:
        pages.append(parsed["Items"])

    dynamodb.meta.events.register("after-call.dynamodb.Query", keep_page)
    calls.clear()
    listed_ids = [state.id for state in repository.list_run(run_id)]
    dynamodb.meta.events.unregister("after-call.dynamodb.Query", keep_page)

    live = [state.id for n, state in enumerate(written) if n not in EXPIRED]
    assert listed_ids == live
    assert calls == {"Query": len(pages)}
    expired_ids = {written[n].id for n in EXPIRED}
    # A listing's items hold the list order, which ends with the state's id, not the id.
    all_expired = [
        page
        for page in pages
        if {item[LIST_ORDER]["S"].rpartition("#")[2] for item in page} <= expired_ids
    ]
    assert pages[0] in all_expired
    assert len(all_expired) >= 2  # the middle run too: an all-expired page ends nothing


# --- the tables --------------------------------------------------------------------------


@pytest.mark.parametrize("table", [FLOW_RUN_STATES, TASK_RUN_STATES], ids=["flow", "task"])
def test_the_template_turns_on_ttl_and_passes_the_period(table: StateTable) -> None:
    assert table_definition(table)["TimeToLiveSpecification"] == {
        "AttributeName": TTL,
        "Enabled": True,
    }
    template = load_template()
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    parameter = variables[TABLE_VARIABLES[table].retention_days]["Ref"]
    assert template["Parameters"][parameter] | {"Description": ""} == {
        "Type": "Number",
        "Default": 0,
        "MinValue": 0,
        "MaxValue": MAX_RETENTION_DAYS,  # CloudFormation refuses what the function would
        "Description": "",
    }


def test_local_tables_have_ttl_where_the_emulator_has_it() -> None:
    with mock_aws():
        client = dynamodb_client()
        create_tables(client, Settings())
        for table in (FLOW_RUN_STATES, TASK_RUN_STATES):
            name = Settings().table(table).name
            description = client.describe_time_to_live(TableName=name)
            assert description["TimeToLiveDescription"] == {
                "TimeToLiveStatus": "ENABLED",
                "AttributeName": TTL,
            }


@pytest.mark.parametrize(
    ("code", "creates"), [("UnknownOperationException", True), ("ValidationException", False)]
)
def test_local_tables_skip_ttl_only_where_the_emulator_lacks_it(code: str, creates: bool) -> None:
    """An emulator without TTL (dynalite) answers UpdateTimeToLive with
    UnknownOperationException: the tables are made without TTL. Any other refusal is a real
    error."""

    def refuse(**kwargs: Any) -> tuple[AWSResponse, dict[str, Any]]:
        error = {"Error": {"Code": code, "Message": ""}, "ResponseMetadata": {}}
        return AWSResponse("", 400, HTTPHeaders(), None), error

    with mock_aws():
        client = dynamodb_client()
        # botocore-stubs type event handlers as returning None: a before-call handler returns
        # the response and parsed answer that stand for the call (the arg-type ignores here).
        client.meta.events.register("before-call.dynamodb.UpdateTimeToLive", refuse)  # type: ignore[arg-type]
        try:
            if creates:
                create_tables(client, Settings())
                assert set(client.list_tables()["TableNames"]) == {
                    Settings().flow_run_states.name,
                    Settings().task_run_states.name,
                    *Settings().record_table_names().values(),
                }
            else:
                with pytest.raises(client.exceptions.ClientError, match=code):
                    create_tables(client, Settings())
        finally:
            client.meta.events.unregister("before-call.dynamodb.UpdateTimeToLive", refuse)  # type: ignore[arg-type]
