"""Prefect 3.9.1's filter models (`prefect.server.schemas.filters`) and their meaning on records.

Each model validates as Prefect's does (same fields, types, defaults; an unknown key is
`extra_forbidden`), and its `_conditions` is the record-side reading of Prefect's
`_get_filter_list`, condition for condition. Each operator's reading (`any_`, `not_any_`,
`is_null_`, `like_`, `before_`, ...), with Prefect's test of whether it is a condition at
all, is written once below as a function of the column it reads; most models are one of a
few shapes (`_AnyOf`, `_TimeRange`, ...) that apply those to the `column` the model names.
`predicate()` combines the conditions as Prefect's `as_sql_filter` does: no condition is TRUE
whatever the operator; otherwise AND, or OR where the model has `operator: "or_"`.

SQL's NULL is read as Prefect's SQLite reads it: a comparison with NULL (`state_type NOT IN
(...)` where `state_type` is null, `end_time <= t` where `end_time` is null) does not match,
and since no filter negates a combination of conditions, not matching is all NULL ever means
here. See docs/queries.md, "Filter semantics", for the choices behind each reading.
"""

import re
from collections.abc import Callable, Sequence
from datetime import datetime
from enum import StrEnum
from typing import ClassVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from api.schemas import StateType  # Prefect's state types, defined once
from queries.datetimes import DateTime
from queries.records import Follow, Predicate, Record, Relation, UnanswerableFilter, time_of


class Operator(StrEnum):
    and_ = "and_"
    or_ = "or_"


def _always(record: Record, follow: Follow) -> bool:
    return True


def _all(conditions: Sequence[Predicate]) -> Predicate:
    if len(conditions) == 1:
        return conditions[0]
    return lambda record, follow: all(condition(record, follow) for condition in conditions)


def _any(conditions: Sequence[Predicate]) -> Predicate:
    if len(conditions) == 1:
        return conditions[0]
    return lambda record, follow: any(condition(record, follow) for condition in conditions)


class FilterModel(BaseModel):
    """Prefect's `PrefectFilterBaseModel`: its conditions, all of which must hold."""

    model_config: ClassVar[ConfigDict] = ConfigDict(extra="forbid")

    def _conditions(self) -> list[Predicate]:
        raise NotImplementedError

    def has_conditions(self) -> bool:
        """False where Prefect's filter is `sa.true()`: no field of it constrains."""
        return bool(self._conditions())

    def predicate(self) -> Predicate:
        conditions = self._conditions()
        return _all(conditions) if conditions else _always


class OperatorFilterModel(FilterModel):
    """Prefect's `PrefectOperatorFilterBaseModel`: its conditions combined by `operator`."""

    operator: Operator = Operator.and_

    def predicate(self) -> Predicate:
        conditions = self._conditions()
        if not conditions:
            return _always
        return _all(conditions) if self.operator is Operator.and_ else _any(conditions)


# Conditions on one column of a record, each as Prefect's SQL reads on SQLite. Each takes
# the operator's value as the body gives it and returns the condition, or none where Prefect
# adds none for that value.


def _texts(values: Sequence[object]) -> frozenset[str]:
    """The values as records hold them: a UUID's or a state type's text, a string itself."""
    return frozenset(str(value) for value in values)


def _in(column: str, values: frozenset[str]) -> Predicate:
    """`column IN (values)`: an empty list matches nothing, nor does a null column."""
    return lambda record, follow: record.get(column) in values


def _any_of(column: str, values: Sequence[object] | None) -> list[Predicate]:
    """`any_`, where given: `column IN (values)`."""
    return [] if values is None else [_in(column, _texts(values))]


def _not_any_of(column: str, values: Sequence[object] | None) -> list[Predicate]:
    """`not_any_`, where not empty: `column NOT IN (values)`; a null column is NULL, which
    does not match."""
    if not values:
        return []
    excluded = _texts(values)
    return [
        lambda record, follow: (value := record.get(column)) is not None and value not in excluded
    ]


def _null(column: str, is_null: bool | None) -> list[Predicate]:
    """`is_null_`, where given: `column IS NULL` (or `IS NOT NULL`)."""
    if is_null is None:
        return []
    return [lambda record, follow: (record.get(column) is None) is is_null]


def _ascii_lower(text: str) -> str:
    """SQLite's lower(): ASCII letters only (it has no ICU here)."""
    return text.translate(_ASCII_LOWER)


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def sql_like(pattern: str) -> re.Pattern[str]:
    """SQLite's `lower(column) LIKE lower(pattern)` as a regular expression on the lowered
    column: `%` any run of characters, `_` any one, every other character itself (Prefect
    passes the user's text through unescaped, and SQLite has no escape character by default)."""
    lowered = _ascii_lower(pattern)
    parts = ("." if char == "_" else ".*" if char == "%" else re.escape(char) for char in lowered)
    return re.compile("".join(parts), re.DOTALL)


