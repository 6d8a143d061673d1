"""`python -m importer verify SOURCE` (`make verify`): every run the source still holds,
compared with the copy record by record. Read-only on both sides.

Every flow and deployment is listed as a reconcile lists them, and compared with the copy's.
Every run is listed as a reconcile lists it (`importer.windows`), and each of `comparisons`
is made of it: its states (ids, and each document equal as JSON to what the source serves,
read back through the service's own repository), and its record (equal as JSON to what the
listing served).

Not differences, but counted: states deleted through the service (tombstones), states and
records past the retention period, states and records over DynamoDB's item limit (the
import names each). Nor is a difference in `ROLLING` alone on a run not in a final state:
Prefect computes those from its clock at each read (its own `FlowRunResponse.__eq__`
ignores them), so they differ from any copy, however current.
"""

import json
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

from api.clock import Clock
from api.runs import RunKind
from api.settings import Settings
from importer.checkpoint import KINDS
from importer.destination import StateDestination
from importer.progress import Progress, Summary
from importer.records import NOUNS, RUN_RECORDS, UNTIMED, expiry
from importer.source import (
    PrefectSource,
    Run,
    SourceError,
    SourceRecord,
    SourceState,
    SourceUnauthorized,
)
from importer.windows import RunWindows, covered
from queries import Kind
from storage.batch import BatchTables
from storage.dynamodb import fits_in_an_item, state_item
from storage.record_items import RecordToStore
from storage.records import DynamoDBRecordStore, record_fits
from storage.repository import StateRepository, StoredState, fixed_width_utc

logger = logging.getLogger("prefect_run_states.importer")


# A run's fields Prefect computes from its clock at each read, while the run is not final.
ROLLING = frozenset({"estimated_run_time", "estimated_start_time_delta"})
_FINAL_STATE_TYPES = frozenset({"COMPLETED", "FAILED", "CANCELLED", "CRASHED"})


@dataclass(frozen=True, slots=True)
class Difference:
    record: str  # what was compared: "flow run state", "task run record", "flow record"...
    run: str | None  # the run a state belongs to
    id: str  # the state's or record's id
    what: str  # "missing", "differs (keys: ...)", "only in the archive", "unreadable: ..."

    def line(self) -> str:
        of_run = f" of run {self.run}" if self.run else ""
        return f"{self.record} {self.id}{of_run}: {self.what}"


@dataclass
class Report:
    runs: int = 0
    states_equal: int = 0
    states_deleted: int = 0  # deleted through the service: tombstones
    states_expired: int = 0  # past the retention period
    states_too_large: int = 0  # over DynamoDB's item limit
    records_equal: int = 0  # runs', flows' and deployments'
    records_expired: int = 0
    records_too_large: int = 0
    differences: list[Difference] = field(default_factory=list)

    def lines(self) -> list[str]:
        return [
            *(difference.line() for difference in self.differences),
            f"runs compared: {self.runs:,}",
            f"states equal: {self.states_equal:,}",
            f"states deleted through the service (not copied back): {self.states_deleted:,}",
            f"states past the retention period: {self.states_expired:,}",
            f"states over DynamoDB's 400 KB item limit: {self.states_too_large:,}",
            f"records equal (runs, flows, deployments): {self.records_equal:,}",
            f"records past the retention period: {self.records_expired:,}",
            f"records over DynamoDB's 400 KB item limit: {self.records_too_large:,}",
            f"differences: {len(self.differences):,}",
        ]


@dataclass
class _Compared:
    """One run's comparison (or a page of flows or deployments): its differences and what
    was counted."""

    differences: list[Difference] = field(default_factory=list)
    equal: int = 0
    deleted: int = 0
    expired: int = 0
    too_large: int = 0
    records_equal: int = 0
    records_expired: int = 0
    records_too_large: int = 0


