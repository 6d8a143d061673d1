"""The archived records on DynamoDB: read by id, found and counted as Prefect's queries ask
(`queries`), and written by the importer (`put_records`). Every read is a GetItem, a
BatchGetItem or a Query on an index (storage/record_plans.py chooses which), never a Scan.
"""

import functools
import heapq
import itertools
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from queries import Kind, Match, Record, Relation, kind_of, order_by, order_key, plan
from queries.bodies import Body
from storage.batch import (
    BATCH_WRITE_ITEMS,
    chunks,
    write_batch,
)
from storage.dynamodb import translated_call
from storage.record_items import (
    RecordToStore,
    fits,
    months_of,
    record_items,
    tag_item_ids,
)
from storage.record_plans import TABLES, ById, IndexReading, KeyRange, Reading, choose
from storage.record_reader import RecordReader, live, now_text
from storage.table_shapes import (
    EXPIRES_AT,
    FLOW_RUNS,
    ID,
    MONTH_SETS,
    MONTHS_ITEM,
    RECORD,
    RecordIndex,
    RecordTable,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import WriteRequestTypeDef

    from storage.table_shapes import Item

# How many records a page of candidates holds: the records whose related records are fetched
# together (one BatchGetItem per relation and page).
CANDIDATE_PAGE = 100
# The most items one Query page asks for where reading may stop early.
QUERY_PAGE_LIMIT = 1_000

# The record a to-one relation leads to: its kind, and the field of the record naming its id.
_TO_ONE: Mapping[Relation, tuple[Kind, str]] = {
    Relation.FLOW: (Kind.FLOW, "flow_id"),
    Relation.DEPLOYMENT: (Kind.DEPLOYMENT, "deployment_id"),
    Relation.FLOW_RUN: (Kind.FLOW_RUN, "flow_run_id"),
    Relation.PARENT_TASK_RUN: (Kind.TASK_RUN, "parent_task_run_id"),
}
# The records a to-many relation leads to: their kind, and the index keyed by the record's id.
_TO_MANY: Mapping[Relation, tuple[Kind, str]] = {
    Relation.TASK_RUNS: (Kind.TASK_RUN, "by-flow-run"),
    Relation.SUBFLOW_RUNS: (Kind.FLOW_RUN, "by-parent-task-run"),
    Relation.FLOW_RUNS_OF_FLOW: (Kind.FLOW_RUN, "by-flow"),
    Relation.FLOW_RUNS_OF_DEPLOYMENT: (Kind.FLOW_RUN, "by-deployment"),
    Relation.DEPLOYMENTS_OF_FLOW: (Kind.DEPLOYMENT, "by-flow"),
}


class Candidate:
    """A record read from an index or by id: its JSON text, parsed once, and its place in
    the index's order."""

    __slots__ = ("order", "record", "text")

    def __init__(self, text: str, order: str = "") -> None:
        self.text = text
        self.order = order
        self.record: Record = json.loads(text)


class DynamoDBRecordStore(RecordReader):
    """The archived records found and counted as Prefect's queries ask, and written."""

    def find(self, body: Body) -> list[str]:
        """The records `body` asks for, in its order, its offset and limit applied."""
        offset: int = body.offset  # type: ignore[attr-defined]  # every filter body has one
        limit: int = body.limit  # type: ignore[attr-defined]
        sort = body.sort  # type: ignore[attr-defined]
        needed = offset + limit
        if limit == 0:
            return []
        now = self._now()
        match = plan(body)
        table, reading = self._reading(body)
        predicate = match.predicate()
        follow = _Follower(self)
        primary = order_by(sort)[0].column
        found: list[Candidate] = []
        boundary: Any = None
        # An ordered reading stops after `needed` matches and the records tied with the
        # last: its first Query asks for one more than that (the next record tells whether
        # it ties), rather than a full page of records never answered.
        first_limit = needed + 1 if isinstance(reading, IndexReading) and reading.ordered else None
        for page in self._pages(table, reading, first_limit):
            follow.prefetch(match, page)
            for candidate in page:
                if isinstance(reading, IndexReading) and reading.ordered and len(found) >= needed:
                    # In the sort's order already: past the page asked for, read on only
                    # through the records tied with its last (the index breaks ties by id,
                    # in its direction; the sort breaks them by id ascending).
                    if len(found) == needed and boundary is None:
                        boundary = (primary.read(found[needed - 1].record, now),)
                    if (primary.read(candidate.record, now),) != boundary:
                        return _page(found, sort, now, offset, limit)
                if predicate(candidate.record, follow):
                    found.append(candidate)
        return _page(found, sort, now, offset, limit)

    def count(self, body: Body) -> int:
        """How many records `body` matches: the index's own count where its key condition
        says all the body says, else the matches counted."""
        table, reading = self._reading(body)
        if isinstance(reading, IndexReading) and reading.exact:
            return sum(self._count(table, reading, partition) for partition in reading.partitions)
        match = plan(body)
        predicate = match.predicate()
        follow = _Follower(self)
        total = 0
        for page in self._pages(table, reading, None):
            follow.prefetch(match, page)
            total += sum(1 for candidate in page if predicate(candidate.record, follow))
        return total

    def _reading(self, body: Body) -> tuple[RecordTable, Reading]:
        table = TABLES[kind_of(body)]
        return table, choose(body, functools.partial(self._months, table))

    def _months(self, table: RecordTable, attribute: str) -> list[str]:
        response = self._call(
            table,
            "get_item",
            TableName=self._names[table],
            Key={ID: {"S": MONTHS_ITEM}},
            ProjectionExpression="#months",
            ExpressionAttributeNames={"#months": MONTH_SETS[attribute]},
        )
        months = response.get("Item", {}).get(MONTH_SETS[attribute], {}).get("SS", [])
        return list(months)

    def _pages(
        self, table: RecordTable, reading: Reading, first_limit: int | None
    ) -> Iterator[Sequence[Candidate]]:
        """The candidates in pages of at most CANDIDATE_PAGE. One partition's are cut from
        each Query page, so that taking a page never reads past the Query page at hand."""
        if isinstance(reading, IndexReading) and len(reading.partitions) == 1:
            (partition,) = reading.partitions
            for query_page in self._query_pages(table, reading, partition, first_limit):
                yield from chunks(query_page, CANDIDATE_PAGE)
            return
        if isinstance(reading, ById):
            found = self.records_by_id(table, reading.ids)
            candidates: Iterator[Candidate] = (Candidate(found[key]) for key in sorted(found))
        else:
            candidates = self._stream(table, reading, first_limit)
        yield from itertools.batched(candidates, CANDIDATE_PAGE)

    def _stream(
        self, table: RecordTable, reading: IndexReading, first_limit: int | None
    ) -> Iterator[Candidate]:
        streams = [
            self._partition(table, reading, partition, first_limit)
            for partition in reading.partitions
        ]
        if reading.consecutive:
            merged: Iterator[Candidate] = itertools.chain.from_iterable(streams)
        else:
            merged = heapq.merge(
                *streams, key=lambda candidate: candidate.order, reverse=not reading.forward
            )
        seen: set[str] = set()  # a run with two of the tags asked for is in both partitions
        for candidate in merged:
            record_id = str(candidate.record["id"])
            if record_id not in seen:
                seen.add(record_id)
                yield candidate

    def _partition(
        self,
        table: RecordTable,
        reading: IndexReading,
        partition: str,
        first_limit: int | None = None,
    ) -> Iterator[Candidate]:
        for page in self._query_pages(table, reading, partition, first_limit):
            yield from page

    def _query_pages(
        self, table: RecordTable, reading: IndexReading, partition: str, first_limit: int | None
    ) -> Iterator[list[Candidate]]:
        """The live records of one partition, a Query page at a time; the first page at most
        `first_limit` items where given."""
        if reading.keys.empty:
            return
        index = reading.index
        query = _key_query(self._names[table], index, partition, reading.keys)
        query["ScanIndexForward"] = reading.forward
        # The index's sort key (the id itself for `by-id`), the record and its expiry.
        names = {"#id": ID, "#record": RECORD, "#expires": EXPIRES_AT}
        if index.sort != ID:
            names["#sort"] = index.sort
        query["ProjectionExpression"] = ", ".join(names)
        query["ExpressionAttributeNames"] |= names
        if reading.ordered:
            query["Limit"] = min(QUERY_PAGE_LIMIT, first_limit or QUERY_PAGE_LIMIT)
        while True:
            page = self._call(table, "query", **query)
            now = now_text(self._now)
            yield [
                Candidate(item[RECORD]["S"], item[index.sort]["S"])
                for item in page["Items"]
                if live(item, now)
            ]
            if "LastEvaluatedKey" not in page:
                return
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]
            if reading.ordered:
                query["Limit"] = QUERY_PAGE_LIMIT

    def _count(self, table: RecordTable, reading: IndexReading, partition: str) -> int:
        if reading.keys.empty:
            return 0
        query = _key_query(self._names[table], reading.index, partition, reading.keys)
        query["Select"] = "COUNT"
        query["FilterExpression"] = "attribute_not_exists(#expires) OR #expires > :now"
        query["ExpressionAttributeNames"]["#expires"] = EXPIRES_AT
        query["ExpressionAttributeValues"][":now"] = {"S": now_text(self._now)}
        total = 0
        while True:
            page = self._call(table, "query", **query)
            total += int(page["Count"])
            if "LastEvaluatedKey" not in page:
                return total
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def related(self, kind: Kind, index_name: str, key: str) -> list[Record]:
        """The live records of `kind` whose `index_name` partition is `key`."""
        table = TABLES[kind]
        reading = IndexReading(table.index(index_name), (key,))
        return [candidate.record for candidate in self._partition(table, reading, key)]

    # --- writes ------------------------------------------------------------------------

    def put_records(self, kind: Kind, records: Iterable[RecordToStore]) -> list[str]:
        """Store the records of `kind`, each replacing any stored under its id (and, for a
        flow run, the tags it no longer has): idempotent. Returns the ids of the records not
        stored because they pass DynamoDB's item limit (400 KB), storing the rest."""
        table = TABLES[kind]
        name = self._names[table]
        latest = {str(json.loads(stored.document)["id"]): stored for stored in records}
        items: dict[str, list[Item]] = {}
        too_large: list[str] = []
        for record_id, stored in latest.items():
            made = record_items(table, stored)
            if not fits(made):
                too_large.append(record_id)
            else:
                items[record_id] = made
        self._list_months(table, [item for made in items.values() for item in made])
        stale: set[str] = set()
        if table is FLOW_RUNS and items:
            kept = {item[ID]["S"] for made in items.values() for item in made}
            # Expired or not: an expired run's tag items are still there until TTL.
            stored_before = self._batch_get(table, items, consistent=True)
            stale = {tag for item in stored_before for tag in tag_item_ids(item[RECORD]["S"])}
            stale -= kept
        requests: list[WriteRequestTypeDef] = [
            {"PutRequest": {"Item": item}} for made in items.values() for item in made
        ]
        requests += [{"DeleteRequest": {"Key": {ID: {"S": key}}}} for key in sorted(stale)]
        for batch in chunks(requests, BATCH_WRITE_ITEMS):
            translated_call(
                table, name, write_batch, client=self._client, table_name=name, requests=batch
            )
        return too_large

    def stored_records(self, kind: Kind, ids: Iterable[str]) -> dict[str, RecordToStore]:
        """The records stored under `ids`, by id, expired or not, as they were put: what a
        writer compares with before writing again (strongly consistent BatchGetItem)."""
        return {
            item[ID]["S"]: RecordToStore(
                item[RECORD]["S"],
                datetime.fromisoformat(item[EXPIRES_AT]["S"]) if EXPIRES_AT in item else None,
            )
            for item in self._batch_get(TABLES[kind], ids, consistent=True)
        }

    def _list_months(self, table: RecordTable, items: Sequence["Item"]) -> None:
        """Add the items' months to the table's list of months, before the items are
        written: a month listed with no record is read as empty, a record in an unlisted
        month would be missed."""
        months = months_of(list(items))
        if not months:
            return
        names = {f"#m{number}": listing for number, listing in enumerate(months)}
        values = {f":m{number}": {"SS": sorted(months[n])} for number, n in enumerate(months)}
        self._call(
            table,
            "update_item",
            TableName=self._names[table],
            Key={ID: {"S": MONTHS_ITEM}},
            UpdateExpression="ADD " + ", ".join(f"#m{n} :m{n}" for n in range(len(months))),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )


