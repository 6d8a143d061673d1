"""The records of runs, flows and deployments, copied as the source serves them, beside the
states (docs/import.md, "Records").

A record is stored where it differs from the one stored (its JSON text or its expiry), so a
copy run twice writes nothing the second time. A run's record is served as long as any of
its states is: its expiry is the latest of its states' (their timestamps plus the retention
period), never earlier than the one stored; flows and deployments never expire.
"""

import json
import logging
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta

from api.runs import FLOW_RUN, TASK_RUN, RunKind
from importer.progress import Summary
from importer.source import PrefectSource, SourceRecord
from queries import Kind
from storage.record_items import RecordToStore
from storage.records import DynamoDBRecordStore

logger = logging.getLogger("prefect_run_states.importer")

RUN_RECORDS: Mapping[RunKind, Kind] = {FLOW_RUN: Kind.FLOW_RUN, TASK_RUN: Kind.TASK_RUN}
NOUNS: Mapping[Kind, str] = {
    Kind.FLOW_RUN: "flow run",
    Kind.TASK_RUN: "task run",
    Kind.FLOW: "flow",
    Kind.DEPLOYMENT: "deployment",
}
# Copied whole by each reconcile, before the runs that name them.
UNTIMED = (Kind.FLOW, Kind.DEPLOYMENT)


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def state_time(document: str) -> str | None:
    """The timestamp of the current state a run's record holds."""
    state = json.loads(document).get("state") or {}
    time: str | None = state.get("timestamp")
    return time


def expiry(
    retention: timedelta | None, state_times: Iterable[str | None], stored: RecordToStore | None
) -> datetime | None:
    """Until when a run's record is served: the latest expiry of its states (`state_times`,
    the newest of those known), never earlier than the record stored; None with retention
    off, or where the stored record is kept until deleted (its states were copied so)."""
    if retention is None or (stored is not None and stored.expires_at is None):
        return None
    expiries = [_instant(time) + retention for time in state_times if time]
    if stored is not None and stored.expires_at is not None:
        expiries.append(stored.expires_at)
    # A run with no state known has none to be served with: it is already past.
    return max(expiries, default=datetime.min.replace(tzinfo=UTC))


class RecordCopier:
    def __init__(
        self,
        source: PrefectSource,
        store: DynamoDBRecordStore,
        retention: Mapping[Kind, timedelta | None],
        now: Callable[[], datetime],
        summary: Summary,
    ) -> None:
        """Records read from `source` into `store`; a run's kept for its kind's `retention`
        (judged by `now`), counted in `summary`."""
        self.source = source
        self.store = store
        self._retention = retention
        self._now = now
        self.summary = summary
        self._stored: set[tuple[Kind, str]] = set()  # flows and deployments known stored

    def copy_every(self, kind: Kind) -> None:
        """Every record of `kind` the source holds (flows, deployments), page by page."""
        for page in self.source.every_record(kind):
            self.copy(kind, page)

    def copy_runs(
        self, kind: Kind, runs: Mapping[str, SourceRecord | None], latest: Mapping[str, str | None]
    ) -> None:
        """The records of runs whose states were just copied: as a listing served them, or
        (None) read again now; `latest` is the newest state timestamp read of each."""
        unread = [run_id for run_id, record in runs.items() if record is None]
        read = {record.id: record for record in self.source.records_by_id(kind, unread)}
        records = [record or read.get(run_id) for run_id, record in runs.items()]
        self.copy(kind, [record for record in records if record is not None], latest)

    def refresh(self, kind: Kind, newest: Mapping[str, str]) -> None:
        """The records of runs whose states are all stored, read again where the stored one
        is missing or holds a state older than `newest` (an event's, by run): the copy of a
        record written after its states, so a pass cut short between the two, or a listing
        read just before a state change, is caught up by the next events."""
        stored = self.store.stored_records(kind, newest)
        behind = [
            run_id
            for run_id, time in newest.items()
            if run_id not in stored
            or (held := state_time(stored[run_id].document)) is None
            or _instant(held) < _instant(time)
        ]
        if behind:
            self.copy_runs(kind, dict.fromkeys(behind), newest)

    def copy(
        self,
        kind: Kind,
        records: list[SourceRecord],
        latest: Mapping[str, str | None] | None = None,
    ) -> None:
        """Store each of `records` that differs from the one stored; then the flows and
        deployments they name that are not stored."""
        if not records:
            return
        stored = self.store.stored_records(kind, [record.id for record in records])
        retention = self._retention.get(kind)
        now = self._now()
        to_store: dict[str, RecordToStore] = {}
        for record in records:
            before = stored.get(record.id)
            expires_at = (
                None
                if kind in UNTIMED
                else expiry(
                    retention, [record.state_timestamp, (latest or {}).get(record.id)], before
                )
            )
            if before == RecordToStore(record.document, expires_at):
                self.summary.records_present += 1
            elif expires_at is not None and expires_at <= now:
                self.summary.records_expired += 1
            else:
                to_store[record.id] = RecordToStore(record.document, expires_at)
        too_large = set(self.store.put_records(kind, to_store.values()))
        for record_id in sorted(too_large):
            size = len(to_store[record_id].document.encode())
            what = f"{NOUNS[kind]} record {record_id}: {size:,} B of JSON"
            logger.warning("skipped, over DynamoDB's item limit: %s", what)
            self.summary.records_too_large.append(what)
        self.summary.records_copied += len(to_store) - len(too_large)
        if kind in UNTIMED:
            self._stored.update((kind, record.id) for record in records)
        self._copy_named(records)

    def _copy_named(self, records: list[SourceRecord]) -> None:
        """The flows and deployments `records` name that are not stored (made after the
        reconcile listed them, say): read by id."""
        for kind in UNTIMED:
            named = {
                record_id
                for record in records
                for named_kind, record_id in record.references
                if named_kind is kind and (kind, record_id) not in self._stored
            }
            if not named:
                continue
            missing = sorted(named - set(self.store.stored_records(kind, named)))
            self._stored.update((kind, record_id) for record_id in named)
            if missing:
                self.copy(kind, self.source.records_by_id(kind, missing))
