"""Prefect 3.9.1's query bodies, drawn (Hypothesis) from what a source holds: every sub-filter
its `/filter`, `/count` and `/paginate` routes accept (prefect/server/schemas/filters.py), every
sort value (schemas/sorting.py), limits and offsets; and how records tie in each sort.

Values come mostly from the source's own records (names and their parts, tags, ids, times to
the microsecond), so that filters match some records and not others, mixed with values no
record has."""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import strategies as st

Record = dict[str, Any]
Body = dict[str, Any]
Strategy = st.SearchStrategy[Any]

STATE_TYPES = (
    "SCHEDULED",
    "PENDING",
    "RUNNING",
    "COMPLETED",
    "FAILED",
    "CANCELLED",
    "CRASHED",
    "PAUSED",
    "CANCELLING",
)


def _start_time(record: Record) -> Any:
    """Prefect's START_TIME sorts: `coalesce(start_time, expected_start_time)`."""
    return record["start_time"] or record["expected_start_time"]


def _field(name: str) -> Callable[[Record], Any]:
    return lambda record: record[name]


# What each sort value orders by, before any tie-break: records equal on it are tied, and
# Prefect may give them in any order. None where Prefect's order is total (it ends on the id).
TieKey = Callable[[Record], Any] | None
_FLOW_RUN_SORTS: dict[str, TieKey] = {
    "ID_DESC": None,
    "START_TIME_ASC": _start_time,
    "START_TIME_DESC": _start_time,
    "EXPECTED_START_TIME_ASC": _field("expected_start_time"),
    "EXPECTED_START_TIME_DESC": _field("expected_start_time"),
    "NAME_ASC": _field("name"),
    "NAME_DESC": _field("name"),
    "NEXT_SCHEDULED_START_TIME_ASC": _field("next_scheduled_start_time"),
    "END_TIME_DESC": _field("end_time"),
}
_TASK_RUN_SORTS: dict[str, TieKey] = {
    "ID_DESC": None,
    "EXPECTED_START_TIME_ASC": _field("expected_start_time"),
    "EXPECTED_START_TIME_DESC": _field("expected_start_time"),
    "NAME_ASC": _field("name"),
    "NAME_DESC": _field("name"),
    "NEXT_SCHEDULED_START_TIME_ASC": _field("next_scheduled_start_time"),
    "END_TIME_DESC": _field("end_time"),
    "DURATION_DESC": None,  # estimated run time, expected start, id
    "DURATION_ASC": None,
}
_NAMED_SORTS: dict[str, TieKey] = {
    "CREATED_DESC": _field("created"),
    "UPDATED_DESC": _field("updated"),
    "NAME_ASC": _field("name"),
    "NAME_DESC": _field("name"),
}


@dataclass(frozen=True)
class Route:
    """One kind's query routes on Prefect 3.9.1: its path, the filters its bodies take, its
    sorts, the sort of a body without one, and a sort whose order is total or all but (for
    listing every match)."""

    path: str  # e.g. /flow_runs
    kind: str  # the body's filter of this kind, e.g. flow_runs
    filters: tuple[str, ...]
    sorts: Mapping[str, TieKey]
    default_sort: str
    listing_sort: str


FLOW_RUNS = Route(
    "/flow_runs",
    "flow_runs",
    ("flows", "flow_runs", "task_runs", "deployments", "work_pools", "work_pool_queues"),
    _FLOW_RUN_SORTS,
    "ID_DESC",
    "ID_DESC",
)
TASK_RUNS = Route(
    "/task_runs",
    "task_runs",
    ("flows", "flow_runs", "task_runs", "deployments"),
    _TASK_RUN_SORTS,
    "ID_DESC",
    "ID_DESC",
)
FLOWS = Route(
    "/flows",
    "flows",
    ("flows", "flow_runs", "task_runs", "deployments", "work_pools"),
    _NAMED_SORTS,
    "NAME_ASC",
    "CREATED_DESC",
)
DEPLOYMENTS = Route(
    "/deployments",
    "deployments",
    ("flows", "flow_runs", "task_runs", "deployments", "work_pools", "work_pool_queues"),
    _NAMED_SORTS,
    "NAME_ASC",
    "CREATED_DESC",
)
ROUTES = (FLOW_RUNS, TASK_RUNS, FLOWS, DEPLOYMENTS)
LIMIT = 200  # Prefect's default and greatest


