"""The record queries' meaning (queries/): Prefect 3.9.1's bodies, filters, sorts and plans.

Expected answers marked "Prefect 3.9.1 answered" were taken from a Prefect 3.9.1 server (its
app in process, on SQLite) given the same body. SQLite's own reading of LIKE and ORDER BY is
checked against Python's sqlite3 on generated data.
"""

import sqlite3
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from queries import (
    BodyInvalid,
    InvalidLimit,
    Kind,
    Record,
    Relation,
    Route,
    UnanswerableFilter,
    kind_of,
    narrowing,
    pages,
    parse_body,
    plan,
    sort_records,
    unanswerable,
)
from queries.bodies import (
    BODIES,
    DeploymentFilterBody,
    FlowFilterBody,
    FlowRunFilterBody,
    FlowRunPaginateBody,
    TaskRunFilterBody,
)
from queries.datetimes import NOT_A_DATETIME, DateTime
from queries.filters import FlowRunFilter, TaskRunFilter, WorkPoolFilter, flow_run_start
from queries.plan import START_TIME_OR_EXPECTED, TimeRange
from queries.records import time_of
from queries.sorting import DeploymentSort, FlowRunSort, FlowSort, TaskRunSort, order_by

NOW = datetime(2024, 6, 1, 12, tzinfo=UTC)


def uid(n: int) -> str:
    return str(uuid.UUID(int=n))


def default_sort(route: Route) -> object:
    """The sort a filter route's empty body reads."""
    body = parse_body(route, {})
    assert isinstance(
        body, FlowRunFilterBody | TaskRunFilterBody | FlowFilterBody | DeploymentFilterBody
    )
    return body.sort


# A small archive: records as Prefect serves them, and the lookup the plans follow.


def flow(n: int, name: str, **fields: Any) -> dict[str, Any]:
    return {
        "id": uid(n),
        "name": name,
        "tags": [],
        "created": "2024-01-01T00:00:00Z",
        "updated": "2024-01-01T00:00:00Z",
    } | fields


def deployment(n: int, name: str, flow_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "id": uid(n),
        "name": name,
        "flow_id": flow_id,
        "tags": [],
        "paused": False,
        "work_queue_id": None,
        "work_queue_name": None,
        "work_pool_name": None,
        "created": "2024-01-01T00:00:00Z",
        "updated": "2024-01-01T00:00:00Z",
    } | fields


def flow_run(n: int, name: str, flow_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "id": uid(n),
        "name": name,
        "flow_id": flow_id,
        "deployment_id": None,
        "work_queue_id": None,
        "work_queue_name": None,
        "work_pool_id": None,
        "work_pool_name": None,
        "flow_version": None,
        "idempotency_key": None,
        "tags": [],
        "parent_task_run_id": None,
        "state_type": "COMPLETED",
        "state_name": "Completed",
        "expected_start_time": "2024-01-01T00:00:00Z",
        "next_scheduled_start_time": None,
        "start_time": None,
        "end_time": None,
        "created_by": None,
        "total_run_time": 0.0,
    } | fields


def task_run(n: int, name: str, flow_run_id: str | None, **fields: Any) -> dict[str, Any]:
    return {
        "id": uid(n),
        "name": name,
        "flow_run_id": flow_run_id,
        "tags": [],
        "state_type": "COMPLETED",
        "state_name": "Completed",
        "state": None,
        "expected_start_time": "2024-01-01T00:00:00Z",
        "next_scheduled_start_time": None,
        "start_time": None,
        "end_time": None,
        "total_run_time": 0.0,
    } | fields


class Archive:
    """Records in memory, with the `follow` lookup a store would give."""

    def __init__(self, *records: tuple[Kind, Record]) -> None:
        self.records: dict[Kind, list[Record]] = defaultdict(list)
        for kind, record in records:
            self.records[kind].append(record)

    def by_id(self, kind: Kind, record_id: str | None) -> list[Record]:
        return [record for record in self.records[kind] if record["id"] == record_id]

    def where(self, kind: Kind, field: str, value: str) -> list[Record]:
        return [record for record in self.records[kind] if record.get(field) == value]

    def follow(self, relation: Relation, record: Record) -> Iterable[Record]:
        match relation:
            case Relation.FLOW:
                return self.by_id(Kind.FLOW, record["flow_id"])
            case Relation.DEPLOYMENT:
                return self.by_id(Kind.DEPLOYMENT, record["deployment_id"])
            case Relation.FLOW_RUN:
                return self.by_id(Kind.FLOW_RUN, record["flow_run_id"])
            case Relation.PARENT_TASK_RUN:
                return self.by_id(Kind.TASK_RUN, record["parent_task_run_id"])
            case Relation.TASK_RUNS:
                return self.where(Kind.TASK_RUN, "flow_run_id", record["id"])
            case Relation.SUBFLOW_RUNS:
                return self.where(Kind.FLOW_RUN, "parent_task_run_id", record["id"])
            case Relation.FLOW_RUNS_OF_FLOW:
                return self.where(Kind.FLOW_RUN, "flow_id", record["id"])
            case Relation.FLOW_RUNS_OF_DEPLOYMENT:
                return self.where(Kind.FLOW_RUN, "deployment_id", record["id"])
            case Relation.DEPLOYMENTS_OF_FLOW:
                return self.where(Kind.DEPLOYMENT, "flow_id", record["id"])

    def answer(self, route: Route, body: Mapping[str, Any]) -> list[str]:
        """The ids a route returns, in order (all of them for a count route)."""
        parsed = parse_body(route, body)
        predicate = plan(parsed).predicate()
        found = [r for r in self.records[kind_of(parsed)] if predicate(r, self.follow)]
        sort = getattr(parsed, "sort", None)
        if sort is not None:
            found = sort_records(found, sort, NOW)
            offset, limit = getattr(parsed, "offset", 0), getattr(parsed, "limit", 200)
            found = found[offset : offset + limit]
        return [record["id"] for record in found]


def names(archive: Archive, route: Route, body: Mapping[str, Any]) -> set[str]:
    by_id = {r["id"]: r["name"] for records in archive.records.values() for r in records}
    return {by_id[record_id] for record_id in archive.answer(route, body)}


def flow_runs_named(route: Route, body: Mapping[str, Any], *runs: dict[str, Any]) -> set[str]:
    archive = Archive((Kind.FLOW, flow(1, "f")), *((Kind.FLOW_RUN, run) for run in runs))
    return names(archive, route, body)


def run(n: int, name: str, **fields: Any) -> dict[str, Any]:
    return flow_run(n, name, uid(1), **fields)


# Bodies, as Prefect 3.9.1 validates them.


