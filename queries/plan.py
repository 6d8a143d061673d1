"""What a query body asks for, as data: the records of one kind that match, and how a filter
on one kind narrows another (`plan`); the sub-filters no archived record can answer
(`unanswerable`); and the facts a store may use to choose an index (`narrowing`).

A `Match` reads "records of `kind` that pass every one of `filters` and, for each link, have
a related record (by `link.relation`) that matches `link.match`". It mirrors the EXISTS
subqueries and joins of Prefect 3.9.1's `models.*._apply_*_filters`; `Match.predicate()`
evaluates it on a record with the caller's `Follow` lookup, so storage decides how to fetch.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum, StrEnum
from typing import Any

from queries.bodies import (
    Body,
    DeploymentCountBody,
    FlowCountBody,
    FlowRunCountBody,
    TaskRunCountBody,
)
from queries.filters import (
    DeploymentFilter,
    FilterModel,
    FlowFilter,
    FlowRunFilter,
    Operator,
    OperatorFilterModel,
    TaskRunFilter,
    TaskRunFilterFlowRunId,
    WorkPoolFilter,
)
from queries.records import Follow, Predicate, Record, Relation, UnanswerableFilter


class Kind(StrEnum):
    FLOW_RUN = "flow_run"
    TASK_RUN = "task_run"
    FLOW = "flow"
    DEPLOYMENT = "deployment"


@dataclass(frozen=True)
class Link:
    relation: Relation
    match: "Match"


@dataclass(frozen=True)
class Match:
    kind: Kind
    filters: tuple[FilterModel, ...] = ()
    links: tuple[Link, ...] = ()

    def predicate(self) -> Predicate:
        own = [model.predicate() for model in self.filters]
        related = [(link.relation, link.match.predicate()) for link in self.links]

        def matches(record: Record, follow: Follow) -> bool:
            return all(condition(record, follow) for condition in own) and all(
                any(condition(other, follow) for other in follow(relation, record))
                for relation, condition in related
            )

        return matches


def _present(*models: FilterModel | None) -> tuple[FilterModel, ...]:
    # Prefect tests each filter with `if filter:`, and a pydantic model is always truthy:
    # a given filter counts even when empty (`"deployments": {}` keeps only flow runs that
    # have a deployment).
    return tuple(model for model in models if model is not None)


def _task_runs_of(task_runs: TaskRunFilter | None) -> tuple[Link, ...]:
    if task_runs is None:
        return ()
    return (Link(Relation.TASK_RUNS, Match(Kind.TASK_RUN, (task_runs,))),)


def _flow_run_links(
    flows: FlowFilter | None, deployments: DeploymentFilter | None
) -> tuple[Link, ...]:
    links = []
    if flows is not None:
        links.append(Link(Relation.FLOW, Match(Kind.FLOW, (flows,))))
    if deployments is not None:
        links.append(Link(Relation.DEPLOYMENT, Match(Kind.DEPLOYMENT, (deployments,))))
    return tuple(links)


def _flow_runs_plan(body: FlowRunCountBody) -> Match:
    return Match(
        Kind.FLOW_RUN,
        _present(body.flow_runs, body.work_pools, body.work_pool_queues),
        _flow_run_links(body.flows, body.deployments) + _task_runs_of(body.task_runs),
    )


def _task_runs_plan(body: TaskRunCountBody) -> Match:
    flow_runs = body.flow_runs
    if (
        flow_runs is not None
        and flow_runs.only_filters_on_id()
        and flow_runs.id is not None
        and body.flows is None
        and body.deployments is None
    ):
        # Prefect's shortcut: `task_run.flow_run_id IN (...)`, no join with the flow run.
        by_flow_run = TaskRunFilterFlowRunId(any_=flow_runs.id.any_)
        return Match(Kind.TASK_RUN, _present(body.task_runs, by_flow_run))
    links: tuple[Link, ...] = ()
    if flow_runs is not None or body.flows is not None or body.deployments is not None:
        flow_run = Match(
            Kind.FLOW_RUN, _present(flow_runs), _flow_run_links(body.flows, body.deployments)
        )
        links = (Link(Relation.FLOW_RUN, flow_run),)
    return Match(Kind.TASK_RUN, _present(body.task_runs), links)


def _flows_plan(body: FlowCountBody) -> Match:
    links = []
    if body.deployments is not None or body.work_pools is not None:
        deployment = Match(Kind.DEPLOYMENT, _present(body.deployments, body.work_pools))
        links.append(Link(Relation.DEPLOYMENTS_OF_FLOW, deployment))
    if body.flow_runs is not None or body.task_runs is not None:
        flow_run = Match(Kind.FLOW_RUN, _present(body.flow_runs), _task_runs_of(body.task_runs))
        links.append(Link(Relation.FLOW_RUNS_OF_FLOW, flow_run))
    return Match(Kind.FLOW, _present(body.flows), tuple(links))


def _deployments_plan(body: DeploymentCountBody) -> Match:
    links = []
    if body.flows is not None:
        links.append(Link(Relation.FLOW, Match(Kind.FLOW, (body.flows,))))
    if body.flow_runs is not None or body.task_runs is not None:
        flow_run = Match(Kind.FLOW_RUN, _present(body.flow_runs), _task_runs_of(body.task_runs))
        links.append(Link(Relation.FLOW_RUNS_OF_DEPLOYMENT, flow_run))
    return Match(
        Kind.DEPLOYMENT,
        _present(body.deployments, body.work_pool_queues, body.work_pools),
        tuple(links),
    )


def kind_of(body: Body) -> Kind:
    if isinstance(body, FlowRunCountBody):
        return Kind.FLOW_RUN
    if isinstance(body, TaskRunCountBody):
        return Kind.TASK_RUN
    if isinstance(body, DeploymentCountBody):
        return Kind.DEPLOYMENT
    if isinstance(body, FlowCountBody):
        return Kind.FLOW
    raise TypeError(f"not a query body: {type(body).__name__}")


@dataclass(frozen=True)
class Unanswerable:
    """A sub-filter the archived records cannot answer exactly, where it sits in the body."""

    loc: tuple[str, ...]
    input: Any
    reason: str

    def error(self) -> dict[str, Any]:
        """As an entry of a 422's `exception_detail`, in pydantic's shape."""
        return {
            "type": "unanswerable_filter",
            "loc": ["body", *self.loc],
            "msg": f"{'.'.join(self.loc)} cannot be answered from archived records: {self.reason}",
            "input": self.input,
        }


def unanswerable(body: Body) -> list[Unanswerable]:
    """The sub-filters of `body` that the archived records cannot answer exactly.

    A work pool's type is on no record. A work pool's id is on a flow run's record
    (`work_pool_id`) but not on a deployment's, and a flow reaches work pools only through
    its deployments. Everything else a body can say is read from the four record kinds.
    """
    pools: WorkPoolFilter | None = getattr(body, "work_pools", None)
    if pools is None:
        return []
    found = []
    if pools.type is not None and pools.type.any_ is not None:
        found.append(
            Unanswerable(
                ("work_pools", "type", "any_"),
                pools.type.any_,
                "a work pool's type is on no archived record",
            )
        )
    if kind_of(body) is not Kind.FLOW_RUN and pools.id is not None and pools.id.any_ is not None:
        found.append(
            Unanswerable(
                ("work_pools", "id", "any_"),
                [str(pool_id) for pool_id in pools.id.any_],
                "a deployment's record names its work pool but not the pool's id",
            )
        )
    return found


def plan(body: Body) -> Match:
    """The records `body` asks for. Raises `UnanswerableFilter` where `unanswerable(body)`
    names anything: check that first and answer the 422."""
    if problems := unanswerable(body):
        raise UnanswerableFilter(", ".join(".".join(problem.loc) for problem in problems))
    match kind_of(body):
        case Kind.FLOW_RUN:
            assert isinstance(body, FlowRunCountBody)
            return _flow_runs_plan(body)
        case Kind.TASK_RUN:
            assert isinstance(body, TaskRunCountBody)
            return _task_runs_plan(body)
        case Kind.DEPLOYMENT:
            assert isinstance(body, DeploymentCountBody)
            return _deployments_plan(body)
        case Kind.FLOW:
            assert isinstance(body, FlowCountBody)
            return _flows_plan(body)


# Narrowing facts.


@dataclass(frozen=True)
class TimeRange:
    """Inclusive bounds on one date-time column; None is unbounded."""

    after: datetime | None = None
    before: datetime | None = None

    def intersect(self, other: "TimeRange") -> "TimeRange":
        afters = [bound for bound in (self.after, other.after) if bound is not None]
        befores = [bound for bound in (self.before, other.before) if bound is not None]
        return TimeRange(max(afters, default=None), min(befores, default=None))


START_TIME_OR_EXPECTED = "coalesce(start_time, expected_start_time)"
"""The column a flow run's `start_time` filter bounds."""