def _matches_like(column: str, patterns: Sequence[re.Pattern[str]]) -> Predicate:
    def condition(record: Record, follow: Follow) -> bool:
        value = record.get(column)
        if value is None:
            return False
        lowered = _ascii_lower(value)
        return any(pattern.fullmatch(lowered) for pattern in patterns)

    return condition


def like(column: str, text: str) -> Predicate:
    """Prefect's `like_`: `ilike(f"%{text}%")`, a case-insensitive (ASCII) partial match."""
    return _matches_like(column, [sql_like(f"%{text}%")])


def _like(column: str, text: str | None) -> list[Predicate]:
    """`like_`, where not empty."""
    return [like(column, text)] if text else []


def _starts_with_any(column: str, prefixes: Sequence[str] | None) -> list[Predicate]:
    """`startswith_`, where given: `ilike(f"{prefix}%")` for each prefix, OR-ed."""
    if prefixes is None:
        return []
    return [_matches_like(column, [sql_like(f"{prefix}%") for prefix in prefixes])]


def _time_bounds(
    read: Callable[[Record], datetime | None], before: datetime | None, after: datetime | None
) -> list[Predicate]:
    """`before_` and `after_`, where given: inclusive bounds, as Prefect's `<=` and `>=`; a
    record without the time matches neither."""
    conditions: list[Predicate] = []
    if before is not None:
        conditions.append(
            lambda record, follow: (value := read(record)) is not None and value <= before
        )
    if after is not None:
        conditions.append(
            lambda record, follow: (value := read(record)) is not None and value >= after
        )
    return conditions


def _tags_all(tags: Sequence[str] | None) -> list[Predicate]:
    """`all_`, where not empty: `tags ?& array`, a superset of the list (SQLite: distinct
    matches >= distinct needles)."""
    if not tags:
        return []
    needles = frozenset(tags)
    return [lambda record, follow: needles <= frozenset(record.get("tags") or ())]


def _tags_any(tags: Sequence[str] | None) -> list[Predicate]:
    """`any_`, where given: `tags ?| array`, shares a tag with the list; an empty list
    matches nothing."""
    if tags is None:
        return []
    needles = frozenset(tags)
    return [lambda record, follow: not needles.isdisjoint(record.get("tags") or ())]


def _tags_empty(empty: bool | None) -> list[Predicate]:
    """`is_null_` on tags, where given: `tags == []` (or `!= []`): SQLite compares the JSON
    text with `[]`."""
    if empty is None:
        return []
    return [lambda record, follow: (not record.get("tags")) is empty]


def _exists(relation: Relation, predicate: Predicate = _always) -> Predicate:
    return lambda record, follow: any(
        predicate(other, follow) for other in follow(relation, record)
    )


def _has_related(relation: Relation, present: bool | None) -> list[Predicate]:
    """Where given: the record has a related record (`EXISTS`), or has none."""
    if present is None:
        return []
    exists = _exists(relation)
    return [exists if present else lambda record, follow: not exists(record, follow)]


# The shapes most sub-filters share: Prefect's fields, each read by its function above on the
# record's `column`, which each model names.


class _AnyOf[T](FilterModel):
    column: ClassVar[str]

    any_: list[T] | None = None

    def _conditions(self) -> list[Predicate]:
        return _any_of(self.column, self.any_)


class _AnyOrNotAnyOf[T](_AnyOf[T]):
    not_any_: list[T] | None = None

    def _conditions(self) -> list[Predicate]:
        return [*super()._conditions(), *_not_any_of(self.column, self.not_any_)]


class _AnyOrLike(_AnyOf[str]):
    like_: str | None = None

    def _conditions(self) -> list[Predicate]:
        return [*super()._conditions(), *_like(self.column, self.like_)]


class _AnyOfOrNull[T](OperatorFilterModel):
    column: ClassVar[str]

    any_: list[T] | None = None
    is_null_: bool | None = None

    def _conditions(self) -> list[Predicate]:
        return [*_any_of(self.column, self.any_), *_null(self.column, self.is_null_)]


class _TimeRange(FilterModel):
    column: ClassVar[str]

    before_: DateTime | None = None
    after_: DateTime | None = None

    def _time(self, record: Record) -> datetime | None:
        """The time the bounds read: the column's."""
        return time_of(record, self.column)

    def _conditions(self) -> list[Predicate]:
        return _time_bounds(self._time, self.before_, self.after_)