def errors_of(route: Route, body: Any) -> list[dict[str, Any]]:
    with pytest.raises(BodyInvalid) as raised:
        parse_body(route, body)
    return [dict(error) for error in raised.value.errors]


def test_a_limit_over_200_is_prefects_plain_422_before_anything_else_is_read() -> None:
    # Prefect 3.9.1 answered {"detail": "Invalid limit: must be less than or equal to 200."}
    # for {"limit": 500, "sort": "BAD"}: the bad sort is never reported.
    with pytest.raises(InvalidLimit) as raised:
        parse_body(Route.FLOW_RUNS_FILTER, {"limit": 500, "sort": "BAD"})
    assert raised.value.detail == "Invalid limit: must be less than or equal to 200."
    with pytest.raises(InvalidLimit) as raised:
        parse_body(Route.DEPLOYMENTS_FILTER, {"limit": -1})
    assert raised.value.detail == "Invalid limit: must be greater than or equal to 0."


@pytest.mark.parametrize(("limit", "read"), [("5", 5), (True, 1), (200, 200), (0, 0), (None, 200)])
def test_limit_is_read_as_fastapi_reads_an_int(limit: Any, read: int) -> None:
    body = parse_body(Route.TASK_RUNS_FILTER, {"limit": limit})
    assert isinstance(body, TaskRunFilterBody)
    assert body.limit == read


def test_a_limit_that_is_no_integer_is_a_validation_error_with_the_others() -> None:
    # Prefect 3.9.1 answered both errors, limit first.
    assert [
        (e["type"], e["loc"])
        for e in errors_of(Route.FLOW_RUNS_FILTER, {"limit": "x", "sort": "BAD"})
    ] == [
        ("int_parsing", ("body", "limit")),
        ("enum", ("body", "sort")),
    ]
    assert errors_of(Route.FLOW_RUNS_FILTER, {"limit": 5.5}) == [
        {
            "type": "int_from_float",
            "loc": ("body", "limit"),
            "msg": "Input should be a valid integer, got a number with a fractional part",
            "input": 5.5,
        }
    ]


def test_errors_are_prefects_in_prefects_order() -> None:
    body = {"sort": "BAD", "offset": -1, "flow_runs": {"bogus": 1}}
    expected = (
        "'ID_DESC', 'START_TIME_ASC', 'START_TIME_DESC', 'EXPECTED_START_TIME_ASC', "
        "'EXPECTED_START_TIME_DESC', 'NAME_ASC', 'NAME_DESC', 'NEXT_SCHEDULED_START_TIME_ASC' "
        "or 'END_TIME_DESC'"
    )
    assert errors_of(Route.FLOW_RUNS_FILTER, body) == [
        {
            "type": "enum",
            "loc": ("body", "sort"),
            "msg": f"Input should be {expected}",
            "input": "BAD",
            "ctx": {"expected": expected},
        },
        {
            "type": "greater_than_equal",
            "loc": ("body", "offset"),
            "msg": "Input should be greater than or equal to 0",
            "input": -1,
            "ctx": {"ge": 0},
        },
        {
            "type": "extra_forbidden",
            "loc": ("body", "flow_runs", "bogus"),
            "msg": "Extra inputs are not permitted",
            "input": 1,
        },
    ]


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (
            {"flow_runs": {"state": {"type": {"any_": ["NOPE"]}}}},
            ("enum", ("body", "flow_runs", "state", "type", "any_", 0)),
        ),
        (
            {"flow_runs": {"id": {"any_": ["not-a-uuid"]}}},
            ("uuid_parsing", ("body", "flow_runs", "id", "any_", 0)),
        ),
        ({"flow_runs": {"operator": "xor"}}, ("enum", ("body", "flow_runs", "operator"))),
        ({"flow_runs": []}, ("model_attributes_type", ("body", "flow_runs"))),
        (
            {"flow_runs": {"tags": {"all_": "abc"}}},
            ("list_type", ("body", "flow_runs", "tags", "all_")),
        ),
        (
            {"flow_runs": {"start_time": {"after_": "xyz"}}},
            ("value_error", ("body", "flow_runs", "start_time", "after_")),
        ),
        (
            {"task_runs": {"state": {"type": {"not_any_": ["FAILED"]}}}},
            ("extra_forbidden", ("body", "task_runs", "state", "type", "not_any_")),
        ),
    ],
)
def test_malformed_filters_get_prefects_error(
    body: dict[str, Any], error: tuple[str, tuple[Any, ...]]
) -> None:
    route = Route.TASK_RUNS_FILTER if "task_runs" in body else Route.FLOW_RUNS_FILTER
    assert [(e["type"], e["loc"]) for e in errors_of(route, body)] == [error]


def test_a_body_that_is_no_object_reports_every_field_missing_in_prefects_order() -> None:
    # Prefect 3.9.1's answer to [1] and to "x" on /flow_runs/filter.
    fields = ["limit", "sort", "offset", "flows", "flow_runs", "task_runs", "deployments"]
    fields += ["work_pools", "work_pool_queues"]
    for body in ([1], "x"):
        assert errors_of(Route.FLOW_RUNS_FILTER, body) == [
            {"type": "missing", "loc": ("body", name), "msg": "Field required", "input": None}
            for name in fields
        ]


@pytest.mark.parametrize(
    ("route", "fields"),
    [
        (
            Route.FLOW_RUNS_FILTER,
            "limit sort offset flows flow_runs task_runs deployments work_pools work_pool_queues",
        ),
        (
            Route.FLOW_RUNS_COUNT,
            "flows flow_runs task_runs deployments work_pools work_pool_queues",
        ),
        (
            Route.FLOW_RUNS_PAGINATE,
            "limit sort page flows flow_runs task_runs deployments work_pools work_pool_queues",
        ),
        (Route.TASK_RUNS_FILTER, "limit sort offset flows flow_runs task_runs deployments"),
        (Route.TASK_RUNS_COUNT, "flows flow_runs task_runs deployments"),
        (Route.FLOWS_FILTER, "limit offset flows flow_runs task_runs deployments work_pools sort"),
        (Route.FLOWS_COUNT, "flows flow_runs task_runs deployments work_pools"),
        (
            Route.DEPLOYMENTS_FILTER,
            "limit offset flows flow_runs task_runs deployments work_pools work_pool_queues sort",
        ),
        (
            Route.DEPLOYMENTS_COUNT,
            "flows flow_runs task_runs deployments work_pools work_pool_queues",
        ),
    ],
)
def test_each_body_has_prefects_parameters_in_prefects_order(route: Route, fields: str) -> None:
    # The dependency's `limit` first, then the route function's body parameters in order.
    assert list(BODIES[route].model_fields) == fields.split()


