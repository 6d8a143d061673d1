"""The archived records on DynamoDB (storage/records.py) and their routes: each query read
through the index chosen for it, answers equal to `queries`' own evaluation in memory,
retention, and the routes' bodies as the contract's section "Archived runs" gives them."""

import json
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.settings import Settings
from queries import Kind, Route, parse_body
from storage.record_items import RecordToStore
from storage.records import QUERY_PAGE_LIMIT, DynamoDBRecordStore
from tests.helpers import SettableClock
from tests.test_queries import NOW, Archive, deployment, flow, flow_run, task_run, uid

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class Reads:
    """The DynamoDB calls a store makes: each operation, and the index and the item limit
    (None: none) of each Query."""

    def __init__(self) -> None:
        self.operations: Counter[str] = Counter()
        self.indexes: Counter[str] = Counter()
        self.limits: list[int | None] = []

    def record(self, model: Any, params: dict[str, Any], **kwargs: Any) -> None:
        """On botocore's `provide-client-params`: the call's own parameters."""
        self.operations[model.name] += 1
        if model.name == "Query":
            self.indexes[params["IndexName"]] += 1
            self.limits.append(params.get("Limit"))

    def clear(self) -> None:
        self.operations.clear()
        self.indexes.clear()
        self.limits.clear()


@pytest.fixture
def reads(dynamodb: "DynamoDBClient") -> Iterator[Reads]:
    counted = Reads()
    dynamodb.meta.events.register("provide-client-params.dynamodb", counted.record)
    yield counted
    dynamodb.meta.events.unregister("provide-client-params.dynamodb", counted.record)


@pytest.fixture
def store(dynamodb: "DynamoDBClient", clock: SettableClock) -> DynamoDBRecordStore:
    clock.now = NOW
    return DynamoDBRecordStore(Settings().record_table_names(), dynamodb, clock)


# DynamoDB Local is one database for the session: each test's records have ids of its own.
_next = iter(range(10_000, 10**9, 1_000))


def ids_base() -> int:
    return next(_next)


def archive_of(store: DynamoDBRecordStore, *records: tuple[Kind, dict[str, Any]]) -> Archive:
    """The records stored, and the same in memory, `queries`' reference."""
    for kind, record in records:
        store.put_records(kind, [RecordToStore(json.dumps(record))])
    return Archive(*records)


def ids_found(store: DynamoDBRecordStore, route: Route, body: dict[str, Any]) -> list[str]:
    return [json.loads(text)["id"] for text in store.find(parse_body(route, body))]


def day(n: int) -> str:
    return (datetime(2024, 1, 1, tzinfo=UTC) + timedelta(days=n)).isoformat()


def sample(store: DynamoDBRecordStore) -> tuple[Archive, int]:
    base = ids_base()
    flows = [flow(base + 1, f"flow-{base}-a"), flow(base + 2, f"flow-{base}-b")]
    deploy = deployment(base + 3, f"dep-{base}", uid(base + 1))
    runs = [
        flow_run(
            base + 10 + n,
            f"run-{n}",
            uid(base + 1 + n % 2),
            state_type=("FAILED", "COMPLETED", "RUNNING")[n % 3],
            expected_start_time=day(n * 7),
            start_time=None if n % 4 == 0 else day(n * 7 + 1),
            deployment_id=uid(base + 3) if n % 5 == 0 else None,
            tags=[f"t{base}-{n % 3}"] + ([f"u{base}"] if n % 2 else []),
        )
        for n in range(30)
    ]
    tasks = [
        task_run(base + 100 + n, f"task-{n}", uid(base + 10 + n % 3), expected_start_time=day(n))
        for n in range(12)
    ]
    records = [(Kind.FLOW, f) for f in flows] + [(Kind.DEPLOYMENT, deploy)]
    records += [(Kind.FLOW_RUN, r) for r in runs] + [(Kind.TASK_RUN, t) for t in tasks]
    return archive_of(store, *records), base


