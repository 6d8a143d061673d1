"""Which index answers a query, and how: chosen from what every match must satisfy
(`queries.narrowing`), with no I/O. docs/queries.md tabulates the choices and their cost.

The index that narrows most is read: the ids themselves (BatchGetItem); else the partitions of
one index, each a Query with the key condition the facts allow; else the whole archive in one
of its orders. Where the index's order is the requested sort's, reading stops once a page is
found; else every record the index gives is read and sorted in memory.
"""

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from queries import Kind, Narrowing, TimeRange, kind_of, narrowing, order_by
from queries.bodies import Body
from queries.sorting import Sort
from storage.record_items import month_of, name_order
from storage.repository import fixed_width_utc
from storage.table_shapes import (
    DEPLOYMENTS,
    EXPECTED_MONTH,
    FLOW_RUNS,
    FLOWS,
    START_MONTH,
    TASK_RUNS,
    RecordIndex,
    RecordTable,
)

TABLES: Mapping[Kind, RecordTable] = {
    Kind.FLOW_RUN: FLOW_RUNS,
    Kind.TASK_RUN: TASK_RUNS,
    Kind.FLOW: FLOWS,
    Kind.DEPLOYMENT: DEPLOYMENTS,
}
HEX_DIGITS = "0123456789abcdef"
_LOWEST_TIME = "0"  # below every fixed-width time, above "#" (a null time's sort key)
_HIGHEST_AFTER_TIME = "#~"  # after "#" and every id at one time


@dataclass(frozen=True, slots=True)
class KeyRange:
    """Inclusive bounds on an index's sort key; None is unbounded. `equal` for one value."""

    low: str | None = None
    high: str | None = None
    equal: str | None = None

    @property
    def empty(self) -> bool:
        """No key can meet these bounds (an `after_` past the `before_`): Prefect answers
        nothing, and DynamoDB refuses such a BETWEEN, so no Query is made."""
        return self.low is not None and self.high is not None and self.low > self.high


@dataclass(frozen=True, slots=True)
class ById:
    """Read the records by id: BatchGetItem."""

    ids: frozenset[str]


@dataclass(frozen=True, slots=True)
class IndexReading:
    """Query `index`'s `partitions`, each within `keys`.

    `consecutive`: the partitions hold successive stretches of the index's order (months,
    id buckets), so they are read one after another; else their streams are merged.
    `forward`: the direction read. `ordered`: the index's order is the sort's (so reading
    may stop early). `exact`: the key condition says all the body says (so a count may
    be the index's own, Select=COUNT)."""

    index: RecordIndex
    partitions: tuple[str, ...]
    keys: KeyRange = KeyRange()
    consecutive: bool = False
    forward: bool = True
    ordered: bool = False
    exact: bool = False


type Reading = ById | IndexReading
type Conditions = set[tuple[str, ...]] | frozenset[tuple[str, ...]]
# The months a month index holds (by its partition attribute), read only where needed.
type KnownMonths = Callable[[str], Iterable[str]]


def _time_range(bounds: TimeRange | None) -> KeyRange:
    if bounds is None:
        return KeyRange()
    return KeyRange(
        _LOWEST_TIME if bounds.after is None else fixed_width_utc(bounds.after),
        None if bounds.before is None else fixed_width_utc(bounds.before) + _HIGHEST_AFTER_TIME,
    )


def _direction(index: RecordIndex, sort: Sort | None) -> tuple[bool, bool]:
    """(forward, ordered): read in the sort's direction where the index orders by its column
    (a count has no sort)."""
    if sort is None:
        return True, False
    first = order_by(sort)[0]
    if first.column.name == index.column:
        return not first.descending, True
    return True, False


def _months(known: Iterable[str], bounds: TimeRange | None) -> list[str]:
    low = (
        None if bounds is None or bounds.after is None else month_of(fixed_width_utc(bounds.after))
    )
    high = (
        None
        if bounds is None or bounds.before is None
        else month_of(fixed_width_utc(bounds.before))
    )
    return sorted(m for m in known if (low is None or m >= low) and (high is None or m <= high))