def test_null_fields_take_their_defaults_and_unknown_keys_are_ignored() -> None:
    body = parse_body(
        Route.FLOW_RUNS_FILTER, {"limit": None, "offset": None, "sort": None, "anything": 1}
    )
    assert isinstance(body, FlowRunFilterBody)
    assert (body.limit, body.offset, body.sort) == (
        200,
        0,
        FlowRunSort.ID_DESC,
    )
    assert default_sort(Route.FLOWS_FILTER) is FlowSort.NAME_ASC
    assert default_sort(Route.DEPLOYMENTS_FILTER) is DeploymentSort.NAME_ASC
    assert default_sort(Route.TASK_RUNS_FILTER) is TaskRunSort.ID_DESC
    # /flows/filter takes no work_pool_queues: Prefect ignores it there, whatever it holds.
    assert not hasattr(
        parse_body(Route.FLOWS_FILTER, {"work_pool_queues": {"x": 1}}), "work_pool_queues"
    )


def test_a_sort_of_another_kind_is_an_enum_error() -> None:
    [error] = errors_of(Route.FLOWS_FILTER, {"sort": "ID_DESC"})
    assert (
        error["msg"] == "Input should be 'CREATED_DESC', 'UPDATED_DESC', 'NAME_ASC' or 'NAME_DESC'"
    )
    [error] = errors_of(Route.TASK_RUNS_FILTER, {"sort": "START_TIME_ASC"})
    assert error["type"] == "enum"


def test_paginate_reads_page_and_counts_pages_as_prefect() -> None:
    body = parse_body(Route.FLOW_RUNS_PAGINATE, {"page": 3, "limit": 20})
    assert isinstance(body, FlowRunPaginateBody)
    assert body.offset == 40
    assert [(e["type"], e["loc"]) for e in errors_of(Route.FLOW_RUNS_PAGINATE, {"page": 0})] == [
        ("greater_than_equal", ("body", "page"))
    ]
    assert (pages(0, 0), pages(0, 200), pages(1, 200), pages(200, 200), pages(201, 200)) == (
        0,
        0,
        1,
        1,
        2,
    )


# Date-times, as Prefect 3.9.1 read each of these `after_` values.

PREFECT_READ = {
    "2024-01-01": "2024-01-01T00:00:00+00:00",
    "2024-01-01T00:00:00": "2024-01-01T00:00:00+00:00",
    "2024-01-01T00:00:00+0530": "2024-01-01T00:00:00+05:30",
    "20240101T000000Z": "2024-01-01T00:00:00+00:00",
    "20240101": "1970-08-23T06:15:01+00:00",
    "2024-01": "2024-01-01T00:00:00+00:00",
    "2024-W01": "2024-01-01T00:00:00+00:00",
    "2024-W01-3": "2024-01-03T00:00:00+00:00",
    "2024W013": "2024-01-03T00:00:00+00:00",
    "2024-032": "2024-02-01T00:00:00+00:00",
    "2024-366": "2024-12-31T00:00:00+00:00",
    "2024-01-01T10": "2024-01-01T10:00:00+00:00",
    "2024-01-01T10:30:45,5": "2024-01-01T10:30:45.500000+00:00",
    "20240101T103045.1234567Z": "2024-01-01T10:30:45.123456+00:00",
    "2024-01-01T10:30:45+05": "2024-01-01T10:30:45+05:00",
    "2024-01-01T10:30:45-0530": "2024-01-01T10:30:45-05:30",
    "2024-01-01 10:30:45Z": "2024-01-01T10:30:45+00:00",
    "2024-01-01t10:30:45z": "2024-01-01T10:30:45+00:00",
    "2024/01/01": "2024-01-01T00:00:00+00:00",
    "2024/01/01 10:30": "2024-01-01T10:30:00+00:00",
    "2024:01:01": "2024-01-01T00:00:00+00:00",
    "1700000000": "2023-11-14T22:13:20+00:00",
    "1700000000.5": "2023-11-14T22:13:20.500000+00:00",
    "-5": "1969-12-31T23:59:55+00:00",
}
PREFECT_REFUSED = {
    "xyz": "Value error, Unable to parse string [xyz]",
    "": "Value error, Unable to parse string []",
    "2024-13-01": "Value error, Unable to parse string [2024-13-01]",
    "2024-02-30": "Value error, Unable to parse string [2024-02-30]",
    "2024-01-01T24:00:00": "Value error, Unable to parse string [2024-01-01T24:00:00]",
    "2024-01-01T25:00:00": "Value error, Unable to parse string [2024-01-01T25:00:00]",
    "2024-01-01T1030": "Value error, Unable to parse string [2024-01-01T1030]",
    "2024-01-01T10:30:45+25:00": "Value error, Unable to parse string [2024-01-01T10:30:45+25:00]",
    "2024-01-01T10:30:45.Z": "Value error, Unable to parse string [2024-01-01T10:30:45.Z]",
    " 2024-01-01": "Value error, Unable to parse string [ 2024-01-01]",
    "2024-1-1": "Value error, Unable to parse string [2024-1-1]",
    "0000-01-01": "Value error, Unable to parse string [0000-01-01]",
    "2021-W53-1": "Value error, Unable to parse string [2021-W53-1]",
    "2023-366": "Value error, Unable to parse string [2023-366]",
    "1e3": "Value error, Unable to parse string [1e3]",
    "Pxyz": "Value error, Unable to parse string [Pxyz]",
    "P1D": f"Value error, {NOT_A_DATETIME} it is a <class 'pendulum.duration.Duration'>",
    "PT1H": f"Value error, {NOT_A_DATETIME} it is a <class 'pendulum.duration.Duration'>",
    "2024-01-01/2024-01-02": "Value error, value is not a valid datetime it is a "
    "<class 'pendulum.interval.Interval'>",
    "2024-01-01/P1D": "value is not a valid datetime",
    "P1D/2024-01-01": "value is not a valid datetime",
}
DATETIME = TypeAdapter(DateTime)


@pytest.mark.parametrize(("text", "read"), PREFECT_READ.items())
def test_a_filter_datetime_is_read_as_prefect_reads_it(text: str, read: str) -> None:
    assert DATETIME.validate_python(text).isoformat() == read


@pytest.mark.parametrize(
    ("text", "message"),
    [
        *PREFECT_REFUSED.items(),
        (True, "value is not a valid datetime"),
        ([], "value is not a valid datetime"),
    ],
)
def test_a_filter_datetime_is_refused_as_prefect_refuses_it(text: Any, message: str) -> None:
    with pytest.raises(ValidationError) as raised:
        DATETIME.validate_python(text)
    [error] = raised.value.errors()
    assert (error["type"], error["msg"]) == ("value_error", message)


# Each filter's meaning on records.


