"""What the filters read: archived records, the relations between them, and a predicate's shape.

A record is the JSON object Prefect 3.9.1 served for a flow run, task run, flow or deployment
(`GET /api/flow_runs/{id}` and the like), parsed: ids as lower-case hyphenated strings,
date-times as ISO 8601 strings, `tags` as a list of strings.
"""

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any

from queries.datetimes import instant

type Record = Mapping[str, Any]


class Relation(StrEnum):
    """A way from one record to the records it is joined with in Prefect's queries.

    To-one relations give at most one record; the others, any number.
    """

    FLOW = "flow"
    """A flow run's or deployment's flow: the flow whose `id` is its `flow_id`."""
    DEPLOYMENT = "deployment"
    """A flow run's deployment: the deployment whose `id` is its `deployment_id`."""
    FLOW_RUN = "flow_run"
    """A task run's flow run: the flow run whose `id` is its `flow_run_id`."""
    PARENT_TASK_RUN = "parent_task_run"
    """A subflow run's parent task run: the task run whose `id` is its `parent_task_run_id`."""
    TASK_RUNS = "task_runs"
    """A flow run's task runs: the task runs whose `flow_run_id` is its `id`."""
    SUBFLOW_RUNS = "subflow_runs"
    """A task run's subflow runs: the flow runs whose `parent_task_run_id` is its `id`."""
    FLOW_RUNS_OF_FLOW = "flow_runs_of_flow"
    """A flow's runs: the flow runs whose `flow_id` is its `id`."""
    FLOW_RUNS_OF_DEPLOYMENT = "flow_runs_of_deployment"
    """A deployment's runs: the flow runs whose `deployment_id` is its `id`."""
    DEPLOYMENTS_OF_FLOW = "deployments_of_flow"
    """A flow's deployments: the deployments whose `flow_id` is its `id`."""


type Follow = Callable[[Relation, Record], Iterable[Record]]
"""The caller's lookup: the archived records a relation leads to from a record."""

type Predicate = Callable[[Record, Follow], bool]
"""A filter's meaning: whether a record matches, following relations where it must."""


def time_of(record: Record, field: str) -> datetime | None:
    """A record's date-time field as an aware datetime, None where it is null or absent."""
    value = record.get(field)
    return None if value is None else instant(value)


class UnanswerableFilter(Exception):
    """A sub-filter the archived records cannot answer exactly was about to be read.

    `queries.answerability.unanswerable` names such sub-filters before any record is read;
    this is the guard behind it, so that no filter is ever silently ignored.
    """
