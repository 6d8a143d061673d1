"""Prefect 3.9.1's record queries and their meaning on archived records: pure, no I/O.

The archive keeps each flow run, task run, flow and deployment as the JSON Prefect served for
it. This package says which of those records a query body selects and in what order, exactly
as Prefect 3.9.1 on SQLite would on the same data; storage decides how to fetch them.

How a route uses it::

    body = parse_body(Route.FLOW_RUNS_FILTER, json_body)   # InvalidLimit / BodyInvalid
    if problems := unanswerable(body):                      # 422 naming each sub-filter
        ...  [problem.error() for problem in problems]
    match = plan(body)                  # records of kind_of(body) that match, as data
    facts = narrowing(body)             # ids, flow ids, state types, tags, time ranges...
    candidates = storage.read(kind_of(body), facts)        # a superset of the matches
    predicate = match.predicate()
    found = [r for r in candidates if predicate(r, follow)]
    page = sort_records(found, body.sort, now)[body.offset : body.offset + body.limit]

Interface:

- `bodies`: `parse_body(route, data)`, `Route`, the body models (`FlowRunFilterBody`,
  `FlowRunCountBody`, `FlowRunPaginateBody` with `.offset`, `TaskRunFilterBody`,
  `TaskRunCountBody`, `FlowFilterBody`, `FlowCountBody`, `DeploymentFilterBody`,
  `DeploymentCountBody`), `InvalidLimit` (`.detail`: Prefect's `{"detail": ...}` 422),
  `BodyInvalid` (`.errors`: pydantic's errors, `loc` from "body"), `pages(count, limit)`,
  `DEFAULT_LIMIT`.
- `filters`: Prefect's filter models (`FlowRunFilter`, `TaskRunFilter`, `FlowFilter`,
  `DeploymentFilter`, `WorkPoolFilter`, `WorkQueueFilter` and their parts), each with
  `predicate() -> Predicate`: the one place its meaning lives.
- `plan`: `plan(body) -> Match` (`Match(kind, filters, links)`, `Link(relation, match)`,
  `Match.predicate()`), `kind_of(body) -> Kind`, `unanswerable(body) -> [Unanswerable]`,
  `narrowing(body) -> Narrowing` (with `TimeRange`, `START_TIME_OR_EXPECTED`).
- `sorting`: `FlowRunSort`, `TaskRunSort`, `FlowSort`, `DeploymentSort`; `order_by(sort)`
  as data (`OrderBy(column, descending)`), `order_key(sort, now)` and
  `sort_records(records, sort, now)`: Prefect's order, SQLite's NULL placement, ties by id.
- `records`: `Record` (a served record, parsed JSON), `Relation` (the ways from one record to
  others), `Follow` (the caller's lookup: `follow(relation, record) -> Iterable[Record]`),
  `Predicate`, `UnanswerableFilter`.
- `datetimes`: `DateTime` (a filter bound, read as Prefect reads it), `instant(text)`.

The caller's `follow` must answer every `Relation` a plan or filter can use: `FLOW`,
`DEPLOYMENT`, `FLOW_RUN`, `PARENT_TASK_RUN` (to-one: at most one record), and `TASK_RUNS`,
`SUBFLOW_RUNS`, `FLOW_RUNS_OF_FLOW`, `FLOW_RUNS_OF_DEPLOYMENT`, `DEPLOYMENTS_OF_FLOW`.
"""

from queries.bodies import (
    DEFAULT_LIMIT,
    BodyInvalid,
    InvalidLimit,
    Route,
    pages,
    parse_body,
)
from queries.plan import (
    Kind,
    Link,
    Match,
    Narrowing,
    TimeRange,
    Unanswerable,
    kind_of,
    narrowing,
    plan,
    unanswerable,
)
from queries.records import Follow, Predicate, Record, Relation, UnanswerableFilter
from queries.sorting import order_by, order_key, sort_records

__all__ = [
    "DEFAULT_LIMIT",
    "BodyInvalid",
    "Follow",
    "InvalidLimit",
    "Kind",
    "Link",
    "Match",
    "Narrowing",
    "Predicate",
    "Record",
    "Relation",
    "Route",
    "TimeRange",
    "Unanswerable",
    "UnanswerableFilter",
    "kind_of",
    "narrowing",
    "order_by",
    "order_key",
    "pages",
    "parse_body",
    "plan",
    "sort_records",
    "unanswerable",
]