def record_fits(kind: Kind, stored: RecordToStore) -> bool:
    """Whether `put_records` stores `stored`, rather than skipping it as over DynamoDB's item
    limit."""
    return fits(record_items(TABLES[kind], stored))


def _key_query(name: str, index: RecordIndex, partition: str, keys: KeyRange) -> dict[str, Any]:
    condition = "#partition = :partition"
    names = {"#partition": index.partition}
    values: dict[str, Any] = {":partition": {"S": partition}}
    if keys.equal is not None:
        condition += " AND #sort = :equal"
        values[":equal"] = {"S": keys.equal}
    elif keys.low is not None and keys.high is not None:
        condition += " AND #sort BETWEEN :low AND :high"
        values |= {":low": {"S": keys.low}, ":high": {"S": keys.high}}
    elif keys.low is not None:
        condition += " AND #sort >= :low"
        values[":low"] = {"S": keys.low}
    elif keys.high is not None:
        condition += " AND #sort <= :high"
        values[":high"] = {"S": keys.high}
    if keys != KeyRange():
        names["#sort"] = index.sort
    return {
        "TableName": name,
        "IndexName": index.name,
        "KeyConditionExpression": condition,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
    }


def _page(found: list[Candidate], sort: Any, now: datetime, offset: int, limit: int) -> list[str]:
    key = order_key(sort, now)
    ordered = sorted(found, key=lambda candidate: key(candidate.record))
    return [candidate.text for candidate in ordered[offset : offset + limit]]