def test_a_record_is_served_back_byte_for_byte(store: DynamoDBRecordStore) -> None:
    base = ids_base()
    text = f'{{"id": "{uid(base)}", "name": "x", "tags": [], "n": 1.10, "created": null}}'
    store.put_records(Kind.FLOW, [RecordToStore(text)])
    assert store.read(store_table(Kind.FLOW), uid(base)) == text
    assert store.read(store_table(Kind.FLOW), uid(base + 1)) is None


def store_table(kind: Kind) -> Any:
    from storage.record_plans import TABLES

    return TABLES[kind]


@pytest.mark.parametrize(
    ("route", "body", "index"),
    [
        (Route.FLOW_RUNS_FILTER, {"flows": {"id": {"any_": ["{f}"]}}}, "by-flow"),
        (
            Route.FLOW_RUNS_FILTER,
            {"flow_runs": {"deployment_id": {"any_": ["{d}"]}}},
            "by-deployment",
        ),
        (Route.FLOW_RUNS_FILTER, {"flow_runs": {"tags": {"any_": ["t{base}-1"]}}}, "by-tag"),
        (
            Route.FLOW_RUNS_FILTER,
            {"flow_runs": {"tags": {"all_": ["t{base}-1", "u{base}"]}}},
            "by-tag",
        ),
        (
            Route.FLOW_RUNS_FILTER,
            {
                "flow_runs": {"state": {"type": {"any_": ["FAILED"]}}},
                "flows": {"name": {"like_": "{base}"}},
            },
            "by-state",
        ),
        (
            Route.FLOW_RUNS_FILTER,
            {
                "flow_runs": {
                    "start_time": {
                        "after_": "2024-02-01T00:00:00Z",
                        "before_": "2024-03-01T00:00:00Z",
                    }
                },
                "flows": {"name": {"like_": "{base}"}},
            },
            "by-start-month",
        ),
        (
            Route.FLOW_RUNS_FILTER,
            {"flows": {"name": {"like_": "{base}"}}, "sort": "EXPECTED_START_TIME_DESC"},
            "by-expected-month",
        ),
        (
            Route.FLOW_RUNS_FILTER,
            {"flows": {"name": {"like_": "{base}"}}, "sort": "ID_DESC"},
            "by-id",
        ),
        (Route.TASK_RUNS_FILTER, {"flow_runs": {"id": {"any_": ["{r}"]}}}, "by-flow-run"),
        (
            Route.TASK_RUNS_FILTER,
            {
                "task_runs": {"state": {"type": {"any_": ["COMPLETED"]}}},
                "flows": {"name": {"like_": "{base}"}},
            },
            "by-state",
        ),
        (Route.DEPLOYMENTS_FILTER, {"flows": {"id": {"any_": ["{f}"]}}}, "by-flow"),
        (Route.FLOWS_FILTER, {"flows": {"name": {"any_": ["flow-{base}-a"]}}}, "by-name"),
    ],
)
def test_each_query_reads_the_index_chosen_for_it_and_answers_as_queries_does(
    store: DynamoDBRecordStore, reads: Reads, route: Route, body: dict[str, Any], index: str
) -> None:
    archive, base = sample(store)
    text = json.dumps(body).replace("{f}", uid(base + 1)).replace("{d}", uid(base + 3))
    text = text.replace("{r}", uid(base + 10)).replace("{base}", str(base))
    concrete = json.loads(text)
    reads.clear()
    found = ids_found(store, route, concrete)
    assert found == archive.answer(route, concrete)
    assert found  # each query here matches something
    assert "Scan" not in reads.operations
    assert set(reads.indexes) == {index}
    assert reads.indexes[index] >= 1