def test_time_bounds_are_inclusive_instants_whatever_the_offset() -> None:
    runs = [
        run(2, "at", end_time="2024-01-01T10:00:00Z"),
        run(3, "same instant", end_time="2024-01-01T12:00:00+02:00"),
        run(4, "after", end_time="2024-01-01T10:00:00.000001Z"),
        run(5, "none", end_time=None),
    ]
    body: dict[str, Any] = {"flow_runs": {"end_time": {"before_": "2024-01-01T10:00:00Z"}}}
    assert flow_runs_named(Route.FLOW_RUNS_COUNT, body, *runs) == {"at", "same instant"}
    body = {"flow_runs": {"end_time": {"after_": "2024-01-01T10:00:00"}}}  # naive is UTC
    assert flow_runs_named(Route.FLOW_RUNS_COUNT, body, *runs) == {"at", "same instant", "after"}
    body = {"flow_runs": {"end_time": {"is_null_": True}}}
    assert flow_runs_named(Route.FLOW_RUNS_COUNT, body, *runs) == {"none"}


def test_a_flow_runs_start_time_is_its_expected_start_where_it_has_not_started() -> None:
    runs = [
        run(
            2,
            "started",
            start_time="2024-01-02T00:00:00Z",
            expected_start_time="2024-01-01T00:00:00Z",
        ),
        run(3, "scheduled", start_time=None, expected_start_time="2024-01-02T00:00:00Z"),
        run(4, "early", start_time=None, expected_start_time="2024-01-01T00:00:00Z"),
        run(5, "no times", start_time=None, expected_start_time=None),
    ]
    body: dict[str, Any] = {"flow_runs": {"start_time": {"after_": "2024-01-02T00:00:00Z"}}}
    assert flow_runs_named(Route.FLOW_RUNS_COUNT, body, *runs) == {"started", "scheduled"}
    # is_null_ reads start_time itself.
    body = {"flow_runs": {"start_time": {"is_null_": True}}}
    assert flow_runs_named(Route.FLOW_RUNS_COUNT, body, *runs) == {"scheduled", "early", "no times"}


@pytest.mark.parametrize(
    ("like", "matched"),
    [
        ("marvin", {"marvin", "sad-Marvin", "MARVIN-robot"}),
        ("MaRv", {"marvin", "sad-Marvin", "MARVIN-robot"}),
        ("m_rvin", {"marvin", "sad-Marvin", "MARVIN-robot"}),  # `_` is any one character
        ("sad%robot", {"sad-robot"}),  # `%` any run
        ("100%", {"100% done", "1000"}),
        ("é", {"café"}),  # SQLite's lower() folds ASCII only: "CAFÉ" does not match
        ("\\", {"back\\slash"}),  # no escape character
        (
            "",
            {
                "marvin",
                "sad-Marvin",
                "MARVIN-robot",
                "sad-robot",
                "100% done",
                "1000",
                "café",
                "CAFÉ",
                "back\\slash",
            },
        ),
    ],
)
def test_like_is_sqlites_case_insensitive_partial_match_with_wildcards(
    like: str, matched: set[str]
) -> None:
    all_names = [
        "marvin",
        "sad-Marvin",
        "MARVIN-robot",
        "sad-robot",
        "100% done",
        "1000",
        "café",
        "CAFÉ",
        "back\\slash",
    ]
    runs = [run(n + 2, name) for n, name in enumerate(all_names)]
    body = {"flow_runs": {"name": {"like_": like}}}
    assert flow_runs_named(Route.FLOW_RUNS_COUNT, body, *runs) == matched


def test_tags_all_any_and_is_null() -> None:
    runs = [run(2, "ab", tags=["a", "b"]), run(3, "a", tags=["a"]), run(4, "none", tags=[])]
    count = Route.FLOW_RUNS_COUNT
    assert flow_runs_named(count, {"flow_runs": {"tags": {"all_": ["a", "b", "a"]}}}, *runs) == {
        "ab"
    }
    assert flow_runs_named(count, {"flow_runs": {"tags": {"any_": ["b", "z"]}}}, *runs) == {"ab"}
    assert flow_runs_named(count, {"flow_runs": {"tags": {"is_null_": True}}}, *runs) == {"none"}
    assert flow_runs_named(count, {"flow_runs": {"tags": {"is_null_": False}}}, *runs) == {
        "ab",
        "a",
    }
    # An empty all_ is no condition; an empty any_ matches nothing (SQLite: EXISTS over none).
    assert flow_runs_named(count, {"flow_runs": {"tags": {"all_": []}}}, *runs) == {
        "ab",
        "a",
        "none",
    }
    assert flow_runs_named(count, {"flow_runs": {"tags": {"any_": []}}}, *runs) == set()
    body = {"flow_runs": {"tags": {"operator": "or_", "all_": ["b"], "is_null_": True}}}
    assert flow_runs_named(count, body, *runs) == {"ab", "none"}


def test_empty_any_matches_nothing_and_empty_not_any_is_no_condition() -> None:
    runs = [run(2, "one"), run(3, "two", state_type=None, state_name=None)]
    count = Route.FLOW_RUNS_COUNT
    assert flow_runs_named(count, {"flow_runs": {"id": {"any_": []}}}, *runs) == set()
    assert flow_runs_named(count, {"flow_runs": {"state": {"type": {"any_": []}}}}, *runs) == set()
    assert flow_runs_named(count, {"flow_runs": {"id": {"not_any_": []}}}, *runs) == {"one", "two"}
    assert flow_runs_named(count, {"flow_runs": {"name": {"like_": ""}}}, *runs) == {"one", "two"}


def test_not_any_leaves_out_a_null_as_sql_does() -> None:
    runs = [
        run(2, "failed", state_type="FAILED"),
        run(3, "completed"),
        run(4, "no state", state_type=None, state_name=None),
        run(5, "keyed", idempotency_key="k"),
    ]
    count = Route.FLOW_RUNS_COUNT
    body: dict[str, Any] = {"flow_runs": {"state": {"type": {"not_any_": ["FAILED"]}}}}
    assert flow_runs_named(count, body, *runs) == {"completed", "keyed"}
    body = {"flow_runs": {"idempotency_key": {"not_any_": ["other"]}}}
    assert flow_runs_named(count, body, *runs) == {"keyed"}


