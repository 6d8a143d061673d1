"""Prefect 3.9.1's filter models (`prefect.server.schemas.filters`) and their meaning on records.

Each model validates as Prefect's does (same fields, types, defaults; an unknown key is
`extra_forbidden`), and its `_conditions` is the record-side reading of Prefect's
`_get_filter_list`, condition for condition: the one place that filter's meaning lives.
`predicate()` combines them as Prefect's `as_sql_filter` does: no condition is TRUE whatever
the operator; otherwise AND, or OR where the model has `operator: "or_"`.

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


# Conditions on one field of a record, each as Prefect's SQL reads on SQLite.


def _ids(values: Sequence[UUID]) -> frozenset[str]:
    return frozenset(str(value) for value in values)


def _in(field: str, values: frozenset[str]) -> Predicate:
    """`column IN (values)`: an empty list matches nothing, nor does a null column."""
    return lambda record, follow: record.get(field) in values


def _not_in(field: str, values: frozenset[str]) -> Predicate:
    """`column NOT IN (values)`: a null column is NULL, which does not match."""
    return lambda record, follow: (value := record.get(field)) is not None and value not in values


def _is_null(field: str, null: bool) -> Predicate:
    return lambda record, follow: (record.get(field) is None) is null


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


def _matches_like(field: str, patterns: Sequence[re.Pattern[str]]) -> Predicate:
    def condition(record: Record, follow: Follow) -> bool:
        value = record.get(field)
        if value is None:
            return False
        lowered = _ascii_lower(value)
        return any(pattern.fullmatch(lowered) for pattern in patterns)

    return condition


def like(field: str, text: str) -> Predicate:
    """Prefect's `like_`: `ilike(f"%{text}%")`, a case-insensitive (ASCII) partial match."""
    return _matches_like(field, [sql_like(f"%{text}%")])


def _time_at_or_before(read: Callable[[Record], datetime | None], bound: datetime) -> Predicate:
    return lambda record, follow: (value := read(record)) is not None and value <= bound


def _time_at_or_after(read: Callable[[Record], datetime | None], bound: datetime) -> Predicate:
    return lambda record, follow: (value := read(record)) is not None and value >= bound


def _field_time(field: str) -> Callable[[Record], datetime | None]:
    return lambda record: time_of(record, field)


def _time_bounds(
    read: Callable[[Record], datetime | None], before: datetime | None, after: datetime | None
) -> list[Predicate]:
    """Inclusive bounds, as Prefect's `<=` and `>=`."""
    conditions = []
    if before is not None:
        conditions.append(_time_at_or_before(read, before))
    if after is not None:
        conditions.append(_time_at_or_after(read, after))
    return conditions


def _tags_all(tags: Sequence[str]) -> Predicate:
    """`tags ?& array`: a superset of the list (SQLite: distinct matches >= distinct needles)."""
    needles = frozenset(tags)
    return lambda record, follow: needles <= frozenset(record.get("tags") or ())


def _tags_any(tags: Sequence[str]) -> Predicate:
    """`tags ?| array`: shares a tag with the list; an empty list matches nothing."""
    needles = frozenset(tags)
    return lambda record, follow: not needles.isdisjoint(record.get("tags") or ())


def _tags_empty(empty: bool) -> Predicate:
    """`tags == []` (or `!= []`): SQLite compares the JSON text with `[]`."""
    return lambda record, follow: (not record.get("tags")) is empty


def _exists(relation: Relation, predicate: Predicate = _always) -> Predicate:
    return lambda record, follow: any(
        predicate(other, follow) for other in follow(relation, record)
    )


# Flows.


class FlowFilterId(FilterModel):
    any_: list[UUID] | None = None
    not_any_: list[UUID] | None = None

    def _conditions(self) -> list[Predicate]:
        conditions = []
        if self.any_ is not None:
            conditions.append(_in("id", _ids(self.any_)))
        if self.not_any_:
            conditions.append(_not_in("id", _ids(self.not_any_)))
        return conditions


