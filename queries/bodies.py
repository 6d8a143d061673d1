"""The request bodies of Prefect 3.9.1's record queries, validated as Prefect validates them.

Prefect declares each body field as its own FastAPI `Body` parameter; these models hold the
same fields in the order Prefect reports their errors (`limit` first: it is read by a
dependency, which FastAPI resolves before the route's own fields). As on Prefect:

- a field that is null or absent takes its default; a key that is no field is ignored
  (`work_pool_queues` on `/flows/filter`, say); inside a filter an unknown key is
  `extra_forbidden`;
- `limit` defaults to 200; a valid integer below 0 or above 200 is answered, before anything
  else in the body is looked at, with a plain 422 `{"detail": "Invalid limit: ..."}`
  (`InvalidLimit`), not a validation error;
- a body that is not a JSON object reports every field as missing.

`parse_body(route, data)` is the one entry: it returns the body or raises `InvalidLimit` or
`BodyInvalid` (whose errors are pydantic's, each `loc` starting with "body", as Prefect's).
"""

from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator
from pydantic_core import ErrorDetails

from queries.filters import (
    DeploymentFilter,
    FlowFilter,
    FlowRunFilter,
    TaskRunFilter,
    WorkPoolFilter,
    WorkQueueFilter,
)
from queries.sorting import DeploymentSort, FlowRunSort, FlowSort, TaskRunSort

DEFAULT_LIMIT = 200
"""Prefect's `PREFECT_SERVER_API_DEFAULT_LIMIT`: the default and the most a page may hold."""

Offset = Annotated[int, Field(ge=0)]
Page = Annotated[int, Field(ge=1)]


class Body(BaseModel):
    model_config: ClassVar[ConfigDict] = ConfigDict(extra="ignore")

    @model_validator(mode="before")
    @classmethod
    def _null_is_default(cls, data: Any) -> Any:
        # FastAPI gives a Body parameter its default where the body holds null for it.
        if isinstance(data, Mapping):
            return {key: value for key, value in data.items() if value is not None}
        return data


# Each body lists Prefect's parameters in Prefect's order. Pydantic orders the fields of a
# class with several bases from the last base to the first, then its own.


class FlowRunCountBody(Body):
    """`POST /api/flow_runs/count`."""

    flows: FlowFilter | None = None
    flow_runs: FlowRunFilter | None = None
    task_runs: TaskRunFilter | None = None
    deployments: DeploymentFilter | None = None
    work_pools: WorkPoolFilter | None = None
    work_pool_queues: WorkQueueFilter | None = None


class _FlowRunPage(Body):
    limit: int = DEFAULT_LIMIT
    sort: FlowRunSort = FlowRunSort.ID_DESC
    offset: Offset = 0


class FlowRunFilterBody(FlowRunCountBody, _FlowRunPage):
    """`POST /api/flow_runs/filter`."""


class _FlowRunNumberedPage(Body):
    limit: int = DEFAULT_LIMIT
    sort: FlowRunSort = FlowRunSort.ID_DESC
    page: Page = 1


class FlowRunPaginateBody(FlowRunCountBody, _FlowRunNumberedPage):
    """`POST /api/flow_runs/paginate`."""

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.limit


class TaskRunCountBody(Body):
    """`POST /api/task_runs/count`."""

    flows: FlowFilter | None = None
    flow_runs: FlowRunFilter | None = None
    task_runs: TaskRunFilter | None = None
    deployments: DeploymentFilter | None = None


class _TaskRunPage(Body):
    limit: int = DEFAULT_LIMIT
    sort: TaskRunSort = TaskRunSort.ID_DESC
    offset: Offset = 0


class TaskRunFilterBody(TaskRunCountBody, _TaskRunPage):
    """`POST /api/task_runs/filter`."""


class _Page(Body):
    limit: int = DEFAULT_LIMIT
    offset: Offset = 0


class FlowCountBody(Body):
    """`POST /api/flows/count`."""

    flows: FlowFilter | None = None
    flow_runs: FlowRunFilter | None = None
    task_runs: TaskRunFilter | None = None
    deployments: DeploymentFilter | None = None
    work_pools: WorkPoolFilter | None = None