class _TimeRangeOrNull(_TimeRange):
    is_null_: bool | None = None

    def _conditions(self) -> list[Predicate]:
        return [*super()._conditions(), *_null(self.column, self.is_null_)]


class _AllTags(OperatorFilterModel):
    all_: list[str] | None = None
    is_null_: bool | None = None

    def _conditions(self) -> list[Predicate]:
        return [*_tags_all(self.all_), *_tags_empty(self.is_null_)]


class _AllOrAnyTags(OperatorFilterModel):
    all_: list[str] | None = None
    any_: list[str] | None = None
    is_null_: bool | None = None

    def _conditions(self) -> list[Predicate]:
        return [*_tags_all(self.all_), *_tags_any(self.any_), *_tags_empty(self.is_null_)]


def _parts(*parts: FilterModel | None) -> list[Predicate]:
    """A composite filter's conditions: each part given, trivial or not (a trivial part is
    TRUE, which under `or_` makes the whole TRUE, as in Prefect)."""
    return [part.predicate() for part in parts if part is not None]


def _nontrivial_parts(*parts: FilterModel | None) -> list[Predicate]:
    """A state filter's conditions: Prefect leaves out a part that is `sa.true()`, so under
    `or_` a trivial `type` does not make the whole TRUE."""
    return [part.predicate() for part in parts if part is not None and part.has_conditions()]


# Flows.


class FlowFilterId(_AnyOrNotAnyOf[UUID]):
    column = "id"


class FlowFilterDeployment(OperatorFilterModel):
    is_null_: bool | None = None

    def _conditions(self) -> list[Predicate]:
        has_deployment = None if self.is_null_ is None else not self.is_null_
        return _has_related(Relation.DEPLOYMENTS_OF_FLOW, has_deployment)


class FlowFilterName(_AnyOrLike):
    column = "name"


class FlowFilterTags(_AllTags):
    pass


class FlowFilter(OperatorFilterModel):
    id: FlowFilterId | None = None
    deployment: FlowFilterDeployment | None = None
    name: FlowFilterName | None = None
    tags: FlowFilterTags | None = None

    def _conditions(self) -> list[Predicate]:
        return _parts(self.id, self.deployment, self.name, self.tags)


# Flow runs.


class FlowRunFilterId(_AnyOrNotAnyOf[UUID]):
    column = "id"


class FlowRunFilterName(_AnyOrLike):
    column = "name"


class FlowRunFilterTags(_AllOrAnyTags):
    pass


class FlowRunFilterDeploymentId(_AnyOfOrNull[UUID]):
    column = "deployment_id"


class FlowRunFilterWorkQueueName(_AnyOfOrNull[str]):
    column = "work_queue_name"


class FlowRunFilterStateType(_AnyOrNotAnyOf[StateType]):
    column = "state_type"


class FlowRunFilterStateName(_AnyOrNotAnyOf[str]):
    column = "state_name"


class FlowRunFilterState(OperatorFilterModel):
    type: FlowRunFilterStateType | None = None
    name: FlowRunFilterStateName | None = None

    def _conditions(self) -> list[Predicate]:
        return _nontrivial_parts(self.type, self.name)


class FlowRunFilterFlowVersion(_AnyOf[str]):
    column = "flow_version"


def flow_run_start(record: Record) -> datetime | None:
    """`coalesce(start_time, expected_start_time)`: what a flow run's start-time filter and
    START_TIME sorts read."""
    return time_of(record, "start_time") or time_of(record, "expected_start_time")


class FlowRunFilterStartTime(_TimeRangeOrNull):
    column = "start_time"  # what `is_null_` reads; the bounds read `flow_run_start`

    def _time(self, record: Record) -> datetime | None:
        return flow_run_start(record)


class FlowRunFilterEndTime(_TimeRangeOrNull):
    column = "end_time"


class FlowRunFilterExpectedStartTime(_TimeRange):
    column = "expected_start_time"


class FlowRunFilterNextScheduledStartTime(_TimeRange):
    column = "next_scheduled_start_time"


class FlowRunFilterParentFlowRunId(OperatorFilterModel):
    any_: list[UUID] | None = None

    def _conditions(self) -> list[Predicate]:
        if self.any_ is None:
            return []
        return [_exists(Relation.PARENT_TASK_RUN, _in("flow_run_id", _texts(self.any_)))]


class FlowRunFilterParentTaskRunId(_AnyOfOrNull[UUID]):
    column = "parent_task_run_id"