class FlowFilterDeployment(OperatorFilterModel):
    is_null_: bool | None = None

    def _conditions(self) -> list[Predicate]:
        if self.is_null_ is None:
            return []
        has_deployment = _exists(Relation.DEPLOYMENTS_OF_FLOW)
        if self.is_null_:
            return [lambda record, follow: not has_deployment(record, follow)]
        return [has_deployment]


class FlowFilterName(FilterModel):
    any_: list[str] | None = None
    like_: str | None = None

    def _conditions(self) -> list[Predicate]:
        conditions = []
        if self.any_ is not None:
            conditions.append(_in("name", frozenset(self.any_)))
        if self.like_:
            conditions.append(like("name", self.like_))
        return conditions


class FlowFilterTags(OperatorFilterModel):
    all_: list[str] | None = None
    is_null_: bool | None = None

    def _conditions(self) -> list[Predicate]:
        conditions = []
        if self.all_:
            conditions.append(_tags_all(self.all_))
        if self.is_null_ is not None:
            conditions.append(_tags_empty(self.is_null_))
        return conditions


def _parts(*parts: FilterModel | None) -> list[Predicate]:
    """A composite filter's conditions: each part given, trivial or not (a trivial part is
    TRUE, which under `or_` makes the whole TRUE, as in Prefect)."""
    return [part.predicate() for part in parts if part is not None]


class FlowFilter(OperatorFilterModel):
    id: FlowFilterId | None = None
    deployment: FlowFilterDeployment | None = None
    name: FlowFilterName | None = None
    tags: FlowFilterTags | None = None

    def _conditions(self) -> list[Predicate]:
        return _parts(self.id, self.deployment, self.name, self.tags)


# Flow runs.


class FlowRunFilterId(FilterModel):
    any_: list[UUID] | None = None
    not_any_: list[UUID] | None = None

    def _conditions(self) -> list[Predicate]:
        conditions = []
        if self.any_ is not None:
            conditions.append(_in("id", _ids(self.any_)))
        if self.not_any_:
            conditions.append(_not_in("id", _ids(self.not_any_)))
        return conditions


class FlowRunFilterName(FilterModel):
    any_: list[str] | None = None
    like_: str | None = None

    def _conditions(self) -> list[Predicate]:
        conditions = []
        if self.any_ is not None:
            conditions.append(_in("name", frozenset(self.any_)))
        if self.like_:
            conditions.append(like("name", self.like_))
        return conditions


class FlowRunFilterTags(OperatorFilterModel):
    all_: list[str] | None = None
    any_: list[str] | None = None
    is_null_: bool | None = None

    def _conditions(self) -> list[Predicate]:
        conditions = []
        if self.all_:
            conditions.append(_tags_all(self.all_))
        if self.any_ is not None:
            conditions.append(_tags_any(self.any_))
        if self.is_null_ is not None:
            conditions.append(_tags_empty(self.is_null_))
        return conditions


class FlowRunFilterDeploymentId(OperatorFilterModel):
    any_: list[UUID] | None = None
    is_null_: bool | None = None

    def _conditions(self) -> list[Predicate]:
        conditions = []
        if self.any_ is not None:
            conditions.append(_in("deployment_id", _ids(self.any_)))
        if self.is_null_ is not None:
            conditions.append(_is_null("deployment_id", self.is_null_))
        return conditions


class FlowRunFilterWorkQueueName(OperatorFilterModel):
    any_: list[str] | None = None
    is_null_: bool | None = None

    def _conditions(self) -> list[Predicate]:
        conditions = []
        if self.any_ is not None:
            conditions.append(_in("work_queue_name", frozenset(self.any_)))
        if self.is_null_ is not None:
            conditions.append(_is_null("work_queue_name", self.is_null_))
        return conditions