def test_is_null_on_optional_ids_and_names() -> None:
    runs = [
        run(2, "deployed", deployment_id=uid(50), work_queue_name="q"),
        run(3, "ad hoc"),
        run(4, "subflow", parent_task_run_id=uid(60)),
    ]
    count = Route.FLOW_RUNS_COUNT
    assert flow_runs_named(count, {"flow_runs": {"deployment_id": {"is_null_": False}}}, *runs) == {
        "deployed"
    }
    assert flow_runs_named(count, {"flow_runs": {"deployment_id": {"any_": [uid(50)]}}}, *runs) == {
        "deployed"
    }
    assert flow_runs_named(
        count, {"flow_runs": {"work_queue_name": {"is_null_": True}}}, *runs
    ) == {"ad hoc", "subflow"}
    assert flow_runs_named(
        count, {"flow_runs": {"parent_task_run_id": {"is_null_": False}}}, *runs
    ) == {"subflow"}
    body = {"flow_runs": {"parent_task_run_id": {"any_": [uid(60).upper()]}}}  # any UUID form
    assert flow_runs_named(count, body, *runs) == {"subflow"}


def test_state_with_type_and_name_and_either_operator() -> None:
    runs = [
        run(2, "late", state_type="SCHEDULED", state_name="Late"),
        run(3, "scheduled", state_type="SCHEDULED", state_name="Scheduled"),
        run(4, "crashed", state_type="CRASHED", state_name="Crashed"),
    ]
    count = Route.FLOW_RUNS_COUNT
    both = {"type": {"any_": ["SCHEDULED"]}, "name": {"any_": ["Late", "Crashed"]}}
    assert flow_runs_named(count, {"flow_runs": {"state": both}}, *runs) == {"late"}
    either = both | {"operator": "or_"}
    assert flow_runs_named(count, {"flow_runs": {"state": either}}, *runs) == {
        "late",
        "scheduled",
        "crashed",
    }
    # Prefect leaves out a state part with no condition, so under or_ it is not TRUE...
    body: dict[str, Any] = {
        "flow_runs": {"state": {"operator": "or_", "type": {}, "name": {"any_": ["Late"]}}}
    }
    assert flow_runs_named(count, body, *runs) == {"late"}
    # ...where an empty part of the flow run filter itself is TRUE, and makes an or_ TRUE.
    body = {"flow_runs": {"operator": "or_", "id": {}, "name": {"any_": ["late"]}}}
    assert flow_runs_named(count, body, *runs) == {"late", "scheduled", "crashed"}
    body = {
        "flow_runs": {
            "operator": "or_",
            "name": {"any_": ["late"]},
            "state": {"name": {"any_": ["Crashed"]}},
        }
    }
    assert flow_runs_named(count, body, *runs) == {"late", "crashed"}


def test_created_by_reads_the_creators_id_and_type() -> None:
    creator = {"id": uid(70), "type": "DEPLOYMENT", "display_value": "d"}
    runs = [run(2, "scheduled", created_by=creator), run(3, "by hand", created_by=None)]
    count = Route.FLOW_RUNS_COUNT
    assert flow_runs_named(count, {"flow_runs": {"created_by": {"id_": [uid(70)]}}}, *runs) == {
        "scheduled"
    }
    assert (
        flow_runs_named(count, {"flow_runs": {"created_by": {"type_": ["AUTOMATION"]}}}, *runs)
        == set()
    )
    assert flow_runs_named(count, {"flow_runs": {"created_by": {"is_null_": True}}}, *runs) == {
        "by hand"
    }


def test_a_task_runs_flow_run_id_filter_follows_prefects_precedence() -> None:
    archive = Archive(
        (Kind.TASK_RUN, task_run(10, "in run", uid(2))),
        (Kind.TASK_RUN, task_run(11, "in other", uid(3))),
        (Kind.TASK_RUN, task_run(12, "alone", None)),
    )
    count = Route.TASK_RUNS_COUNT
    # Given but empty, is_null_ defaults to false: task runs that have a flow run.
    assert names(archive, count, {"task_runs": {"flow_run_id": {}}}) == {"in run", "in other"}
    assert names(archive, count, {"task_runs": {"flow_run_id": {"any_": [uid(2)]}}}) == {"in run"}
    # is_null_ true wins over any_; an explicit null is_null_ is no condition.
    body = {"task_runs": {"flow_run_id": {"is_null_": True, "any_": [uid(2)]}}}
    assert names(archive, count, body) == {"alone"}
    body = {"task_runs": {"flow_run_id": {"is_null_": None}}}
    assert names(archive, count, body) == {"in run", "in other", "alone"}


# Cross-kind narrowing.


def sample_archive() -> Archive:
    etl, report = flow(1, "etl", tags=["prod"]), flow(2, "report")
    nightly = deployment(
        20,
        "nightly",
        etl["id"],
        tags=["prod"],
        work_queue_id=uid(90),
        work_queue_name="default",
        work_pool_name="pool",
    )
    parent = flow_run(
        30,
        "parent",
        etl["id"],
        deployment_id=nightly["id"],
        work_queue_id=uid(90),
        work_queue_name="default",
        work_pool_id=uid(91),
        work_pool_name="pool",
    )
    child = flow_run(
        31,
        "child",
        report["id"],
        parent_task_run_id=uid(40),
        state_type="FAILED",
        state_name="Failed",
    )
    lonely = flow_run(32, "lonely", report["id"])
    spawner = task_run(40, "spawn-child", parent["id"])
    worker = task_run(41, "work", parent["id"], state_type="FAILED", state_name="Failed")
    inner = task_run(42, "inner", child["id"])
    return Archive(
        (Kind.FLOW, etl),
        (Kind.FLOW, report),
        (Kind.DEPLOYMENT, nightly),
        (Kind.FLOW_RUN, parent),
        (Kind.FLOW_RUN, child),
        (Kind.FLOW_RUN, lonely),
        (Kind.TASK_RUN, spawner),
        (Kind.TASK_RUN, worker),
        (Kind.TASK_RUN, inner),
    )


