"""Prefect 3.9.1's sort values (`prefect.server.schemas.sorting`) and the order each gives.

Each value's `ORDER BY` is given as data (`order_by`) and as a key for Python's sort
(`order_key`). SQLite orders NULL before every value: first in an ascending column, last in
a descending one. Timestamps compare as instants (Prefect stores them as UTC text of fixed
width, so SQLite's text order is time order); names and ids by code point (SQLite's BINARY
collation on UTF-8). Where Prefect's order leaves ties, the order here adds `id` ascending,
as the contract asks; the DURATION sorts already end on Prefect's own `id DESC`.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from queries.filters import flow_run_start
from queries.records import Record, time_of


class FlowRunSort(StrEnum):
    ID_DESC = "ID_DESC"
    START_TIME_ASC = "START_TIME_ASC"
    START_TIME_DESC = "START_TIME_DESC"
    EXPECTED_START_TIME_ASC = "EXPECTED_START_TIME_ASC"
    EXPECTED_START_TIME_DESC = "EXPECTED_START_TIME_DESC"
    NAME_ASC = "NAME_ASC"
    NAME_DESC = "NAME_DESC"
    NEXT_SCHEDULED_START_TIME_ASC = "NEXT_SCHEDULED_START_TIME_ASC"
    END_TIME_DESC = "END_TIME_DESC"


class TaskRunSort(StrEnum):
    ID_DESC = "ID_DESC"
    EXPECTED_START_TIME_ASC = "EXPECTED_START_TIME_ASC"
    EXPECTED_START_TIME_DESC = "EXPECTED_START_TIME_DESC"
    NAME_ASC = "NAME_ASC"
    NAME_DESC = "NAME_DESC"
    NEXT_SCHEDULED_START_TIME_ASC = "NEXT_SCHEDULED_START_TIME_ASC"
    END_TIME_DESC = "END_TIME_DESC"
    DURATION_DESC = "DURATION_DESC"
    DURATION_ASC = "DURATION_ASC"


class FlowSort(StrEnum):
    CREATED_DESC = "CREATED_DESC"
    UPDATED_DESC = "UPDATED_DESC"
    NAME_ASC = "NAME_ASC"
    NAME_DESC = "NAME_DESC"


class DeploymentSort(StrEnum):
    CREATED_DESC = "CREATED_DESC"
    UPDATED_DESC = "UPDATED_DESC"
    NAME_ASC = "NAME_ASC"
    NAME_DESC = "NAME_DESC"


type Sort = FlowRunSort | TaskRunSort | FlowSort | DeploymentSort


@dataclass(frozen=True)
class Column:
    """What an `ORDER BY` term reads from a record. `read` takes the query's instant, which
    only a running task run's estimated run time depends on."""

    name: str
    read: Callable[[Record, datetime], Any]


@dataclass(frozen=True)
class OrderBy:
    column: Column
    descending: bool


def _field(name: str) -> Column:
    return Column(name, lambda record, now: record.get(name))


def _time_field(name: str) -> Column:
    return Column(name, lambda record, now: time_of(record, name))


def _estimated_run_time(record: Record, now: datetime) -> timedelta:
    """Prefect's SQL `estimated_run_time`, computed when the query runs: the total run time,
    plus the time since the run entered its state where that state is RUNNING."""
    total = timedelta(seconds=record.get("total_run_time") or 0)
    state = record.get("state") or {}
    if record.get("state_type") == "RUNNING" and state.get("timestamp"):
        started = time_of(state, "timestamp")
        assert started is not None
        return total + (now - started)
    return total


ID = _field("id")
NAME = _field("name")
START_TIME = Column("coalesce(start_time, expected_start_time)", lambda r, now: flow_run_start(r))
EXPECTED_START_TIME = _time_field("expected_start_time")
NEXT_SCHEDULED_START_TIME = _time_field("next_scheduled_start_time")
END_TIME = _time_field("end_time")
CREATED = _time_field("created")
UPDATED = _time_field("updated")
ESTIMATED_RUN_TIME = Column("estimated_run_time", _estimated_run_time)


