"""The copy: passes over the source's runs, each run's states stored exactly, once.

A pass walks listings of runs (`listings`), a page (200 runs) at a time, and records in the
checkpoint after each page where it got to. The first pass lists every run; later passes
list only the runs that finished since the last completed pass began (less an overlap) and
the runs not finished yet, however long ago they started.

For each run of a page:
- its current state (the run's `state_id`, its last) stored means the whole run is stored,
  and nothing more is read for it: a run's current state is written only after its other
  states are;
- otherwise its states are read, those not stored yet are written (`BatchWriteItem`), the
  others counted as present; a state past the retention period, or over DynamoDB's item
  limit, is skipped and counted.
"""

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from api.clock import Clock
from api.runs import FLOW_RUN, TASK_RUN, RunKind
from api.settings import Settings
from importer.checkpoint import Checkpoint, SourceCheckpoint
from importer.progress import Progress, Summary
from importer.source import PrefectSource, Run
from storage.batch import BatchTables
from storage.dynamodb import ITEM_SIZE_LIMIT, item_size, state_item
from storage.repository import fixed_width_utc, state_to_store
from storage.table_shapes import ID

if TYPE_CHECKING:
    from storage.table_shapes import Item

logger = logging.getLogger("prefect_run_states.importer")

KINDS = (FLOW_RUN, TASK_RUN)
UNFINISHED = ["SCHEDULED", "PENDING", "RUNNING", "PAUSED", "CANCELLING"]


@dataclass(frozen=True, slots=True)
class Listing:
    kind: RunKind
    run_filter: dict[str, Any]  # Prefect's FlowRunFilter or TaskRunFilter
    what: str  # for progress lines


def listings(watermark: str | None) -> list[Listing]:
    """What a pass walks. Prefect sets a run's `end_time` whenever it enters a final state
    (and clears it when it leaves one), so the runs changed since the watermark are the ones
    that ended after it and the ones not ended."""
    if watermark is None:
        return [Listing(kind, {}, f"{kind.noun}s") for kind in KINDS]
    return [
        listing
        for kind in KINDS
        for listing in (
            Listing(kind, {"end_time": {"after_": watermark}}, f"{kind.noun}s ended since"),
            Listing(kind, {"state": {"type": {"any_": UNFINISHED}}}, f"unfinished {kind.noun}s"),
        )
    ]


@dataclass
class _RunStates:
    """A run's states to store: its current state apart, to be written last."""

    earlier: list["Item"] = field(default_factory=list)
    current: "Item | None" = None


class Importer:
    def __init__(
        self,
        source: PrefectSource,
        tables: BatchTables,
        checkpoint: SourceCheckpoint,
        settings: Settings,
        executor: ThreadPoolExecutor,
        clock: Clock,
        progress: Progress | None = None,
    ) -> None:
        self.source = source
        self.tables = tables
        self._checkpoint = checkpoint
        self._table_names = {kind: settings.table(kind.table).name for kind in KINDS}
        self._retention = {kind: settings.table(kind.table).retention for kind in KINDS}
        self._executor = executor
        self._progress = progress or Progress()
        self._now = clock
        self.stop = threading.Event()  # set it to stop after the page in flight
        self.summary = Summary()
        self._lock = threading.Lock()

    def run(
        self, follow: bool = False, interval: float = 5.0, deadline: float | None = None
    ) -> bool:
        """Copy until a pass begun by this call completes (with `follow`, until `stop`),
        or until `deadline` (a `time.monotonic()` value) passes. True when a pass begun by
        this call completed."""
        checkpoint = self._checkpoint.load()
        completed = False
        while not self.stop.is_set():
            own_pass = not checkpoint.in_pass
            if own_pass:
                checkpoint = checkpoint.begin_pass(self._now())
                self._checkpoint.save(checkpoint)
            checkpoint = self._continue_pass(checkpoint, deadline)
            if checkpoint.in_pass:  # stopped, or out of time
                break
            completed = completed or own_pass
            if completed and not follow:
                break
            if follow:
                self.stop.wait(interval)
        return completed

    def _continue_pass(self, checkpoint: Checkpoint, deadline: float | None) -> Checkpoint:
        steps = listings(checkpoint.watermark)
        while checkpoint.step < len(steps):
            listing = steps[checkpoint.step]
            total = self.source.count_runs(listing.kind, listing.run_filter)
            self._progress.listing(listing.what, total, checkpoint.offset)
            while True:
                if self.stop.is_set() or (deadline is not None and time.monotonic() > deadline):
                    self._progress.done()
                    return checkpoint
                runs = self.source.list_runs(listing.kind, listing.run_filter, checkpoint.offset)
                self._copy_runs(listing.kind, runs)
                checkpoint = checkpoint.advanced(len(runs))
                if len(runs) < self.source.page_size:
                    break
                self._checkpoint.save(checkpoint)
                self._progress.update(checkpoint.offset, self.summary)
            checkpoint = checkpoint.next_listing()
            self._checkpoint.save(checkpoint)
            self._progress.update(total, self.summary)
            self._progress.done()
        checkpoint = checkpoint.pass_completed()
        self._checkpoint.save(checkpoint)
        return checkpoint

    def _copy_runs(self, kind: RunKind, runs: list[Run]) -> None:
        """Copy what is missing of a page of runs; returns once it is stored."""
        table = self._table_names[kind]
        self.summary.runs_read += len(runs)
        current = {run.state_id for run in runs if run.state_id is not None}
        stored_current = self.tables.stored_ids(table, current)
        to_read = [run for run in runs if run.state_id and run.state_id not in stored_current]
        self.summary.runs_complete += len(stored_current)
        run_states = list(self._executor.map(lambda run: self._run_states(kind, run), to_read))
        earlier = [item for states in run_states for item in states.earlier]
        last = [states.current for states in run_states if states.current is not None]
        stored = self.tables.stored_ids(table, (item[ID]["S"] for item in earlier + last))
        self.summary.states_present += len(stored)
        # Every run's earlier states first, then their current states (see the module's doc).
        for items in (earlier, last):
            missing = [item for item in items if item[ID]["S"] not in stored]
            self.tables.put(table, missing)
            self.summary.states_copied += len(missing)

    def _run_states(self, kind: RunKind, run: Run) -> _RunStates:
        """A run's states as items to store; those skipped are counted (under a lock: this
        runs in the executor's threads)."""
        now = fixed_width_utc(self._now())
        result = _RunStates()
        for state in self.source.run_states(kind, run.id):
            stored = state_to_store(
                state.id,
                run.id,
                datetime.fromisoformat(state.timestamp),
                state.document,
                self._retention[kind],
            )
            if not stored.is_live(now):
                self._count_expired()
                continue
            item = state_item(kind.table, stored)
            size = item_size(item)
            if size > ITEM_SIZE_LIMIT:
                self._name_too_large(f"{kind.noun} state {state.id} of run {run.id}: {size:,} B")
                continue
            if state.id == run.state_id:
                result.current = item
            else:
                result.earlier.append(item)
        return result

    def _count_expired(self) -> None:
        with self._lock:
            self.summary.states_expired += 1

    def _name_too_large(self, what: str) -> None:
        logger.warning("skipped, over DynamoDB's item limit: %s", what)
        with self._lock:
            self.summary.states_too_large.append(what)