@pytest.mark.parametrize(
    ("route", "body", "expected"),
    [
        (Route.FLOW_RUNS_COUNT, {"flows": {"name": {"any_": ["report"]}}}, {"child", "lonely"}),
        (Route.FLOW_RUNS_COUNT, {"flows": {"tags": {"all_": ["prod"]}}}, {"parent"}),
        (Route.FLOW_RUNS_COUNT, {"deployments": {}}, {"parent"}),  # a given filter requires one
        (Route.FLOW_RUNS_COUNT, {"deployments": {"name": {"like_": "NIGHT"}}}, {"parent"}),
        (Route.FLOW_RUNS_COUNT, {"task_runs": {}}, {"parent", "child"}),
        (
            Route.FLOW_RUNS_COUNT,
            {"task_runs": {"state": {"type": {"any_": ["FAILED"]}}}},
            {"parent"},
        ),
        (Route.FLOW_RUNS_COUNT, {"work_pools": {}}, {"parent"}),
        (Route.FLOW_RUNS_COUNT, {"work_pools": {"id": {"any_": [uid(91)]}}}, {"parent"}),
        (
            Route.FLOW_RUNS_COUNT,
            {"work_pool_queues": {"name": {"startswith_": ["DEF"]}}},
            {"parent"},
        ),
        (
            Route.FLOW_RUNS_COUNT,
            {"flow_runs": {"parent_flow_run_id": {"any_": [uid(30)]}}},
            {"child"},
        ),
        (
            Route.TASK_RUNS_COUNT,
            {"flow_runs": {"id": {"any_": [uid(30)]}}},
            {"spawn-child", "work"},
        ),
        (
            Route.TASK_RUNS_COUNT,
            {"flow_runs": {"state": {"type": {"any_": ["FAILED"]}}}},
            {"inner"},
        ),
        (Route.TASK_RUNS_COUNT, {"flows": {"name": {"any_": ["etl"]}}}, {"spawn-child", "work"}),
        (
            Route.TASK_RUNS_COUNT,
            {"deployments": {"id": {"any_": [uid(20)]}}},
            {"spawn-child", "work"},
        ),
        (
            Route.TASK_RUNS_COUNT,
            {"task_runs": {"subflow_runs": {"exists_": True}}},
            {"spawn-child"},
        ),
        (
            Route.TASK_RUNS_COUNT,
            {"task_runs": {"subflow_runs": {"exists_": False}}},
            {"work", "inner"},
        ),
        (Route.FLOWS_COUNT, {"flow_runs": {"state": {"type": {"any_": ["FAILED"]}}}}, {"report"}),
        (Route.FLOWS_COUNT, {"task_runs": {"name": {"any_": ["inner"]}}}, {"report"}),
        # The flow run and task run filters hold on the same flow run.
        (Route.FLOWS_COUNT, {"flow_runs": {"name": {"any_": ["lonely"]}}, "task_runs": {}}, set()),
        (Route.FLOWS_COUNT, {"deployments": {}}, {"etl"}),
        (Route.FLOWS_COUNT, {"flows": {"deployment": {"is_null_": True}}}, {"report"}),
        (Route.FLOWS_COUNT, {"work_pools": {"name": {"any_": ["pool"]}}}, {"etl"}),
        (Route.DEPLOYMENTS_COUNT, {"flows": {"name": {"any_": ["report"]}}}, set()),
        (
            Route.DEPLOYMENTS_COUNT,
            {"deployments": {"flow_or_deployment_name": {"like_": "ET"}}},
            {"nightly"},
        ),
        (Route.DEPLOYMENTS_COUNT, {"flow_runs": {"name": {"any_": ["parent"]}}}, {"nightly"}),
        (
            Route.DEPLOYMENTS_COUNT,
            {"task_runs": {"state": {"type": {"any_": ["FAILED"]}}}},
            {"nightly"},
        ),
        (Route.DEPLOYMENTS_COUNT, {"work_pool_queues": {"id": {"any_": [uid(90)]}}}, {"nightly"}),
        (Route.DEPLOYMENTS_COUNT, {"deployments": {"paused": {"eq_": True}}}, set()),
        (Route.DEPLOYMENTS_COUNT, {"deployments": {"concurrency_limit": {"ge_": 5}}}, {"nightly"}),
    ],
)
def test_a_filter_on_one_kind_narrows_another_as_in_prefect(
    route: Route, body: dict[str, Any], expected: set[str]
) -> None:
    assert names(sample_archive(), route, body) == expected


def test_prefects_task_run_shortcut_needs_no_flow_run_record() -> None:
    # Only `flow_runs.id.any_`: Prefect reads task_run.flow_run_id, joining nothing.
    archive = Archive((Kind.TASK_RUN, task_run(10, "t", uid(99))))
    body = {"flow_runs": {"id": {"any_": [uid(99)]}}}
    assert names(archive, Route.TASK_RUNS_COUNT, body) == {"t"}
    assert names(archive, Route.TASK_RUNS_COUNT, body | {"flows": {}}) == set()
    assert plan(parse_body(Route.TASK_RUNS_COUNT, body)).links == ()


# Sub-filters the archive cannot answer.


def test_work_pool_type_and_a_deployments_pool_id_are_unanswerable_and_named() -> None:
    body = parse_body(
        Route.DEPLOYMENTS_FILTER,
        {"work_pools": {"type": {"any_": ["process"]}, "id": {"any_": [uid(91)]}}},
    )
    found = unanswerable(body)
    assert [problem.loc for problem in found] == [
        ("work_pools", "type", "any_"),
        ("work_pools", "id", "any_"),
    ]
    error = found[0].error()
    assert error["loc"] == ["body", "work_pools", "type", "any_"]
    assert error["input"] == ["process"]
    assert "work_pools.type.any_" in error["msg"]
    with pytest.raises(UnanswerableFilter):
        plan(body)
    # On a flow run the pool's id is on the record; a type with no condition is no condition.
    runs = parse_body(
        Route.FLOW_RUNS_COUNT, {"work_pools": {"id": {"any_": [uid(91)]}, "type": {}}}
    )
    assert unanswerable(runs) == []
    assert [
        p.loc
        for p in unanswerable(parse_body(Route.FLOWS_COUNT, {"work_pools": {"id": {"any_": []}}}))
    ] == [("work_pools", "id", "any_")]


def test_the_filter_guard_refuses_what_unanswerable_names() -> None:
    with pytest.raises(UnanswerableFilter):
        WorkPoolFilter.model_validate({"type": {"any_": ["k8s"]}}).predicate()


# Sorts.


def test_every_sort_value_is_served() -> None:
    for sort_type in (FlowRunSort, TaskRunSort, FlowSort, DeploymentSort):
        for sort in sort_type:
            assert order_by(sort)[-1].column.name == "id"


def test_nulls_order_first_ascending_and_last_descending_ties_by_id() -> None:
    runs = [
        run(5, "b", end_time=None, next_scheduled_start_time="2024-01-02T00:00:00Z"),
        run(4, "a", end_time="2024-01-01T00:00:00Z", next_scheduled_start_time=None),
        run(3, "c", end_time="2024-01-02T00:00:00Z", next_scheduled_start_time=None),
        run(2, "d", end_time=None, next_scheduled_start_time="2024-01-01T00:00:00+02:00"),
    ]

    def by(sort: FlowRunSort) -> list[str]:
        return [record["name"] for record in sort_records(runs, sort, NOW)]

    assert by(FlowRunSort.END_TIME_DESC) == ["c", "a", "d", "b"]
    assert by(FlowRunSort.NEXT_SCHEDULED_START_TIME_ASC) == ["c", "a", "d", "b"]
    assert by(FlowRunSort.ID_DESC) == ["b", "a", "c", "d"]