class Known:
    """What the source holds, by kind (`flows`, `deployments`, `flow_runs`, `task_runs`,
    `work_pools`, `work_queues`): every record, as Prefect serves it."""

    def __init__(self, records: Mapping[str, Sequence[Record]]) -> None:
        self.records = records

    def __repr__(self) -> str:  # Hypothesis prints a failing test's arguments: not them all
        return f"Known({ {kind: len(records) for kind, records in self.records.items()} })"

    def values(self, kind: str, name: str) -> list[Any]:
        """The distinct non-null values of a field of the records of `kind`, in a stable
        order (lists are flattened: tags)."""
        found: dict[str, Any] = {}
        for record in self.records[kind]:
            value = record.get(name)
            for item in value if isinstance(value, list) else [value]:
                if item is not None:
                    found.setdefault(repr(item), item)
        return sorted(found.values(), key=repr)


def _one_of_known(values: Sequence[Any], unknown: Strategy) -> Strategy:
    """A known value, three times in four."""
    if not values:
        return unknown
    known = st.sampled_from(values)
    return st.one_of(known, known, known, unknown)


def _lists(element: Strategy) -> Strategy:
    """A list of one to four values, or at times none (an empty `any_` matches nothing, an
    empty `all_` everything)."""
    values = st.lists(element, min_size=1, max_size=4)
    return st.one_of(values, values, values, st.just([]))


def _ids(known: Known, kind: str) -> Strategy:
    return _lists(_one_of_known(known.values(kind, "id"), st.uuids().map(str)))


def _texts(values: Sequence[str]) -> Strategy:
    """Known values, and a few others: a changed case, and text no record has."""
    unknown = st.sampled_from(["", "no such name", "ÜNÏ"]) | st.text(max_size=6)
    known = _one_of_known(values, unknown)
    return st.one_of(known, known, known, known.map(str.upper), known.map(str.lower))


def _likes(values: Sequence[str]) -> Strategy:
    """A `like_` value: a part of a known value (Prefect looks for it anywhere in the name,
    case aside, where `%` and `_` match any text and any character), or any text."""

    @st.composite
    def part(draw: st.DrawFn) -> str:
        value: str = draw(st.sampled_from(values))
        start = draw(st.integers(0, len(value)))
        end = draw(st.integers(start, len(value)))
        return value[start:end]

    pieces = part() if values else st.text(max_size=4)
    unusual = st.sampled_from(["%", "_", "%_%", "a_", "\\", "'", "ü"]) | st.text(max_size=4)
    return pieces | pieces.map(str.swapcase) | unusual


def _times(known: Known) -> Strategy:
    """A bound on a time filter: a known record time, or one moved a microsecond, a second, an
    hour or a day either way, written in UTC or another offset."""
    moments = sorted(
        {
            datetime.fromisoformat(value)
            for kind in ("flow_runs", "task_runs")
            for name in (
                "expected_start_time",
                "start_time",
                "end_time",
                "next_scheduled_start_time",
            )
            for value in known.values(kind, name)
        }
    )
    shifts = st.sampled_from(
        [
            timedelta(0),
            timedelta(microseconds=1),
            timedelta(seconds=1),
            timedelta(hours=1),
            timedelta(days=1),
        ]
    )
    zones = st.sampled_from(
        [UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5, minutes=-30))]
    )

    @st.composite
    def time(draw: st.DrawFn) -> str:
        moment: datetime = draw(st.sampled_from(moments))
        moment += draw(shifts) * draw(st.sampled_from([-1, 1]))
        return moment.astimezone(draw(zones)).isoformat()

    return time()


def _filter(fields: Mapping[str, Strategy], operator: bool = False) -> Strategy:
    """A Prefect filter object holding one or two of `fields` (and maybe `operator`, where it
    takes one): more, all joined by `and_`, would match almost nothing."""

    @st.composite
    def build(draw: st.DrawFn) -> Body:
        chosen = draw(
            st.lists(st.sampled_from(sorted(fields)), min_size=1, max_size=2, unique=True)
        )
        made = {name: draw(fields[name]) for name in chosen}
        if operator and draw(st.booleans()):
            made["operator"] = draw(st.sampled_from(["and_", "or_"]))
        return made

    return build()


