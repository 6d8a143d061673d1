"""`python -m importer verify SOURCE` (`make verify`): every run the source still holds,
compared with the copy record by record. Read-only on both sides.

A run is listed as a reconcile lists it (`importer.windows`), and each of `COMPARISONS` is
made of it: today its states (ids, and each document equal as JSON to what the source
serves, read back through the service's own repository). A comparison of the run records
themselves joins the tuple when the copy holds them.

Not differences, but counted: states deleted through the service (tombstones), states past
the retention period, states over DynamoDB's item limit (the import names each).
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
from importer.progress import Progress, Summary
from importer.source import PrefectSource, Run, SourceError, SourceState, SourceUnauthorized
from importer.windows import RunWindows, covered
from storage.batch import BatchTables
from storage.dynamodb import ITEM_SIZE_LIMIT, item_size, state_item
from storage.repository import StateRepository, StoredState, fixed_width_utc, state_to_store

logger = logging.getLogger("prefect_run_states.importer")


@dataclass(frozen=True, slots=True)
class Difference:
    record: str  # what was compared: "flow run state", "task run state"
    run: str
    id: str  # the record's id
    what: str  # "missing", "differs (keys: ...)", "only in the archive", "unreadable: ..."

    def line(self) -> str:
        return f"{self.record} {self.id} of run {self.run}: {self.what}"


@dataclass
class Report:
    runs: int = 0
    states_equal: int = 0
    states_deleted: int = 0  # deleted through the service: tombstones
    states_expired: int = 0  # past the retention period
    states_too_large: int = 0  # over DynamoDB's item limit
    differences: list[Difference] = field(default_factory=list)

    def lines(self) -> list[str]:
        return [
            *(difference.line() for difference in self.differences),
            f"runs compared: {self.runs:,}",
            f"states equal: {self.states_equal:,}",
            f"states deleted through the service (not copied back): {self.states_deleted:,}",
            f"states past the retention period: {self.states_expired:,}",
            f"states over DynamoDB's 400 KB item limit: {self.states_too_large:,}",
            f"differences: {len(self.differences):,}",
        ]


@dataclass
class _Compared:
    """One run's comparison: its differences and what was counted."""

    differences: list[Difference] = field(default_factory=list)
    equal: int = 0
    deleted: int = 0
    expired: int = 0
    too_large: int = 0


class Verifier:
    def __init__(
        self,
        source: PrefectSource,
        tables: BatchTables,
        repositories: dict[RunKind, StateRepository],
        settings: Settings,
        executor: ThreadPoolExecutor,
        clock: Clock,
        progress: Progress | None = None,
    ) -> None:
        self.source = source
        self._tables = tables
        self._repositories = repositories
        self._table_names = {kind: settings.table(kind.table).name for kind in KINDS}
        self._retention = {kind: settings.table(kind.table).retention for kind in KINDS}
        self._executor = executor
        self._now = clock
        self._progress = progress or Progress()
        self.report = Report()
        # What each run is compared on; the run records' comparison joins it (next issue).
        self.comparisons: tuple[Callable[[RunKind, Run], _Compared], ...] = (self._states,)

    def verify(self) -> list[Difference]:
        """Every difference found, each also logged as it is found."""
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
            whole.equal += part.equal
            whole.deleted += part.deleted
            whole.expired += part.expired
            whole.too_large += part.too_large
        return whole

    def _add(self, compared: _Compared) -> None:
        report = self.report
        report.runs += 1
        for difference in compared.differences:
            logger.warning("difference: %s", difference.line())
        report.differences += compared.differences
        report.states_equal += compared.equal
        report.states_deleted += compared.deleted
        report.states_expired += compared.expired
        report.states_too_large += compared.too_large

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
        deleted = (
            self._tables.deleted_ids(self._table_names[kind], unmatched) if unmatched else set()
        )
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

    def _expired(self, kind: RunKind, run: Run, state: SourceState) -> bool:
        stored = self._stored(kind, run, state)
        return not stored.is_live(fixed_width_utc(self._now()))

    def _too_large(self, kind: RunKind, run: Run, state: SourceState) -> bool:
        return item_size(state_item(kind.table, self._stored(kind, run, state))) > ITEM_SIZE_LIMIT

    def _stored(self, kind: RunKind, run: Run, state: SourceState) -> StoredState:
        moment = datetime.fromisoformat(state.timestamp)
        return state_to_store(state.id, run.id, moment, state.document, self._retention[kind])


def _differing_keys(archived: str, served: str) -> list[str]:
    stored, source = json.loads(archived), json.loads(served)
    if stored == source:
        return []
    if not isinstance(stored, dict) or not isinstance(source, dict):
        return ["(the whole document)"]
    return sorted(
        key for key in stored.keys() | source.keys() if stored.get(key) != source.get(key)
    )