class FlowRunFilterIdempotencyKey(_AnyOrNotAnyOf[str]):
    column = "idempotency_key"


def _created_by_in(key: str, values: Sequence[object] | None) -> list[Predicate]:
    """`json_extract(created_by, '$.<key>') IN (values)`, where given: null where there is
    no creator."""
    if values is None:
        return []
    allowed = _texts(values)
    return [lambda record, follow: (record.get("created_by") or {}).get(key) in allowed]


class FlowRunFilterCreatedBy(OperatorFilterModel):
    id_: list[UUID] | None = None
    type_: list[str] | None = None
    is_null_: bool | None = None

    def _conditions(self) -> list[Predicate]:
        return [
            *_created_by_in("id", self.id_),
            *_created_by_in("type", self.type_),
            *_null("created_by", self.is_null_),
        ]


class FlowRunFilter(OperatorFilterModel):
    id: FlowRunFilterId | None = None
    name: FlowRunFilterName | None = None
    tags: FlowRunFilterTags | None = None
    deployment_id: FlowRunFilterDeploymentId | None = None
    work_queue_name: FlowRunFilterWorkQueueName | None = None
    state: FlowRunFilterState | None = None
    flow_version: FlowRunFilterFlowVersion | None = None
    start_time: FlowRunFilterStartTime | None = None
    end_time: FlowRunFilterEndTime | None = None
    expected_start_time: FlowRunFilterExpectedStartTime | None = None
    next_scheduled_start_time: FlowRunFilterNextScheduledStartTime | None = None
    parent_flow_run_id: FlowRunFilterParentFlowRunId | None = None
    parent_task_run_id: FlowRunFilterParentTaskRunId | None = None
    idempotency_key: FlowRunFilterIdempotencyKey | None = None
    created_by: FlowRunFilterCreatedBy | None = None

    def only_filters_on_id(self) -> bool:
        """Prefect's test for its task-run shortcut: a non-empty `id.any_`, no `id.not_any_`,
        and no other field."""
        others = set(type(self).model_fields) - {"id", "operator"}
        return bool(
            self.id is not None
            and self.id.any_
            and not self.id.not_any_
            and all(getattr(self, name) is None for name in others)
        )

    def _conditions(self) -> list[Predicate]:
        # Prefect's order (state after flow_version); `and`/`or` make it no matter.
        return _parts(
            self.id,
            self.name,
            self.tags,
            self.deployment_id,
            self.work_queue_name,
            self.flow_version,
            self.state,
            self.start_time,
            self.end_time,
            self.expected_start_time,
            self.next_scheduled_start_time,
            self.parent_flow_run_id,
            self.parent_task_run_id,
            self.idempotency_key,
            self.created_by,
        )


# Task runs.


class TaskRunFilterFlowRunId(OperatorFilterModel):
    any_: list[UUID] | None = None
    is_null_: bool | None = False

    def _conditions(self) -> list[Predicate]:
        # Prefect's precedence: `is_null_: true` alone counts (any_ is then ignored); the
        # default `is_null_: false` means "has a flow run" only where there is no `any_`.
        if self.is_null_ is True or (self.is_null_ is False and self.any_ is None):
            return _null("flow_run_id", self.is_null_)
        return _any_of("flow_run_id", self.any_)


class TaskRunFilterId(_AnyOf[UUID]):
    column = "id"


class TaskRunFilterName(_AnyOrLike):
    column = "name"


class TaskRunFilterTags(_AllTags):
    pass


class TaskRunFilterStateType(_AnyOf[StateType]):
    column = "state_type"


class TaskRunFilterStateName(_AnyOf[str]):
    column = "state_name"


class TaskRunFilterState(OperatorFilterModel):
    type: TaskRunFilterStateType | None = None
    name: TaskRunFilterStateName | None = None

    def _conditions(self) -> list[Predicate]:
        return _nontrivial_parts(self.type, self.name)


class TaskRunFilterSubFlowRuns(FilterModel):
    exists_: bool | None = None

    def _conditions(self) -> list[Predicate]:
        return _has_related(Relation.SUBFLOW_RUNS, self.exists_)


class TaskRunFilterStartTime(_TimeRangeOrNull):
    column = "start_time"


class TaskRunFilterEndTime(_TimeRangeOrNull):
    column = "end_time"


class TaskRunFilterExpectedStartTime(_TimeRange):
    column = "expected_start_time"