def _asc(column: Column) -> OrderBy:
    return OrderBy(column, descending=False)


def _desc(column: Column) -> OrderBy:
    return OrderBy(column, descending=True)


_PREFECT_ORDER: dict[Sort, tuple[OrderBy, ...]] = {
    FlowRunSort.ID_DESC: (_desc(ID),),
    FlowRunSort.START_TIME_ASC: (_asc(START_TIME),),
    FlowRunSort.START_TIME_DESC: (_desc(START_TIME),),
    FlowRunSort.EXPECTED_START_TIME_ASC: (_asc(EXPECTED_START_TIME),),
    FlowRunSort.EXPECTED_START_TIME_DESC: (_desc(EXPECTED_START_TIME),),
    FlowRunSort.NAME_ASC: (_asc(NAME),),
    FlowRunSort.NAME_DESC: (_desc(NAME),),
    FlowRunSort.NEXT_SCHEDULED_START_TIME_ASC: (_asc(NEXT_SCHEDULED_START_TIME),),
    FlowRunSort.END_TIME_DESC: (_desc(END_TIME),),
    TaskRunSort.ID_DESC: (_desc(ID),),
    TaskRunSort.EXPECTED_START_TIME_ASC: (_asc(EXPECTED_START_TIME),),
    TaskRunSort.EXPECTED_START_TIME_DESC: (_desc(EXPECTED_START_TIME),),
    TaskRunSort.NAME_ASC: (_asc(NAME),),
    TaskRunSort.NAME_DESC: (_desc(NAME),),
    TaskRunSort.NEXT_SCHEDULED_START_TIME_ASC: (_asc(NEXT_SCHEDULED_START_TIME),),
    TaskRunSort.END_TIME_DESC: (_desc(END_TIME),),
    TaskRunSort.DURATION_DESC: (
        _desc(ESTIMATED_RUN_TIME),
        _desc(EXPECTED_START_TIME),
        _desc(ID),
    ),
    TaskRunSort.DURATION_ASC: (
        _asc(ESTIMATED_RUN_TIME),
        _desc(EXPECTED_START_TIME),
        _desc(ID),
    ),
    FlowSort.CREATED_DESC: (_desc(CREATED),),
    FlowSort.UPDATED_DESC: (_desc(UPDATED),),
    FlowSort.NAME_ASC: (_asc(NAME),),
    FlowSort.NAME_DESC: (_desc(NAME),),
    DeploymentSort.CREATED_DESC: (_desc(CREATED),),
    DeploymentSort.UPDATED_DESC: (_desc(UPDATED),),
    DeploymentSort.NAME_ASC: (_asc(NAME),),
    DeploymentSort.NAME_DESC: (_desc(NAME),),
}


def order_by(sort: Sort) -> tuple[OrderBy, ...]:
    """The terms a sort orders by: Prefect's, then `id` ascending where Prefect's leave ties."""
    terms = _PREFECT_ORDER[sort]
    return terms if terms[-1].column is ID else (*terms, _asc(ID))


@dataclass(frozen=True, eq=False)
class _Descending:
    """A sort-key component that orders the other way."""

    key: tuple[Any, ...]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Descending) and self.key == other.key

    def __lt__(self, other: "_Descending") -> bool:
        return other.key < self.key

    __hash__ = None  # type: ignore[assignment]


def _component(value: Any, descending: bool) -> Any:
    # SQLite: NULL is less than any value.
    key = (0,) if value is None else (1, value)
    return _Descending(key) if descending else key


def order_key(sort: Sort, now: datetime) -> Callable[[Record], tuple[Any, ...]]:
    """A key for `sorted` that orders records as `order_by(sort)` says. `now` is the instant
    the query runs (Prefect reads its database clock for a running task run's duration)."""
    terms = order_by(sort)

    def key(record: Record) -> tuple[Any, ...]:
        return tuple(_component(term.column.read(record, now), term.descending) for term in terms)

    return key


def sort_records(records: Iterable[Record], sort: Sort, now: datetime) -> list[Record]:
    return sorted(records, key=order_key(sort, now))