def test_duration_sorts_estimate_a_running_task_run_at_query_time() -> None:
    running = task_run(
        3,
        "running",
        None,
        state_type="RUNNING",
        total_run_time=10.0,
        state={"timestamp": "2024-06-01T11:59:00Z"},  # 60 s before NOW: 70 s in all
    )
    done_long = task_run(
        4, "long", None, total_run_time=65.0, expected_start_time="2024-01-02T00:00:00Z"
    )
    done_tie_a = task_run(
        5, "tie-a", None, total_run_time=1.0, expected_start_time="2024-01-01T00:00:00Z"
    )
    done_tie_b = task_run(
        6, "tie-b", None, total_run_time=1.0, expected_start_time="2024-01-01T00:00:00Z"
    )
    records = [done_tie_a, running, done_long, done_tie_b]
    desc = [r["name"] for r in sort_records(records, TaskRunSort.DURATION_DESC, NOW)]
    assert desc == ["running", "long", "tie-b", "tie-a"]  # then Prefect's id DESC
    asc = [r["name"] for r in sort_records(records, TaskRunSort.DURATION_ASC, NOW)]
    assert asc == ["tie-b", "tie-a", "long", "running"]
    earlier = [
        r["name"]
        for r in sort_records(records, TaskRunSort.DURATION_DESC, NOW - timedelta(seconds=10))
    ]
    assert earlier[:2] == ["long", "running"]


SQLITE_ORDER = {
    FlowRunSort.ID_DESC: "id DESC",
    FlowRunSort.START_TIME_ASC: "coalesce(start_time, expected_start_time) ASC, id",
    FlowRunSort.START_TIME_DESC: "coalesce(start_time, expected_start_time) DESC, id",
    FlowRunSort.EXPECTED_START_TIME_ASC: "expected_start_time ASC, id",
    FlowRunSort.EXPECTED_START_TIME_DESC: "expected_start_time DESC, id",
    FlowRunSort.NAME_ASC: "name ASC, id",
    FlowRunSort.NAME_DESC: "name DESC, id",
    FlowRunSort.NEXT_SCHEDULED_START_TIME_ASC: "next_scheduled_start_time ASC, id",
    FlowRunSort.END_TIME_DESC: "end_time DESC, id",
}

ZONES = [UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5, minutes=-30))]
INSTANTS = [datetime(2024, 1, 1, hour, tzinfo=UTC) for hour in (0, 1, 2)]
maybe_instant = st.one_of(st.none(), st.sampled_from(INSTANTS))
NAME_ALPHABET = "aAbBzZéÉ_%\\ -"


@st.composite
def flow_run_rows(draw: st.DrawFn) -> list[dict[str, Any]]:
    count = draw(st.integers(min_value=0, max_value=12))
    rows = []
    for n in range(count):
        rows.append(
            {
                "id": uid(draw(st.integers(0, 2**64)) * 100 + n),
                "name": draw(st.text(NAME_ALPHABET, max_size=4)),
                "start_time": draw(maybe_instant),
                "expected_start_time": draw(maybe_instant),
                "next_scheduled_start_time": draw(maybe_instant),
                "end_time": draw(maybe_instant),
                "zone": draw(st.sampled_from(ZONES)),
            }
        )
    return rows


TIME_COLUMNS = ("start_time", "expected_start_time", "next_scheduled_start_time", "end_time")


def as_record(row: dict[str, Any]) -> dict[str, Any]:
    """As Prefect serves it: ISO 8601, here in the row's own offset."""
    times = {
        column: None if row[column] is None else row[column].astimezone(row["zone"]).isoformat()
        for column in TIME_COLUMNS
    }
    return run(0, row["name"]) | {"id": row["id"]} | times


def sqlite_table(rows: list[dict[str, Any]]) -> sqlite3.Connection:
    """Flow runs as Prefect keeps them on SQLite: UTC text of fixed width."""
    database = sqlite3.connect(":memory:")
    database.execute(f"CREATE TABLE flow_run (id TEXT, name TEXT, {', '.join(TIME_COLUMNS)})")
    for row in rows:
        times = [
            None if row[c] is None else row[c].astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
            for c in TIME_COLUMNS
        ]
        database.execute(
            "INSERT INTO flow_run VALUES (?, ?, ?, ?, ?, ?)", [row["id"], row["name"], *times]
        )
    return database


@settings(max_examples=150, deadline=None)
@given(flow_run_rows(), st.sampled_from(list(FlowRunSort)))
def test_every_flow_run_sort_orders_as_sqlite_orders_with_ties_by_id(
    rows: list[dict[str, Any]], sort: FlowRunSort
) -> None:
    database = sqlite_table(rows)
    expected = [
        row[0] for row in database.execute(f"SELECT id FROM flow_run ORDER BY {SQLITE_ORDER[sort]}")
    ]
    assert [r["id"] for r in sort_records([as_record(row) for row in rows], sort, NOW)] == expected


@settings(max_examples=150, deadline=None)
@given(flow_run_rows(), st.text(NAME_ALPHABET, max_size=3))
def test_like_matches_what_sqlites_lower_like_matches(
    rows: list[dict[str, Any]], like: str
) -> None:
    database = sqlite_table(rows)
    query = "SELECT id FROM flow_run WHERE lower(name) LIKE lower(?)"
    expected = (
        {row[0] for row in database.execute(query, [f"%{like}%"])}
        if like
        else {r["id"] for r in rows}
    )
    predicate = FlowRunFilter.model_validate({"name": {"like_": like}}).predicate()
    assert {row["id"] for row in rows if predicate(as_record(row), Archive().follow)} == expected


# Narrowing facts.


def test_narrowing_facts_for_the_issues_queries() -> None:
    failed_in_a_day = parse_body(
        Route.FLOW_RUNS_FILTER,
        {
            "flows": {"id": {"any_": [uid(1)]}},
            "flow_runs": {
                "state": {"type": {"any_": ["FAILED"]}},
                "start_time": {"after_": "2024-01-01T00:00:00Z", "before_": "2024-01-02T00:00:00Z"},
                "tags": {"all_": ["prod"], "any_": ["a", "b"]},
            },
            "deployments": {"id": {"any_": [uid(20)]}},
        },
    )
    facts = narrowing(failed_in_a_day)
    assert facts.flow_ids == frozenset({uid(1)})
    assert facts.state_types == frozenset({"FAILED"})
    assert facts.deployment_ids == frozenset({uid(20)})
    assert facts.tags_all == {"prod"}
    assert facts.tags_any == frozenset({"a", "b"})
    assert facts.times == {
        START_TIME_OR_EXPECTED: TimeRange(
            datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 2, tzinfo=UTC)
        )
    }
    task_runs = parse_body(
        Route.TASK_RUNS_FILTER, {"task_runs": {"flow_run_id": {"any_": [uid(2)]}}}
    )
    assert narrowing(task_runs).flow_run_ids == frozenset({uid(2)})
    shortcut = parse_body(
        Route.TASK_RUNS_FILTER,
        {
            "flow_runs": {"id": {"any_": [uid(2), uid(3)]}},
            "task_runs": {"flow_run_id": {"any_": [uid(3)]}},
        },
    )
    assert narrowing(shortcut).flow_run_ids == frozenset({uid(3)})
    assert narrowing(
        parse_body(Route.FLOWS_FILTER, {"flows": {"name": {"any_": ["etl"]}}})
    ).names == frozenset({"etl"})
    assert narrowing(
        parse_body(Route.DEPLOYMENTS_COUNT, {"flows": {"id": {"any_": [uid(1)]}}})
    ).flow_ids == frozenset({uid(1)})