class FlowRunFilterStateType(FilterModel):
    any_: list[StateType] | None = None
    not_any_: list[StateType] | None = None

    def _conditions(self) -> list[Predicate]:
        conditions = []
        if self.any_ is not None:
            conditions.append(_in("state_type", frozenset(item.value for item in self.any_)))
        if self.not_any_:
            values = frozenset(item.value for item in self.not_any_)
            conditions.append(_not_in("state_type", values))
        return conditions


class FlowRunFilterStateName(FilterModel):
    any_: list[str] | None = None
    not_any_: list[str] | None = None

    def _conditions(self) -> list[Predicate]:
        conditions = []
        if self.any_ is not None:
            conditions.append(_in("state_name", frozenset(self.any_)))
        if self.not_any_:
            conditions.append(_not_in("state_name", frozenset(self.not_any_)))
        return conditions


def _nontrivial_parts(*parts: FilterModel | None) -> list[Predicate]:
    """A state filter's conditions: Prefect leaves out a part that is `sa.true()`, so under
    `or_` a trivial `type` does not make the whole TRUE."""
    return [part.predicate() for part in parts if part is not None and part.has_conditions()]


class FlowRunFilterState(OperatorFilterModel):
    type: FlowRunFilterStateType | None = None
    name: FlowRunFilterStateName | None = None

    def _conditions(self) -> list[Predicate]:
        return _nontrivial_parts(self.type, self.name)


class FlowRunFilterFlowVersion(FilterModel):
    any_: list[str] | None = None

    def _conditions(self) -> list[Predicate]:
        return [] if self.any_ is None else [_in("flow_version", frozenset(self.any_))]


def flow_run_start(record: Record) -> datetime | None:
    """`coalesce(start_time, expected_start_time)`: what a flow run's start-time filter and
    START_TIME sorts read."""
    return time_of(record, "start_time") or time_of(record, "expected_start_time")


class FlowRunFilterStartTime(FilterModel):
    before_: DateTime | None = None
    after_: DateTime | None = None
    is_null_: bool | None = None

    def _conditions(self) -> list[Predicate]:
        conditions = _time_bounds(flow_run_start, self.before_, self.after_)
        if self.is_null_ is not None:
            conditions.append(_is_null("start_time", self.is_null_))
        return conditions


class FlowRunFilterEndTime(FilterModel):
    before_: DateTime | None = None
    after_: DateTime | None = None
    is_null_: bool | None = None

    def _conditions(self) -> list[Predicate]:
        conditions = _time_bounds(_field_time("end_time"), self.before_, self.after_)
        if self.is_null_ is not None:
            conditions.append(_is_null("end_time", self.is_null_))
        return conditions


class FlowRunFilterExpectedStartTime(FilterModel):
    before_: DateTime | None = None
    after_: DateTime | None = None

    def _conditions(self) -> list[Predicate]:
        return _time_bounds(_field_time("expected_start_time"), self.before_, self.after_)


class FlowRunFilterNextScheduledStartTime(FilterModel):
    before_: DateTime | None = None
    after_: DateTime | None = None

    def _conditions(self) -> list[Predicate]:
        return _time_bounds(_field_time("next_scheduled_start_time"), self.before_, self.after_)


class FlowRunFilterParentFlowRunId(OperatorFilterModel):
    any_: list[UUID] | None = None

    def _conditions(self) -> list[Predicate]:
        if self.any_ is None:
            return []
        return [_exists(Relation.PARENT_TASK_RUN, _in("flow_run_id", _ids(self.any_)))]


class FlowRunFilterParentTaskRunId(OperatorFilterModel):
    any_: list[UUID] | None = None
    is_null_: bool | None = None

    def _conditions(self) -> list[Predicate]:
        conditions = []
        if self.any_ is not None:
            conditions.append(_in("parent_task_run_id", _ids(self.any_)))
        if self.is_null_ is not None:
            conditions.append(_is_null("parent_task_run_id", self.is_null_))
        return conditions