def _time_range(known: Known, nulls: bool) -> Strategy:
    fields = {"before_": _times(known), "after_": _times(known)}
    return _filter(fields | ({"is_null_": st.booleans()} if nulls else {}))


def _filters(known: Known) -> dict[str, Strategy]:
    """A strategy per filter of a body, by its key."""
    tags = sorted(
        {
            *known.values("flow_runs", "tags"),
            *known.values("task_runs", "tags"),
            *known.values("deployments", "tags"),
            *known.values("flows", "tags"),
        }
    )
    tag_lists = _lists(_texts(tags))
    flow_names = known.values("flows", "name")
    deployment_names = known.values("deployments", "name")
    run_names = known.values("flow_runs", "name")
    task_names = known.values("task_runs", "name")
    state_names = sorted(
        {*known.values("flow_runs", "state_name"), *known.values("task_runs", "state_name")}
    )
    state_types = _lists(st.sampled_from(STATE_TYPES))
    queue_names = known.values("work_queues", "name")
    flows = _filter(
        {
            "id": _filter({"any_": _ids(known, "flows"), "not_any_": _ids(known, "flows")}),
            "deployment": _filter({"is_null_": st.booleans()}, operator=True),
            "name": _filter({"any_": _lists(_texts(flow_names)), "like_": _likes(flow_names)}),
            "tags": _filter({"all_": tag_lists, "is_null_": st.booleans()}, operator=True),
        },
        operator=True,
    )
    flow_runs = _filter(
        {
            "id": _filter({"any_": _ids(known, "flow_runs"), "not_any_": _ids(known, "flow_runs")}),
            "name": _filter({"any_": _lists(_texts(run_names)), "like_": _likes(run_names)}),
            "tags": _filter(
                {"all_": tag_lists, "any_": tag_lists, "is_null_": st.booleans()}, operator=True
            ),
            "deployment_id": _filter(
                {"any_": _ids(known, "deployments"), "is_null_": st.booleans()}, operator=True
            ),
            "work_queue_name": _filter(
                {"any_": _lists(_texts(queue_names)), "is_null_": st.booleans()}, operator=True
            ),
            "state": _filter(
                {
                    "type": _filter({"any_": state_types, "not_any_": state_types}),
                    "name": _filter(
                        {
                            "any_": _lists(_texts(state_names)),
                            "not_any_": _lists(_texts(state_names)),
                        }
                    ),
                },
                operator=True,
            ),
            "flow_version": _filter(
                {"any_": _lists(_texts(known.values("flow_runs", "flow_version")))}
            ),
            "start_time": _time_range(known, nulls=True),
            "end_time": _time_range(known, nulls=True),
            "expected_start_time": _time_range(known, nulls=False),
            "next_scheduled_start_time": _time_range(known, nulls=False),
            "parent_flow_run_id": _filter({"any_": _ids(known, "flow_runs")}, operator=True),
            "parent_task_run_id": _filter(
                {"any_": _ids(known, "task_runs"), "is_null_": st.booleans()}, operator=True
            ),
            "idempotency_key": _filter(
                {
                    "any_": _lists(_texts(known.values("flow_runs", "idempotency_key"))),
                    "not_any_": _lists(_texts(known.values("flow_runs", "idempotency_key"))),
                }
            ),
            "created_by": _filter(
                {
                    "id_": _lists(st.uuids().map(str)),
                    "type_": _lists(st.sampled_from(["DEPLOYMENT", "AUTOMATION", "USER"])),
                    "is_null_": st.booleans(),
                },
                operator=True,
            ),
        },
        operator=True,
    )
    task_runs = _filter(
        {
            "id": _filter({"any_": _ids(known, "task_runs")}),
            "name": _filter({"any_": _lists(_texts(task_names)), "like_": _likes(task_names)}),
            "tags": _filter({"all_": tag_lists, "is_null_": st.booleans()}, operator=True),
            "state": _filter(
                {
                    "type": _filter({"any_": state_types}),
                    "name": _filter({"any_": _lists(_texts(state_names))}),
                },
                operator=True,
            ),
            "start_time": _time_range(known, nulls=True),
            "end_time": _time_range(known, nulls=True),
            "expected_start_time": _time_range(known, nulls=False),
            "subflow_runs": _filter({"exists_": st.booleans()}),
            "flow_run_id": _filter(
                {"any_": _ids(known, "flow_runs"), "is_null_": st.booleans()}, operator=True
            ),
        },
        operator=True,
    )
    deployments = _filter(
        {
            "id": _filter(
                {"any_": _ids(known, "deployments"), "not_any_": _ids(known, "deployments")}
            ),
            "name": _filter(
                {"any_": _lists(_texts(deployment_names)), "like_": _likes(deployment_names)}
            ),
            "flow_or_deployment_name": _filter({"like_": _likes([*flow_names, *deployment_names])}),
            "paused": _filter({"eq_": st.booleans()}),
            "tags": _filter(
                {"all_": tag_lists, "any_": tag_lists, "is_null_": st.booleans()}, operator=True
            ),
            "work_queue_name": _filter({"any_": _lists(_texts(queue_names))}),
            "concurrency_limit": _filter(
                {"ge_": st.integers(0, 3), "le_": st.integers(0, 3), "is_null_": st.booleans()}
            ),
        },
        operator=True,
    )
    work_pools = _filter(
        {
            "id": _filter({"any_": _ids(known, "work_pools")}),
            "name": _filter({"any_": _lists(_texts(known.values("work_pools", "name")))}),
            "type": _filter({"any_": _lists(st.sampled_from(["process", "docker"]))}),
        },
        operator=True,
    )
    work_pool_queues = _filter(
        {
            "id": _filter({"any_": _ids(known, "work_queues")}),
            "name": _filter(
                {"any_": _lists(_texts(queue_names)), "startswith_": _lists(_likes(queue_names))}
            ),
        },
        operator=True,
    )
    return {
        "flows": flows,
        "flow_runs": flow_runs,
        "task_runs": task_runs,
        "deployments": deployments,
        "work_pools": work_pools,
        "work_pool_queues": work_pool_queues,
    }