class Verifier:
    def __init__(
        self,
        source: PrefectSource,
        tables: BatchTables,
        repositories: dict[RunKind, StateRepository],
        records: DynamoDBRecordStore,
        settings: Settings,
        executor: ThreadPoolExecutor,
        clock: Clock,
        progress: Progress | None = None,
    ) -> None:
        self.source = source
        self._tables = tables
        self._repositories = repositories
        self._destination = StateDestination.of(settings)
        self._executor = executor
        self._now = clock
        self._progress = progress or Progress()
        self.report = Report()
        self._records = records
        # What each run is compared on.
        self.comparisons: tuple[Callable[[RunKind, Run], _Compared], ...] = (
            self._states,
            self._record,
        )

    def verify(self) -> list[Difference]:
        """Every difference found, each also logged as it is found."""
        for untimed in UNTIMED:
            self._progress.listing(f"{NOUNS[untimed]}s")
            for page in self.source.every_record(untimed):
                self._add(self._untimed(untimed, page), runs=0)
            self._progress.done()
        for kind in KINDS:
            windows = RunWindows(self.source, kind)
            span = windows.span()
            self._progress.listing(f"{kind.noun}s")
            for runs in windows.pages():
                for compared in self._executor.map(
                    lambda run, kind=kind: self._compare(kind, run), runs
                ):
                    self._add(compared)
                self._progress.update(covered(span, windows.position), self._summary())
            self._progress.update(1.0, self._summary())
            self._progress.done()
        return self.report.differences

    def _compare(self, kind: RunKind, run: Run) -> _Compared:
        whole = _Compared()
        for comparison in self.comparisons:
            part = comparison(kind, run)
            whole.differences += part.differences
            for name in _COUNTS:
                setattr(whole, name, getattr(whole, name) + getattr(part, name))
        return whole

    def _add(self, compared: _Compared, runs: int = 1) -> None:
        report = self.report
        report.runs += runs
        for difference in compared.differences:
            logger.warning("difference: %s", difference.line())
        report.differences += compared.differences
        report.states_equal += compared.equal
        report.states_deleted += compared.deleted
        report.states_expired += compared.expired
        report.states_too_large += compared.too_large
        report.records_equal += compared.records_equal
        report.records_expired += compared.records_expired
        report.records_too_large += compared.records_too_large

    def _summary(self) -> Summary:
        """What the progress line shows: states equal as present, differences as copied."""
        return Summary(states_present=self.report.states_equal)

    def _states(self, kind: RunKind, run: Run) -> _Compared:
        record = f"{kind.noun} state"
        result = _Compared()
        try:
            served = {state.id: state for state in self.source.run_states(kind, run.id)}
        except SourceUnauthorized:
            raise
        except (SourceError, ValueError) as error:
            result.differences.append(Difference(record, run.id, "-", f"unreadable: {error}"))
            return result
        archived = {state.id: state.document for state in self._repositories[kind].list_run(run.id)}
        unmatched: list[str] = []
        for state_id, state in served.items():
            if state_id in archived:
                keys = _differing_keys(archived[state_id], state.document)
                if keys:
                    what = f"differs (keys: {', '.join(keys)})"
                    result.differences.append(Difference(record, run.id, state_id, what))
                else:
                    result.equal += 1
            elif self._expired(kind, run, state):
                result.expired += 1
            elif self._too_large(kind, run, state):
                result.too_large += 1
            else:
                unmatched.append(state_id)
        table = self._destination.tables[kind]
        deleted = self._tables.deleted_ids(table, unmatched) if unmatched else set()
        result.deleted = len(deleted)
        result.differences += [
            Difference(record, run.id, state_id, "missing")
            for state_id in unmatched
            if state_id not in deleted
        ]
        result.differences += [
            Difference(record, run.id, state_id, "only in the archive")
            for state_id in archived
            if state_id not in served
        ]
        return result

    def _record(self, kind: RunKind, run: Run) -> _Compared:
        """The run's record, as its listing served it, against the copy's."""
        result = _Compared()
        if run.record is None:  # listed runs always carry theirs
            return result
        record_kind = RUN_RECORDS[kind]
        self._compare_record(record_kind, run.record, result, lambda: self._expiry(kind, run))
        return result

    def _untimed(self, kind: Kind, page: list[SourceRecord]) -> _Compared:
        """A page of flows or deployments against the copy's."""
        result = _Compared()
        for record in page:
            self._compare_record(kind, record, result, lambda: None)
        return result

    def _compare_record(
        self,
        kind: Kind,
        record: SourceRecord,
        result: _Compared,
        expiry: Callable[[], datetime | None],
    ) -> None:
        """`expiry` (read only when the copy has no record): until when the record is
        served, from the run's states."""
        noun = f"{NOUNS[kind]} record"
        now = self._now()
        stored = self._records.stored_records(kind, [record.id]).get(record.id)
        if stored is not None and (stored.expires_at is None or now < stored.expires_at):
            keys = _differing_keys(stored.document, record.document)
            if keys and not _rolling_only(keys, record.document):
                what = f"differs (keys: {', '.join(keys)})"
                result.differences.append(Difference(noun, None, record.id, what))
            else:
                result.records_equal += 1
            return
        expires_at = expiry()
        if expires_at is not None and expires_at <= now:
            result.records_expired += 1
        elif not record_fits(kind, RecordToStore(record.document, expires_at)):
            result.records_too_large += 1
        else:
            result.differences.append(Difference(noun, None, record.id, "missing"))

    def _expiry(self, kind: RunKind, run: Run) -> datetime | None:
        """Until when the copy serves the run's record: the latest expiry of its states."""
        retention = self._destination.retention[kind]
        if retention is None:
            return None
        times = [state.timestamp for state in self.source.run_states(kind, run.id)]
        return expiry(retention, times, None)

    def _expired(self, kind: RunKind, run: Run, state: SourceState) -> bool:
        stored = self._stored(kind, run, state)
        return not stored.is_live(fixed_width_utc(self._now()))

    def _too_large(self, kind: RunKind, run: Run, state: SourceState) -> bool:
        return not fits_in_an_item(state_item(kind.table, self._stored(kind, run, state)))

    def _stored(self, kind: RunKind, run: Run, state: SourceState) -> StoredState:
        return self._destination.stored(kind, run.id, state)


_COUNTS = (
    "equal",
    "deleted",
    "expired",
    "too_large",
    "records_equal",
    "records_expired",
    "records_too_large",
)


def _rolling_only(keys: list[str], served: str) -> bool:
    """Whether `keys` are only Prefect's rolling estimates of a run not in a final state."""
    return set(keys) <= ROLLING and json.loads(served).get("state_type") not in _FINAL_STATE_TYPES


def _differing_keys(archived: str, served: str) -> list[str]:
    stored, source = json.loads(archived), json.loads(served)
    if stored == source:
        return []
    if not isinstance(stored, dict) or not isinstance(source, dict):
        return ["(the whole document)"]
    return sorted(
        key for key in stored.keys() | source.keys() if stored.get(key) != source.get(key)
    )