@dataclass(frozen=True)
class Narrowing:
    """What every record a body matches must satisfy, on its own fields: facts a store may
    use to read fewer records. None (or empty, for `tags_all` and `times`) constrains nothing;
    an empty set matches nothing. Each fact is implied by the whole body (no fact is taken
    from under an `or_`), so reading only the records it allows loses no match; the plan's
    predicate must still be applied to every record read.

    `times` is keyed by column: `start_time`, `expected_start_time`, `end_time`,
    `next_scheduled_start_time`, or `START_TIME_OR_EXPECTED` for a flow run's start time.
    """

    ids: frozenset[str] | None = None
    flow_ids: frozenset[str] | None = None
    deployment_ids: frozenset[str] | None = None
    flow_run_ids: frozenset[str] | None = None
    parent_task_run_ids: frozenset[str] | None = None
    names: frozenset[str] | None = None
    state_types: frozenset[str] | None = None
    work_queue_names: frozenset[str] | None = None
    tags_all: frozenset[str] = frozenset()
    tags_any: frozenset[str] | None = None
    times: Mapping[str, TimeRange] = field(default_factory=dict)


def _conjuncts(model: FilterModel | None) -> list[FilterModel]:
    """The parts of a filter that every match satisfies: all its given sub-filters, unless
    it combines more than one condition with `or_`."""
    if model is None:
        return []
    is_or = isinstance(model, OperatorFilterModel) and model.operator is Operator.or_
    if is_or and len(model._conditions()) > 1:
        return []
    return [model]