class FlowRunFilterIdempotencyKey(FilterModel):
    any_: list[str] | None = None
    not_any_: list[str] | None = None

    def _conditions(self) -> list[Predicate]:
        conditions = []
        if self.any_ is not None:
            conditions.append(_in("idempotency_key", frozenset(self.any_)))
        if self.not_any_:
            conditions.append(_not_in("idempotency_key", frozenset(self.not_any_)))
        return conditions


def _created_by_in(key: str, values: frozenset[str]) -> Predicate:
    """`json_extract(created_by, '$.<key>') IN (values)`: null where there is no creator."""
    return lambda record, follow: (record.get("created_by") or {}).get(key) in values


class FlowRunFilterCreatedBy(OperatorFilterModel):
    id_: list[UUID] | None = None
    type_: list[str] | None = None
    is_null_: bool | None = None

    def _conditions(self) -> list[Predicate]:
        conditions = []
        if self.id_ is not None:
            conditions.append(_created_by_in("id", _ids(self.id_)))
        if self.type_ is not None:
            conditions.append(_created_by_in("type", frozenset(self.type_)))
        if self.is_null_ is not None:
            conditions.append(_is_null("created_by", self.is_null_))
        return conditions


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
        if self.is_null_ is True:
            return [_is_null("flow_run_id", True)]
        if self.is_null_ is False and self.any_ is None:
            return [_is_null("flow_run_id", False)]
        return [] if self.any_ is None else [_in("flow_run_id", _ids(self.any_))]


class TaskRunFilterId(FilterModel):
    any_: list[UUID] | None = None

    def _conditions(self) -> list[Predicate]:
        return [] if self.any_ is None else [_in("id", _ids(self.any_))]


class TaskRunFilterName(FilterModel):
    any_: list[str] | None = None
    like_: str | None = None

    def _conditions(self) -> list[Predicate]:
        conditions = []
        if self.any_ is not None:
            conditions.append(_in("name", frozenset(self.any_)))
        if self.like_:
            conditions.append(like("name", self.like_))
        return conditions


class TaskRunFilterTags(OperatorFilterModel):
    all_: list[str] | None = None
    is_null_: bool | None = None

    def _conditions(self) -> list[Predicate]:
        conditions = []
        if self.all_:
            conditions.append(_tags_all(self.all_))
        if self.is_null_ is not None:
            conditions.append(_tags_empty(self.is_null_))
        return conditions


class TaskRunFilterStateType(FilterModel):
    any_: list[StateType] | None = None

    def _conditions(self) -> list[Predicate]:
        if self.any_ is None:
            return []
        return [_in("state_type", frozenset(item.value for item in self.any_))]


class TaskRunFilterStateName(FilterModel):
    any_: list[str] | None = None

    def _conditions(self) -> list[Predicate]:
        return [] if self.any_ is None else [_in("state_name", frozenset(self.any_))]


class TaskRunFilterState(OperatorFilterModel):
    type: TaskRunFilterStateType | None = None
    name: TaskRunFilterStateName | None = None

    def _conditions(self) -> list[Predicate]:
        return _nontrivial_parts(self.type, self.name)


class TaskRunFilterSubFlowRuns(FilterModel):
    exists_: bool | None = None

    def _conditions(self) -> list[Predicate]:
        if self.exists_ is None:
            return []
        has_subflow_run = _exists(Relation.SUBFLOW_RUNS)
        if self.exists_:
            return [has_subflow_run]
        return [lambda record, follow: not has_subflow_run(record, follow)]


class TaskRunFilterStartTime(FilterModel):
    before_: DateTime | None = None
    after_: DateTime | None = None
    is_null_: bool | None = None

    def _conditions(self) -> list[Predicate]:
        conditions = _time_bounds(_field_time("start_time"), self.before_, self.after_)
        if self.is_null_ is not None:
            conditions.append(_is_null("start_time", self.is_null_))
        return conditions