class TaskRunFilter(OperatorFilterModel):
    id: TaskRunFilterId | None = None
    name: TaskRunFilterName | None = None
    tags: TaskRunFilterTags | None = None
    state: TaskRunFilterState | None = None
    start_time: TaskRunFilterStartTime | None = None
    end_time: TaskRunFilterEndTime | None = None
    expected_start_time: TaskRunFilterExpectedStartTime | None = None
    subflow_runs: TaskRunFilterSubFlowRuns | None = None
    flow_run_id: TaskRunFilterFlowRunId | None = None

    def _conditions(self) -> list[Predicate]:
        return _parts(
            self.id,
            self.name,
            self.tags,
            self.state,
            self.start_time,
            self.end_time,
            self.expected_start_time,
            self.subflow_runs,
            self.flow_run_id,
        )


# Deployments.


class DeploymentFilterId(_AnyOrNotAnyOf[UUID]):
    column = "id"


class DeploymentFilterName(_AnyOrLike):
    column = "name"


class DeploymentOrFlowNameFilter(FilterModel):
    like_: str | None = None

    def _conditions(self) -> list[Predicate]:
        if not self.like_:
            return []
        name_is_like = like("name", self.like_)
        flow_name_is_like = _exists(Relation.FLOW, name_is_like)
        return [_any([name_is_like, flow_name_is_like])]


class DeploymentFilterPaused(FilterModel):
    eq_: bool | None = None

    def _conditions(self) -> list[Predicate]:
        if self.eq_ is None:
            return []
        paused = self.eq_
        return [lambda record, follow: record.get("paused") is paused]


class DeploymentFilterWorkQueueName(_AnyOf[str]):
    column = "work_queue_name"


class DeploymentFilterConcurrencyLimit(FilterModel):
    """Deprecated in Prefect, which accepts it and ignores it: so does this."""

    ge_: int | None = None
    le_: int | None = None
    is_null_: bool | None = None

    def _conditions(self) -> list[Predicate]:
        return []


class DeploymentFilterTags(_AllOrAnyTags):
    pass


class DeploymentFilter(OperatorFilterModel):
    id: DeploymentFilterId | None = None
    name: DeploymentFilterName | None = None
    flow_or_deployment_name: DeploymentOrFlowNameFilter | None = None
    paused: DeploymentFilterPaused | None = None
    tags: DeploymentFilterTags | None = None
    work_queue_name: DeploymentFilterWorkQueueName | None = None
    concurrency_limit: DeploymentFilterConcurrencyLimit | None = None

    def _conditions(self) -> list[Predicate]:
        # concurrency_limit is left out, as Prefect leaves it out.
        return _parts(
            self.id,
            self.name,
            self.flow_or_deployment_name,
            self.paused,
            self.tags,
            self.work_queue_name,
        )


# Work pools and work queues, read from the flow run or deployment that names them: its
# `work_queue_id` / `work_queue_name` (the queue's own, as Prefect serves them where the queue
# exists) and, on a flow run, `work_pool_id` / `work_pool_name`. Prefect joins
# `work_queue.id = <record>.work_queue_id`, so a record without a queue never matches.


def _has_work_queue(record: Record, follow: Follow) -> bool:
    return record.get("work_queue_id") is not None


class WorkQueueFilterId(_AnyOf[UUID]):
    column = "work_queue_id"


class WorkQueueFilterName(_AnyOf[str]):
    column = "work_queue_name"

    startswith_: list[str] | None = None

    def _conditions(self) -> list[Predicate]:
        return [*super()._conditions(), *_starts_with_any(self.column, self.startswith_)]


class WorkQueueFilter(OperatorFilterModel):
    id: WorkQueueFilterId | None = None
    name: WorkQueueFilterName | None = None

    def _conditions(self) -> list[Predicate]:
        return _parts(self.id, self.name)

    def predicate(self) -> Predicate:
        return _all([_has_work_queue, super().predicate()])


class WorkPoolFilterId(_AnyOf[UUID]):
    column = "work_pool_id"


class WorkPoolFilterName(_AnyOf[str]):
    column = "work_pool_name"


class WorkPoolFilterType(FilterModel):
    """A work pool's type is on no archived record: `unanswerable()` refuses a body that
    constrains it, so its meaning here is never read."""

    any_: list[str] | None = None

    def _conditions(self) -> list[Predicate]:
        if self.any_ is None:
            return []
        raise UnanswerableFilter("work_pools.type")


class WorkPoolFilter(OperatorFilterModel):
    id: WorkPoolFilterId | None = None
    name: WorkPoolFilterName | None = None
    type: WorkPoolFilterType | None = None

    def _conditions(self) -> list[Predicate]:
        return _parts(self.id, self.name, self.type)

    def predicate(self) -> Predicate:
        return _all([_has_work_queue, super().predicate()])