def test_no_fact_is_taken_from_under_an_or() -> None:
    body = parse_body(
        Route.FLOW_RUNS_COUNT,
        {
            "flow_runs": {
                "operator": "or_",
                "state": {"type": {"any_": ["FAILED"]}},
                "tags": {"all_": ["x"]},
            }
        },
    )
    facts = narrowing(body)
    assert (facts.state_types, facts.tags_all) == (None, frozenset())
    single = parse_body(
        Route.FLOW_RUNS_COUNT,
        {"flow_runs": {"operator": "or_", "state": {"type": {"any_": ["FAILED"]}}}},
    )
    assert narrowing(single).state_types == frozenset({"FAILED"})
    with_true = parse_body(
        Route.FLOW_RUNS_COUNT,
        {"flow_runs": {"operator": "or_", "id": {}, "state": {"type": {"any_": ["FAILED"]}}}},
    )
    assert narrowing(with_true).state_types is None


STATE_TYPES = ["COMPLETED", "FAILED", "RUNNING"]
TAGS = ["a", "b", "c"]
IDS = [uid(n) for n in range(2, 8)]


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), strategy)


iso = st.sampled_from(INSTANTS).map(lambda instant: instant.isoformat())


def filter_object(
    operator: bool = False, **parts: st.SearchStrategy[Any]
) -> st.SearchStrategy[dict[str, Any]]:
    """A filter object holding some of `parts` (and maybe an operator)."""
    if operator:
        parts["operator"] = st.sampled_from(["and_", "or_"])
    drawn = st.fixed_dictionaries({key: maybe(value) for key, value in parts.items()})
    return drawn.map(lambda found: {k: v for k, v in found.items() if v is not None})


def ids_of(values: list[str]) -> st.SearchStrategy[list[str]]:
    return st.lists(st.sampled_from(values))


state_filters = filter_object(
    operator=True,
    type=filter_object(any_=ids_of(STATE_TYPES), not_any_=ids_of(STATE_TYPES)),
    name=filter_object(any_=ids_of(["Completed", "Failed"])),
)
flow_run_filters = filter_object(
    operator=True,
    id=filter_object(any_=ids_of(IDS), not_any_=ids_of(IDS)),
    state=state_filters,
    tags=filter_object(operator=True, all_=ids_of(TAGS), any_=ids_of(TAGS), is_null_=st.booleans()),
    start_time=filter_object(after_=iso, before_=iso, is_null_=st.booleans()),
    end_time=filter_object(after_=iso, before_=iso),
    deployment_id=filter_object(any_=ids_of(IDS), is_null_=st.booleans()),
)
generated_runs = st.lists(
    st.builds(
        lambda n, state, tags, start, end, deployment_id: run(
            n,
            f"r{n}",
            state_type=state,
            state_name=state.title(),
            tags=tags,
            start_time=start,
            end_time=end,
            deployment_id=deployment_id,
        ),
        st.integers(2, 7),
        st.sampled_from(STATE_TYPES),
        st.lists(st.sampled_from(TAGS), unique=True),
        maybe(iso),
        maybe(iso),
        maybe(st.sampled_from(IDS)),
    ),
    max_size=8,
    unique_by=lambda record: record["id"],
)


def allowed(facts: Any, record: Record) -> bool:
    checks = [
        facts.ids is None or record["id"] in facts.ids,
        facts.deployment_ids is None or record["deployment_id"] in facts.deployment_ids,
        facts.state_types is None or record["state_type"] in facts.state_types,
        facts.tags_all <= set(record["tags"]),
        facts.tags_any is None or bool(facts.tags_any & set(record["tags"])),
    ]
    for column, bounds in facts.times.items():
        value = (
            flow_run_start(record) if column == START_TIME_OR_EXPECTED else time_of(record, column)
        )
        checks.append(value is not None)
        if value is not None:
            checks.append(bounds.after is None or value >= bounds.after)
            checks.append(bounds.before is None or value <= bounds.before)
    return all(checks)


@settings(max_examples=300, deadline=None)
@given(flow_run_filters, generated_runs)
def test_every_match_satisfies_the_narrowing_facts(
    flow_runs: dict[str, Any], runs: list[dict[str, Any]]
) -> None:
    body = parse_body(Route.FLOW_RUNS_COUNT, {"flow_runs": flow_runs})
    facts = narrowing(body)
    predicate = plan(body).predicate()
    for record in runs:
        if predicate(record, Archive().follow):
            assert allowed(facts, record)


@settings(max_examples=200, deadline=None)
@given(flow_run_filters, generated_runs)
def test_or_of_parts_is_the_union_and_and_the_intersection(
    flow_runs: dict[str, Any], runs: list[dict[str, Any]]
) -> None:
    """A flow run filter's operator combines its parts as Prefect's and_/or_ (an empty
    part is TRUE)."""
    parts = {key: value for key, value in flow_runs.items() if key != "operator"}
    if not parts:
        return
    follow = Archive().follow

    def matches(body: dict[str, Any]) -> set[str]:
        predicate = FlowRunFilter.model_validate(body).predicate()
        return {record["id"] for record in runs if predicate(record, follow)}

    each = [matches({key: value}) for key, value in parts.items()]
    assert matches(parts | {"operator": "and_"}) == set.intersection(*each)
    assert matches(parts | {"operator": "or_"}) == set.union(*each)


def test_task_run_filter_parts_combine_like_flow_run_parts() -> None:
    records = [task_run(2, "x", uid(9), tags=["a"]), task_run(3, "y", uid(9))]
    predicate = TaskRunFilter.model_validate(
        {"operator": "or_", "name": {"any_": ["y"]}, "tags": {"all_": ["a"]}}
    ).predicate()
    assert [r["name"] for r in records if predicate(r, Archive().follow)] == ["x", "y"]