def _implied(parent: FilterModel | None, name: str) -> Any:
    """`parent.<name>` where every match of the parent satisfies it, else None."""
    for model in _conjuncts(parent):
        part = getattr(model, name)
        if part is not None and _conjuncts(part):
            return part
    return None


class _Facts:
    def __init__(self) -> None:
        self.sets: dict[str, frozenset[str]] = {}
        self.tags_all: frozenset[str] = frozenset()
        self.times: dict[str, TimeRange] = {}

    def within(self, name: str, values: Iterable[Any] | None) -> None:
        if values is None:
            return
        allowed = frozenset(
            value.value if isinstance(value, Enum) else str(value) for value in values
        )
        self.sets[name] = self.sets[name] & allowed if name in self.sets else allowed

    def between(self, column: str, model: Any) -> None:
        if model is None or (model.after_ is None and model.before_ is None):
            return
        bounds = TimeRange(model.after_, model.before_)
        self.times[column] = (
            self.times[column].intersect(bounds) if column in self.times else bounds
        )

    def narrowing(self) -> Narrowing:
        return Narrowing(
            tags_all=self.tags_all,
            times=self.times,
            **self.sets,
        )


def _tag_facts(facts: _Facts, tags: Any) -> None:
    if tags is None:
        return
    if tags.all_:  # Prefect ignores an empty `all_`
        facts.tags_all |= frozenset(tags.all_)
    facts.within("tags_any", getattr(tags, "any_", None))  # task runs and flows have none