def test_ids_are_read_by_batch_get_item_not_by_query(
    store: DynamoDBRecordStore, reads: Reads
) -> None:
    archive, base = sample(store)
    body = {"flow_runs": {"id": {"any_": [uid(base + 10), uid(base + 11), uid(base + 999)]}}}
    reads.clear()
    assert ids_found(store, Route.FLOW_RUNS_FILTER, body) == archive.answer(
        Route.FLOW_RUNS_FILTER, body
    )
    assert reads.operations == Counter({"BatchGetItem": 1})


def test_reading_stops_once_the_page_is_found_where_the_index_is_in_the_sorts_order(
    store: DynamoDBRecordStore, reads: Reads
) -> None:
    base = ids_base()
    runs = [
        flow_run(base + n, f"r{n}", uid(base), expected_start_time=day(n), state_type="FAILED")
        for n in range(1, 1201)
    ]
    for start in range(0, len(runs), 300):
        store.put_records(
            Kind.FLOW_RUN, [RecordToStore(json.dumps(r)) for r in runs[start : start + 300]]
        )
    archive = Archive(*((Kind.FLOW_RUN, r) for r in runs), (Kind.FLOW, flow(base, "f")))
    store.put_records(Kind.FLOW, [RecordToStore(json.dumps(flow(base, "f")))])
    body = {"flows": {"id": {"any_": [uid(base)]}}, "sort": "EXPECTED_START_TIME_DESC", "limit": 5}
    reads.clear()
    assert ids_found(store, Route.FLOW_RUNS_FILTER, body) == archive.answer(
        Route.FLOW_RUNS_FILTER, body
    )
    # One Query page (the index's newest first) of the flow's 1,200 runs, not all of them,
    # holding the page and the next run (which tells whether it ties with the page's last).
    assert reads.indexes == Counter({"by-flow": 1})
    assert reads.limits == [6]
    # Where few of the runs read match, the first Query's 6 runs are not enough: the next
    # Queries ask for full pages.
    reads.clear()
    few = {**body, "flow_runs": {"name": {"like_": "r5"}}}
    assert ids_found(store, Route.FLOW_RUNS_FILTER, few) == archive.answer(
        Route.FLOW_RUNS_FILTER, few
    )
    assert reads.limits[0] == 6
    assert reads.limits[1:] == [QUERY_PAGE_LIMIT] * (len(reads.limits) - 1) != []
    # Sorted otherwise (by name), every run of the flow is read: pages of at most 1 MB.
    reads.clear()
    by_name = {**body, "sort": "NAME_ASC"}
    assert ids_found(store, Route.FLOW_RUNS_FILTER, by_name) == archive.answer(
        Route.FLOW_RUNS_FILTER, by_name
    )
    assert reads.indexes["by-flow"] >= 1


def test_a_count_the_index_answers_alone_is_a_select_count(
    store: DynamoDBRecordStore, dynamodb: "DynamoDBClient"
) -> None:
    archive, base = sample(store)
    selects: list[str] = []

    def record(params: dict[str, Any], **kwargs: Any) -> None:
        selects.append(params.get("Select", "ALL"))

    dynamodb.meta.events.register("provide-client-params.dynamodb.Query", record)
    try:
        body = {"flow_runs": {"state": {"type": {"any_": ["FAILED"]}}}}
        # The whole table's FAILED runs (other tests' too, on DynamoDB Local): a COUNT.
        assert store.count(parse_body(Route.FLOW_RUNS_COUNT, body)) >= 10
        assert selects
        assert set(selects) == {"COUNT"}
        selects.clear()
        narrowed = {**body, "flows": {"name": {"like_": str(base)}}}
        expected = len(archive.answer(Route.FLOW_RUNS_COUNT, narrowed))
        assert store.count(parse_body(Route.FLOW_RUNS_COUNT, narrowed)) == expected == 10
        assert "COUNT" not in selects  # a residual predicate: the matches are counted
    finally:
        dynamodb.meta.events.unregister("provide-client-params.dynamodb.Query", record)