def filter_parts(route: Route, known: Known) -> Strategy:
    """The filters of a body to `route` (what its `/count` takes): its own kind's filter,
    mostly, and at times one of another kind's that it accepts (flow runs of the flows named
    X, task runs of the flow runs that match Y)."""
    strategies = _filters(known)
    others = [name for name in route.filters if name != route.kind]

    @st.composite
    def build(draw: st.DrawFn) -> Body:
        parts: Body = {}
        if draw(st.integers(0, 4)):
            parts[route.kind] = draw(strategies[route.kind])
        if draw(st.booleans()):
            other = draw(st.sampled_from(others))
            parts[other] = draw(strategies[other])
        return parts

    return build()


def offsets() -> Strategy:
    return st.integers(0, 20) | st.integers(0, 2 * LIMIT)


def filter_bodies(route: Route, known: Known) -> Strategy:
    """A body for `route`'s `/filter`: filters, and maybe a sort, a limit and an offset."""
    paging = st.fixed_dictionaries(
        {},
        optional={
            "sort": st.sampled_from(list(route.sorts)),
            "limit": st.integers(1, LIMIT),
            "offset": offsets(),
        },
    )
    return st.tuples(filter_parts(route, known), paging).map(lambda parts: parts[0] | parts[1])


def paginate_bodies(known: Known) -> Strategy:
    """A body for `/flow_runs/paginate`: filters, and maybe a sort, a limit and a page."""
    paging = st.fixed_dictionaries(
        {},
        optional={
            "sort": st.sampled_from(list(FLOW_RUNS.sorts)),
            "limit": st.integers(1, LIMIT),
            "page": st.integers(1, 4) | st.integers(1, 40),
        },
    )
    return st.tuples(filter_parts(FLOW_RUNS, known), paging).map(lambda parts: parts[0] | parts[1])


def refused(route: Route, body: Body) -> list[str]:
    """The sub-filters of `body` the archive cannot answer exactly, which it must refuse with
    a 422 naming each (the contract): a work pool's type is on no archived record, and a work
    pool's id is on a flow run's record alone (a deployment's names its pool by name)."""
    pools = body.get("work_pools") or {}
    found = []
    if (pools.get("type") or {}).get("any_") is not None:
        found.append("work_pools.type")
    if route is not FLOW_RUNS and (pools.get("id") or {}).get("any_") is not None:
        found.append("work_pools.id")
    return found