class TaskRunFilterEndTime(FilterModel):
    before_: DateTime | None = None
    after_: DateTime | None = None
    is_null_: bool | None = None

    def _conditions(self) -> list[Predicate]:
        conditions = _time_bounds(_field_time("end_time"), self.before_, self.after_)
        if self.is_null_ is not None:
            conditions.append(_is_null("end_time", self.is_null_))
        return conditions


class TaskRunFilterExpectedStartTime(FilterModel):
    before_: DateTime | None = None
    after_: DateTime | None = None

    def _conditions(self) -> list[Predicate]:
        return _time_bounds(_field_time("expected_start_time"), self.before_, self.after_)


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


class DeploymentFilterId(FilterModel):
    any_: list[UUID] | None = None
    not_any_: list[UUID] | None = None

    def _conditions(self) -> list[Predicate]:
        conditions = []
        if self.any_ is not None:
            conditions.append(_in("id", _ids(self.any_)))
        if self.not_any_:
            conditions.append(_not_in("id", _ids(self.not_any_)))
        return conditions


class DeploymentFilterName(FilterModel):
    any_: list[str] | None = None
    like_: str | None = None

    def _conditions(self) -> list[Predicate]:
        conditions = []
        if self.any_ is not None:
            conditions.append(_in("name", frozenset(self.any_)))
        if self.like_:
            conditions.append(like("name", self.like_))
        return conditions


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


class DeploymentFilterWorkQueueName(FilterModel):
    any_: list[str] | None = None

    def _conditions(self) -> list[Predicate]:
        return [] if self.any_ is None else [_in("work_queue_name", frozenset(self.any_))]


class DeploymentFilterConcurrencyLimit(FilterModel):
    """Deprecated in Prefect, which accepts it and ignores it: so does this."""

    ge_: int | None = None
    le_: int | None = None
    is_null_: bool | None = None

    def _conditions(self) -> list[Predicate]:
        return []


class DeploymentFilterTags(OperatorFilterModel):
    all_: list[str] | None = None
    any_: list[str] | None = None
    is_null_: bool | None = None

    def _conditions(self) -> list[Predicate]:
        conditions = []
        if self.all_:
            conditions.append(_tags_all(self.all_))
        if self.any_ is not None:
            conditions.append(_tags_any(self.any_))
        if self.is_null_ is not None:
            conditions.append(_tags_empty(self.is_null_))
        return conditions


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


class WorkQueueFilterId(FilterModel):
    any_: list[UUID] | None = None

    def _conditions(self) -> list[Predicate]:
        return [] if self.any_ is None else [_in("work_queue_id", _ids(self.any_))]


def _starts_with_any(field: str, prefixes: Sequence[str]) -> Predicate:
    """Prefect's `startswith_`: `ilike(f"{prefix}%")` for each prefix, OR-ed."""
    return _matches_like(field, [sql_like(f"{prefix}%") for prefix in prefixes])


class WorkQueueFilterName(FilterModel):
    any_: list[str] | None = None
    startswith_: list[str] | None = None

    def _conditions(self) -> list[Predicate]:
        conditions = []
        if self.any_ is not None:
            conditions.append(_in("work_queue_name", frozenset(self.any_)))
        if self.startswith_ is not None:
            conditions.append(_starts_with_any("work_queue_name", self.startswith_))
        return conditions


class WorkQueueFilter(OperatorFilterModel):
    id: WorkQueueFilterId | None = None
    name: WorkQueueFilterName | None = None

    def _conditions(self) -> list[Predicate]:
        return _parts(self.id, self.name)

    def predicate(self) -> Predicate:
        return _all([_has_work_queue, super().predicate()])


class WorkPoolFilterId(FilterModel):
    any_: list[UUID] | None = None

    def _conditions(self) -> list[Predicate]:
        return [] if self.any_ is None else [_in("work_pool_id", _ids(self.any_))]


class WorkPoolFilterName(FilterModel):
    any_: list[str] | None = None

    def _conditions(self) -> list[Predicate]:
        return [] if self.any_ is None else [_in("work_pool_name", frozenset(self.any_))]


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