def _any_of(model: Any) -> Any:
    return None if model is None else model.any_


def _flow_run_facts(facts: _Facts, flow_runs: FlowRunFilter | None, id_field: str) -> None:
    """What a flow run filter implies, its id as the record's `id_field`."""
    identity = _implied(flow_runs, "id")
    facts.within(id_field, _any_of(identity))
    if id_field != "ids":
        return
    facts.within("names", _any_of(_implied(flow_runs, "name")))
    facts.within("deployment_ids", _any_of(_implied(flow_runs, "deployment_id")))
    facts.within("work_queue_names", _any_of(_implied(flow_runs, "work_queue_name")))
    facts.within("parent_task_run_ids", _any_of(_implied(flow_runs, "parent_task_run_id")))
    state = _implied(flow_runs, "state")
    facts.within("state_types", _any_of(_implied(state, "type")))
    _tag_facts(facts, _implied(flow_runs, "tags"))
    facts.between(START_TIME_OR_EXPECTED, _implied(flow_runs, "start_time"))
    facts.between("expected_start_time", _implied(flow_runs, "expected_start_time"))
    facts.between("end_time", _implied(flow_runs, "end_time"))
    facts.between("next_scheduled_start_time", _implied(flow_runs, "next_scheduled_start_time"))


def _task_run_facts(facts: _Facts, task_runs: TaskRunFilter | None) -> None:
    facts.within("ids", _any_of(_implied(task_runs, "id")))
    facts.within("names", _any_of(_implied(task_runs, "name")))
    state = _implied(task_runs, "state")
    facts.within("state_types", _any_of(_implied(state, "type")))
    _tag_facts(facts, _implied(task_runs, "tags"))
    flow_run_id = _implied(task_runs, "flow_run_id")
    if isinstance(flow_run_id, TaskRunFilterFlowRunId) and flow_run_id.is_null_ is not True:
        facts.within("flow_run_ids", flow_run_id.any_)
    facts.between("start_time", _implied(task_runs, "start_time"))
    facts.between("expected_start_time", _implied(task_runs, "expected_start_time"))
    facts.between("end_time", _implied(task_runs, "end_time"))


def _named_facts(facts: _Facts, model: FlowFilter | DeploymentFilter | None) -> None:
    facts.within("ids", _any_of(_implied(model, "id")))
    facts.within("names", _any_of(_implied(model, "name")))
    _tag_facts(facts, _implied(model, "tags"))


def narrowing(body: Body) -> Narrowing:
    """Facts about the matching records' own fields, for choosing an index."""
    facts = _Facts()
    flows: FlowFilter | None = getattr(body, "flows", None)
    flow_runs: FlowRunFilter | None = getattr(body, "flow_runs", None)
    flow_ids = _any_of(_implied(flows, "id"))
    match kind_of(body):
        case Kind.FLOW_RUN:
            _flow_run_facts(facts, flow_runs, "ids")
            facts.within("flow_ids", flow_ids)
            deployments: DeploymentFilter | None = getattr(body, "deployments", None)
            facts.within("deployment_ids", _any_of(_implied(deployments, "id")))
        case Kind.TASK_RUN:
            _task_run_facts(facts, getattr(body, "task_runs", None))
            _flow_run_facts(facts, flow_runs, "flow_run_ids")
        case Kind.FLOW:
            _named_facts(facts, flows)
        case Kind.DEPLOYMENT:
            _named_facts(facts, getattr(body, "deployments", None))
            facts.within("flow_ids", flow_ids)
    return facts.narrowing()