def test_a_record_is_served_while_its_run_has_a_state_and_absent_everywhere_after(
    store: DynamoDBRecordStore, clock: SettableClock
) -> None:
    base = ids_base()
    run = flow_run(base, "kept-a-while", uid(base + 1), tags=[f"t{base}"], state_type="FAILED")
    expires = NOW + timedelta(days=1)
    store.put_records(Kind.FLOW_RUN, [RecordToStore(json.dumps(run), expires)])
    by_tag = {"flow_runs": {"tags": {"any_": [f"t{base}"]}}}
    by_id = {"flow_runs": {"id": {"any_": [uid(base)]}}}
    assert ids_found(store, Route.FLOW_RUNS_FILTER, by_tag) == [uid(base)]
    clock.now = expires
    assert store.read(store_table(Kind.FLOW_RUN), uid(base)) is None
    assert ids_found(store, Route.FLOW_RUNS_FILTER, by_tag) == []
    assert ids_found(store, Route.FLOW_RUNS_FILTER, by_id) == []
    assert store.count(parse_body(Route.FLOW_RUNS_COUNT, by_tag)) == 0


def test_put_records_is_idempotent_and_a_new_copy_drops_the_tags_it_lost(
    store: DynamoDBRecordStore, dynamodb: "DynamoDBClient"
) -> None:
    base = ids_base()
    run = flow_run(base, "r", uid(base + 1), tags=[f"a{base}", f"b{base}"])
    for _ in range(2):
        store.put_records(Kind.FLOW_RUN, [RecordToStore(json.dumps(run))])
    assert (
        store.count(parse_body(Route.FLOW_RUNS_COUNT, {"flow_runs": {"id": {"any_": [uid(base)]}}}))
        == 1
    )
    assert ids_found(
        store, Route.FLOW_RUNS_FILTER, {"flow_runs": {"tags": {"any_": [f"a{base}", f"b{base}"]}}}
    ) == [uid(base)]
    changed = {**run, "tags": [f"b{base}"], "state_type": "FAILED"}
    store.put_records(Kind.FLOW_RUN, [RecordToStore(json.dumps(changed))])
    assert (
        ids_found(store, Route.FLOW_RUNS_FILTER, {"flow_runs": {"tags": {"any_": [f"a{base}"]}}})
        == []
    )
    assert store.read(store_table(Kind.FLOW_RUN), uid(base)) == json.dumps(changed)
    stale = dynamodb.get_item(
        TableName=Settings().record_table_names()[store_table(Kind.FLOW_RUN)],
        Key={"id": {"S": f"#tag:{uid(base)}:a{base}"}},
    )
    assert "Item" not in stale


def test_a_record_over_the_item_limit_is_named_and_the_rest_stored(
    store: DynamoDBRecordStore,
) -> None:
    base = ids_base()
    small, large = flow(base, "small"), flow(base + 1, "large", description="x" * 420_000)
    skipped = store.put_records(
        Kind.FLOW, [RecordToStore(json.dumps(small)), RecordToStore(json.dumps(large))]
    )
    assert skipped == [uid(base + 1)]
    assert store.read(store_table(Kind.FLOW), uid(base)) is not None


# --- the difference from `queries`' own evaluation, over generated archives -------------

_STATES = ("COMPLETED", "FAILED", "RUNNING", "SCHEDULED")
_SORTS = (
    "ID_DESC",
    "START_TIME_ASC",
    "START_TIME_DESC",
    "EXPECTED_START_TIME_ASC",
    "EXPECTED_START_TIME_DESC",
    "NAME_ASC",
    "NAME_DESC",
    "END_TIME_DESC",
)