class _Follower:
    """The `Follow` of one request: related records read once each, a page's to-one
    relations in one BatchGetItem per relation."""

    def __init__(self, store: DynamoDBRecordStore) -> None:
        self._store = store
        self._one: dict[tuple[Kind, str], Record | None] = {}
        self._many: dict[tuple[Relation, str], list[Record]] = {}

    def prefetch(self, match: Match, page: Sequence[Candidate]) -> None:
        for link in match.links:
            if link.relation not in _TO_ONE:
                continue
            kind, field = _TO_ONE[link.relation]
            wanted = {
                str(candidate.record[field])
                for candidate in page
                if candidate.record.get(field) is not None
            } - {key for (cached_kind, key) in self._one if cached_kind is kind}
            self._fetch(kind, wanted)

    def _fetch(self, kind: Kind, ids: set[str]) -> None:
        if not ids:
            return
        found = self._store.records_by_id(TABLES[kind], ids)
        for key in ids:
            self._one[(kind, key)] = json.loads(found[key]) if key in found else None

    def __call__(self, relation: Relation, record: Record) -> list[Record]:
        if relation in _TO_ONE:
            kind, field = _TO_ONE[relation]
            value = record.get(field)
            if value is None:
                return []
            key = str(value)
            if (kind, key) not in self._one:
                self._fetch(kind, {key})
            found = self._one[(kind, key)]
            return [] if found is None else [found]
        kind, index_name = _TO_MANY[relation]
        cache_key = (relation, str(record["id"]))
        if cache_key not in self._many:
            self._many[cache_key] = self._store.related(kind, index_name, cache_key[1])
        return self._many[cache_key]