class _FlowOrder(Body):
    sort: FlowSort = FlowSort.NAME_ASC


class FlowFilterBody(_FlowOrder, FlowCountBody, _Page):
    """`POST /api/flows/filter`."""


class DeploymentCountBody(FlowCountBody):
    """`POST /api/deployments/count`."""

    work_pool_queues: WorkQueueFilter | None = None


class _DeploymentOrder(Body):
    sort: DeploymentSort = DeploymentSort.NAME_ASC


class DeploymentFilterBody(_DeploymentOrder, DeploymentCountBody, _Page):
    """`POST /api/deployments/filter`."""


class Route(StrEnum):
    """A record query route, by its path under /api."""

    FLOW_RUNS_FILTER = "/flow_runs/filter"
    FLOW_RUNS_COUNT = "/flow_runs/count"
    FLOW_RUNS_PAGINATE = "/flow_runs/paginate"
    TASK_RUNS_FILTER = "/task_runs/filter"
    TASK_RUNS_COUNT = "/task_runs/count"
    FLOWS_FILTER = "/flows/filter"
    FLOWS_COUNT = "/flows/count"
    DEPLOYMENTS_FILTER = "/deployments/filter"
    DEPLOYMENTS_COUNT = "/deployments/count"


BODIES: dict[Route, type[Body]] = {
    Route.FLOW_RUNS_FILTER: FlowRunFilterBody,
    Route.FLOW_RUNS_COUNT: FlowRunCountBody,
    Route.FLOW_RUNS_PAGINATE: FlowRunPaginateBody,
    Route.TASK_RUNS_FILTER: TaskRunFilterBody,
    Route.TASK_RUNS_COUNT: TaskRunCountBody,
    Route.FLOWS_FILTER: FlowFilterBody,
    Route.FLOWS_COUNT: FlowCountBody,
    Route.DEPLOYMENTS_FILTER: DeploymentFilterBody,
    Route.DEPLOYMENTS_COUNT: DeploymentCountBody,
}


class InvalidLimit(Exception):
    """Prefect's `HTTPException(422, detail=...)` for a limit out of range."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class BodyInvalid(Exception):
    """Prefect's request validation error: pydantic's errors, `loc` from "body"."""

    def __init__(self, errors: list[ErrorDetails]) -> None:
        super().__init__(errors)
        self.errors = errors


_INTEGER = TypeAdapter(int)


def _fields_in_error_order(body_type: type[Body]) -> list[str]:
    return list(body_type.model_fields)


def _check_limit(data: Mapping[str, Any]) -> None:
    """Prefect's `LimitBody` dependency, which runs before the route's fields are read."""
    try:
        limit = _INTEGER.validate_python(data.get("limit"))
    except ValidationError:
        return  # null, absent (the default) or not an integer: the full validation reports it
    if limit < 0:
        raise InvalidLimit("Invalid limit: must be greater than or equal to 0.")
    if limit > DEFAULT_LIMIT:
        raise InvalidLimit(f"Invalid limit: must be less than or equal to {DEFAULT_LIMIT}.")


def parse_body(route: Route, data: Any) -> Body:
    """The route's body from the parsed JSON `data`, or Prefect's error for it."""
    body_type = BODIES[route]
    if not isinstance(data, Mapping):
        raise BodyInvalid(
            [
                {"type": "missing", "loc": ("body", name), "msg": "Field required", "input": None}
                for name in _fields_in_error_order(body_type)
            ]
        )
    if "limit" in body_type.model_fields:
        _check_limit(data)
    try:
        # As FastAPI validates a body parameter: `from_attributes`, so that a list where a
        # filter object belongs is `model_attributes_type`, as on Prefect.
        return body_type.model_validate(data, from_attributes=True)
    except ValidationError as error:
        problems = error.errors(include_url=False)
        for problem in problems:
            problem["loc"] = ("body", *problem["loc"])
        raise BodyInvalid(problems) from None


def pages(count: int, limit: int) -> int:
    """`paginate`'s `pages`, as Prefect computes it (0 for a limit of 0)."""
    return (count + limit - 1) // limit if limit > 0 else 0