@st.composite
def generated_runs(draw: st.DrawFn) -> list[dict[str, Any]]:
    count = draw(st.integers(0, 25))
    runs = []
    for n in range(count):
        runs.append(
            {
                "n": n,
                "name": draw(st.sampled_from(["a", "b", "ab", "B"])),
                "flow": draw(st.integers(0, 2)),
                "state_type": draw(st.sampled_from(_STATES)),
                "expected": draw(st.integers(0, 90)),
                "start": draw(st.none() | st.integers(0, 90)),
                "end": draw(st.none() | st.integers(0, 90)),
                "tags": draw(st.lists(st.sampled_from(["x", "y", "z"]), max_size=2)),
            }
        )
    return runs


@st.composite
def generated_bodies(draw: st.DrawFn) -> dict[str, Any]:
    flow_runs: dict[str, Any] = {}
    if draw(st.booleans()):
        flow_runs["state"] = {
            "type": {"any_": draw(st.lists(st.sampled_from(_STATES), min_size=1, max_size=2))}
        }
    if draw(st.booleans()):
        flow_runs["tags"] = {
            draw(st.sampled_from(["any_", "all_"])): draw(
                st.lists(st.sampled_from(["x", "y", "z"]), min_size=1, max_size=2)
            )
        }
    if draw(st.booleans()):
        low = draw(st.integers(0, 90))
        flow_runs[draw(st.sampled_from(["start_time", "expected_start_time"]))] = {
            "after_": day(low),
            "before_": day(low + draw(st.integers(0, 40))),
        }
    if draw(st.booleans()):
        flow_runs["name"] = {"like_": draw(st.sampled_from(["a", "b"]))}
    body: dict[str, Any] = {"flow_runs": flow_runs} if flow_runs else {}
    if draw(st.booleans()):
        body["flows"] = {"id": {"any_": ["{flow0}"]}}
    body["sort"] = draw(st.sampled_from(_SORTS))
    body["limit"] = draw(st.integers(0, 8))
    body["offset"] = draw(st.integers(0, 5))
    return body


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(runs=generated_runs(), bodies=st.lists(generated_bodies(), min_size=1, max_size=4))
def test_the_store_answers_as_queries_evaluates_in_memory(
    store: DynamoDBRecordStore, runs: list[dict[str, Any]], bodies: list[dict[str, Any]]
) -> None:
    base = ids_base()
    flows = [flow(base + 900 + n, f"f{n}") for n in range(3)]
    records = [(Kind.FLOW, f) for f in flows[:2]]  # flow 2's runs have no archived flow
    for run in runs:
        records.append(
            (
                Kind.FLOW_RUN,
                flow_run(
                    base + run["n"],
                    run["name"],
                    flows[run["flow"]]["id"],
                    state_type=run["state_type"],
                    expected_start_time=day(run["expected"]),
                    start_time=None if run["start"] is None else day(run["start"]),
                    end_time=None if run["end"] is None else day(run["end"]),
                    tags=[f"{tag}{base}" for tag in run["tags"]],
                ),
            )
        )
    archive = archive_of(store, *records)
    for body in bodies:
        text = json.dumps(body).replace("{flow0}", flows[0]["id"])
        for tag in "xyz":
            text = text.replace(f'"{tag}"', f'"{tag}{base}"')
        # Confined to this example's runs (DynamoDB Local keeps every test's records).
        concrete = json.loads(text)
        ours = {"id": {"any_": [r["id"] for k, r in records if k is Kind.FLOW_RUN] or [uid(base)]}}
        scoped = {**concrete, "flow_runs": {**concrete.get("flow_runs", {}), **ours}}
        unscoped_ok = concrete.get("flows") is not None
        for candidate in (scoped, concrete) if unscoped_ok else (scoped,):
            assert ids_found(store, Route.FLOW_RUNS_FILTER, candidate) == archive.answer(
                Route.FLOW_RUNS_FILTER, candidate
            )
            count_body = {
                key: value
                for key, value in candidate.items()
                if key not in ("sort", "limit", "offset")
            }
            assert store.count(parse_body(Route.FLOW_RUNS_COUNT, count_body)) == len(
                archive.answer(Route.FLOW_RUNS_COUNT, count_body)
            )