def _leaves(value: object, path: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    """The paths to each condition a body's dump holds; an empty filter is a condition."""
    if isinstance(value, dict) and value:
        return set().union(*(_leaves(part, (*path, key)) for key, part in value.items()))
    return {path}


def body_conditions(body: Body) -> set[tuple[str, ...]]:
    """Where the body sets a condition: the paths of its filters' given, non-default values."""
    filters = body.model_dump(
        mode="json", exclude_defaults=True, exclude={"sort", "limit", "offset", "page"}
    )
    return _leaves(filters) if filters else set()


def _time_leaves(prefix: tuple[str, ...], bounds: TimeRange | None) -> set[tuple[str, ...]]:
    return set() if bounds is None else {(*prefix, "after_"), (*prefix, "before_")}


def _index_reading(
    table: RecordTable,
    name: str,
    partitions: Iterable[str],
    sort: Sort | None,
    keys: KeyRange = KeyRange(),
    consecutive: bool = False,
    exact_conditions: set[tuple[str, ...]] | None = None,
    conditions: Conditions = frozenset(),
) -> IndexReading:
    index = table.index(name)
    forward, ordered = _direction(index, sort)
    ordered_partitions = sorted(partitions, reverse=consecutive and not forward)
    return IndexReading(
        index,
        tuple(ordered_partitions),
        keys,
        consecutive,
        forward,
        ordered,
        exact=exact_conditions is not None and conditions <= exact_conditions,
    )


def choose(body: Body, known_months: KnownMonths) -> Reading:
    """How to read the records that `body` may match, in the order of its sort (none for a
    count)."""
    kind = kind_of(body)
    facts = narrowing(body)
    sort: Sort | None = getattr(body, "sort", None)
    if facts.ids is not None:
        return ById(facts.ids)
    conditions = body_conditions(body)
    table = TABLES[kind]
    match kind:
        case Kind.FLOW_RUN:
            return _flow_runs(table, facts, sort, conditions, known_months)
        case Kind.TASK_RUN:
            return _task_runs(table, facts, sort, conditions, known_months)
        case Kind.FLOW:
            return _named(table, facts, sort, conditions)
        case Kind.DEPLOYMENT:
            if facts.flow_ids is not None:
                return _index_reading(table, "by-flow", facts.flow_ids, sort)
            return _named(table, facts, sort, conditions)


def _by_state(
    table: RecordTable,
    runs: str,
    state_types: Iterable[str],
    sort: Sort | None,
    times: TimeRange | None,
    time_conditions: set[tuple[str, ...]],
    conditions: Conditions,
) -> IndexReading:
    """The runs (`runs`, the body's filter of them) in `state.type.any_`'s types, within
    `times` on by-state's sort key: exact where the body says no more than those."""
    return _index_reading(
        table,
        "by-state",
        state_types,
        sort,
        _time_range(times),
        exact_conditions={(runs, "state", "type", "any_")} | time_conditions,
        conditions=conditions,
    )


def _by_month(
    table: RecordTable,
    month: str,
    times: TimeRange | None,
    sort: Sort | None,
    time_conditions: set[tuple[str, ...]],
    conditions: Conditions,
    known_months: KnownMonths,
) -> IndexReading:
    """The records of the months `times` spans, in the order of the month index whose
    partitions `month` names: exact where the body says no more than `times`."""
    (index,) = (index for index in table.indexes if index.partition == month)
    return _index_reading(
        table,
        index.name,
        _months(known_months(month), times),
        sort,
        _time_range(times),
        consecutive=True,
        exact_conditions=time_conditions,
        conditions=conditions,
    )


def _flow_runs(
    table: RecordTable,
    facts: Narrowing,
    sort: Sort | None,
    conditions: Conditions,
    known_months: KnownMonths,
) -> Reading:
    expected = facts.times.get("expected_start_time")
    start = facts.times.get("coalesce(start_time, expected_start_time)")
    for name, values in (
        ("by-flow", facts.flow_ids),
        ("by-deployment", facts.deployment_ids),
        ("by-parent-task-run", facts.parent_task_run_ids),
    ):
        if values is not None:
            return _index_reading(table, name, values, sort, _time_range(expected))
    tags = facts.tags_any if facts.tags_any is not None else facts.tags_all or None
    if tags is not None and "" not in tags:
        # Any of `any_`'s tags; one of `all_`'s (the rest is the predicate's).
        chosen = tags if facts.tags_any is not None else {min(tags)}
        return _index_reading(table, "by-tag", chosen, sort, _time_range(start))
    start_conditions = _time_leaves(("flow_runs", "start_time"), start)
    if facts.state_types is not None:
        return _by_state(
            table, "flow_runs", facts.state_types, sort, start, start_conditions, conditions
        )
    column = None if sort is None else order_by(sort)[0].column.name
    if start is None and expected is None and column == "id":
        return _index_reading(table, "by-id", HEX_DIGITS, sort, consecutive=True)
    if start is not None or (expected is None and column != "expected_start_time"):
        return _by_month(
            table, START_MONTH, start, sort, start_conditions, conditions, known_months
        )
    expected_conditions = _time_leaves(("flow_runs", "expected_start_time"), expected)
    return _by_month(
        table, EXPECTED_MONTH, expected, sort, expected_conditions, conditions, known_months
    )


def _task_runs(
    table: RecordTable,
    facts: Narrowing,
    sort: Sort | None,
    conditions: Conditions,
    known_months: KnownMonths,
) -> Reading:
    expected = facts.times.get("expected_start_time")
    time_conditions = _time_leaves(("task_runs", "expected_start_time"), expected)
    if facts.flow_run_ids is not None:
        return _index_reading(
            table,
            "by-flow-run",
            facts.flow_run_ids,
            sort,
            _time_range(expected),
            # Prefect reads `flow_runs.id.any_` alone as the task run's own flow_run_id.
            exact_conditions={
                ("task_runs", "flow_run_id", "any_"),
                ("flow_runs", "id", "any_"),
            }
            | time_conditions,
            conditions=conditions,
        )
    if facts.state_types is not None:
        return _by_state(
            table, "task_runs", facts.state_types, sort, expected, time_conditions, conditions
        )
    if expected is None and sort is not None and order_by(sort)[0].column.name == "id":
        return _index_reading(table, "by-id", HEX_DIGITS, sort, consecutive=True)
    return _by_month(
        table, EXPECTED_MONTH, expected, sort, time_conditions, conditions, known_months
    )


def _named(
    table: RecordTable, facts: Narrowing, sort: Sort | None, conditions: Conditions
) -> Reading:
    if facts.names is not None and len(facts.names) == 1:
        (name,) = facts.names
        return _index_reading(
            table, "by-name", (table.kind,), sort, KeyRange(equal=name_order(name))
        )
    return _index_reading(
        table, "by-name", (table.kind,), sort, exact_conditions=set(), conditions=conditions
    )
