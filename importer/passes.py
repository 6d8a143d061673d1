"""The copy: passes that find what changed on the source and store each missing state
exactly, once. docs/import.md says what each pass reads and what it guarantees.

- A **reconcile** (the first pass; after the follower was away longer than Prefect keeps its
  events; or asked for) walks every flow run, then every task run (`importer.windows`), reads
  each run's states and stores those whose ids are not stored. It trusts neither `end_time`
  nor a run's current state.
- A **follow** pass reads Prefect's state-change events since the last pass (less an
  overlap). An event's id is its state's id: those stored cost one batched read. The runs
  with a state missing are read and copied; a flow run that gained a state has its task runs'
  current states checked too (task runs orchestrated through the API emit no events).

Each run's record is copied after its states, flows and deployments with a reconcile, and a
record only where it differs from the stored one (`importer.records`).

A state an event names that the source does not serve yet is kept **pending** and looked for
again each pass; a run whose requests keep failing is skipped, kept as **failed** and tried
again each pass. Both hold back the checkpoint's `complete_until`.
"""

import logging
import threading
from collections import defaultdict
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from api.clock import Clock
from api.runs import FLOW_RUN, TASK_RUN, RunKind
from api.settings import Settings
from importer.checkpoint import (
    ERROR_TEXT,
    EVENT_RETENTION,
    KINDS,
    OVERLAP,
    Checkpoint,
    FailedRun,
    PendingState,
    SourceCheckpoint,
    kind_named,
)
from importer.destination import StateDestination
from importer.progress import Progress, Summary
from importer.records import NOUNS, RUN_RECORDS, UNTIMED, RecordCopier
from importer.source import (
    IDS_A_REQUEST,
    OutOfTime,
    PrefectSource,
    Run,
    SourceError,
    SourceState,
    SourceUnauthorized,
    StateEvent,
)
from importer.windows import EventWindows, Position, RunWindows, covered
from storage.batch import BatchTables
from storage.dynamodb import fits_in_an_item, item_size, state_item
from storage.records import DynamoDBRecordStore
from storage.repository import fixed_width_utc
from storage.table_shapes import ID

if TYPE_CHECKING:
    from storage.table_shapes import Item

logger = logging.getLogger("prefect_run_states.importer")

# Events are read up to this long before now: the last few seconds' are still being
# persisted (Prefect writes them every 5 s); the next pass's overlap reads them.
SETTLING = timedelta(seconds=5)


@dataclass
class _RunStates:
    """A run's states to store: its current state apart, to be written last, so that a
    copy cut short never leaves a run's current state stored without its earlier ones."""

    earlier: list["Item"] = field(default_factory=list)
    current: "Item | None" = None


@dataclass
class RunCopy:
    """What copying one run did: the state ids the source served, how many were written,
    or why its requests failed."""

    run_id: str
    served: set[str] = field(default_factory=set)
    copied: int = 0
    error: str | None = None
    latest: str | None = None  # the newest timestamp of the states served


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
        self.checkpoints = checkpoint
        self._destination = StateDestination.of(settings)
        self._executor = executor
        self._progress = progress or Progress()
        self._now = clock
        self.stop = threading.Event()  # set it to stop after the page in flight
        self.summary = Summary()
        self.records = RecordCopier(
            source,
            DynamoDBRecordStore(settings.record_table_names(), tables.client, clock),
            {RUN_RECORDS[kind]: self._destination.retention[kind] for kind in KINDS},
            clock,
            self.summary,
        )
        self._lock = threading.Lock()
        self._seen_this_pass: set[tuple[str, str]] = set()  # (kind, run) failed or pending

    def run(self, follow: bool = False, interval: float = 5.0, reconcile: bool = False) -> bool:
        """Copy until a pass completes (with `follow`, until `stop`), or until the source's
        deadline passes; `reconcile` makes the first pass a reconcile. True when a pass begun
        or resumed by this call completed."""
        completed = False
        while not self.stop.is_set():
            try:
                if not self._pass(reconcile=reconcile and not completed):
                    break
            except OutOfTime as error:
                logger.info("out of time (%s): the next run goes on from the checkpoint", error)
                break
            completed = True
            if not follow:
                break
            self.stop.wait(interval)
        return completed

    def _pass(self, reconcile: bool) -> bool:
        """One pass; False when it was stopped before its end."""
        self._seen_this_pass.clear()
        checkpoint = self.checkpoints.load()
        now = self._now()
        if not checkpoint.in_pass and (reconcile or checkpoint.needs_reconcile(now)):
            checkpoint = checkpoint.begin_reconcile(now)
            self.checkpoints.save(checkpoint)
        found = self._reconcile(checkpoint) if checkpoint.in_pass else self._follow(checkpoint, now)
        if found is None:
            return False
        checkpoint = self._look_again(found)
        self.checkpoints.save(checkpoint)
        self.summary.states_pending = len(checkpoint.pending)
        return True

    # --- the two ways to find changes -----------------------------------------------

    def _reconcile(self, checkpoint: Checkpoint) -> Checkpoint | None:
        assert checkpoint.reconcile is not None
        resumed = kind_named(checkpoint.reconcile.kind)
        if resumed is KINDS[0] and checkpoint.reconcile.position == Position():
            # Before the runs that name them: few, so not checkpointed page by page (a
            # resumed reconcile lists them again, and writes only what changed).
            for untimed in UNTIMED:
                self._progress.listing(f"{NOUNS[untimed]}s")
                self.records.copy_every(untimed)
                self._progress.done()
        for kind in KINDS[KINDS.index(resumed) :]:
            start = checkpoint.reconcile.position if kind is resumed else Position()
            windows = RunWindows(self.source, kind, position=start)
            span = windows.span()
            self._progress.listing(f"{kind.noun}s")
            self._progress.update(covered(span, start), self.summary)
            for runs in windows.pages():
                checkpoint = self._noted(checkpoint, kind, self._copy_runs(kind, runs))
                checkpoint = checkpoint.reconciled_to(kind, windows.position)
                self.checkpoints.save(checkpoint)
                self._progress.update(covered(span, windows.position), self.summary)
                if self.stop.is_set():
                    self._progress.done()
                    return None
            self._progress.update(1.0, self.summary)
            self._progress.done()
            if kind is not KINDS[-1]:
                checkpoint = checkpoint.reconciled_to(KINDS[KINDS.index(kind) + 1], Position())
        return checkpoint.reconcile_completed()

    def _follow(self, checkpoint: Checkpoint, now: datetime) -> Checkpoint | None:
        assert checkpoint.events_until is not None
        since = datetime.fromisoformat(checkpoint.events_until) - OVERLAP
        until = fixed_width_utc(now - SETTLING)
        windows = EventWindows(self.source, fixed_width_utc(since), until)
        span = (windows.since, until)
        self._progress.listing("events")
        for events in windows.pages():
            if events:
                checkpoint = self._copy_changes(checkpoint, events)
                at = datetime.fromisoformat(windows.position.after or until)
                checkpoint = replace(checkpoint, events_until=fixed_width_utc(at))
                self.checkpoints.save(checkpoint)
            self._progress.update(covered(span, windows.position), self.summary)
            if self.stop.is_set():
                self._progress.done()
                return None
        self._progress.done()
        return replace(checkpoint, events_until=until)

    def _copy_changes(self, checkpoint: Checkpoint, events: list[StateEvent]) -> Checkpoint:
        """Copy the states a page of events names that are not stored, with what else
        changed with them that has no events of its own."""
        self.summary.events_read += len(events)
        named: dict[RunKind, dict[str, dict[str, str]]] = {
            kind: defaultdict(dict) for kind in KINDS
        }
        related: dict[str, set[str]] = defaultdict(set)  # flow run: the task runs it relates
        for event in events:
            if event.run is not None:
                kind, run_id = event.run
                named[kind][run_id][event.id] = event.occurred
                related[run_id].update(event.related_task_runs)
        missing: dict[RunKind, dict[str, dict[str, str]]] = {}
        for kind in KINDS:
            ids = [state for states in named[kind].values() for state in states]
            stored = self.tables.stored_ids(self._destination.tables[kind], ids)
            self.summary.states_present += len(stored)
            missing[kind] = {
                run: {state: at for state, at in states.items() if state not in stored}
                for run, states in named[kind].items()
                if not stored.issuperset(states)
            }
        flow_copies = self._copy_runs(FLOW_RUN, [_run(id) for id in missing[FLOW_RUN]])
        checkpoint = self._noted(checkpoint, FLOW_RUN, flow_copies, missing[FLOW_RUN])
        changed = [copy.run_id for copy in flow_copies if copy.copied]
        also = {task_run for flow_run in missing[FLOW_RUN] for task_run in related[flow_run]}
        task_runs = {id: _run(id) for id in missing[TASK_RUN]}
        for run in self._task_runs_behind(changed, also):
            task_runs.setdefault(run.id, run)
        task_copies = self._copy_runs(TASK_RUN, list(task_runs.values()))
        for kind, copies in ((FLOW_RUN, flow_copies), (TASK_RUN, task_copies)):
            copied = {copy.run_id for copy in copies}
            self.records.refresh(
                RUN_RECORDS[kind],
                {
                    run: max(states.values(), key=datetime.fromisoformat)
                    for run, states in named[kind].items()
                    if run not in copied
                },
            )
        return self._noted(checkpoint, TASK_RUN, task_copies, missing[TASK_RUN])

    def _task_runs_behind(self, flow_runs: list[str], task_runs: set[str]) -> list[Run]:
        """The task runs of `flow_runs`, and `task_runs`, whose current state is not stored:
        task runs orchestrated through the API change without an event of their own."""
        filters = [{"flow_run_id": {"any_": chunk}} for chunk in _chunks(flow_runs)]
        filters += [{"id": {"any_": chunk}} for chunk in _chunks(sorted(task_runs))]
        runs = [
            run
            for run_filter in filters
            for page in RunWindows(self.source, TASK_RUN, run_filter).pages()
            for run in page
        ]
        current = [run.state_id for run in runs if run.state_id]
        stored = self.tables.stored_ids(self._destination.tables[TASK_RUN], current)
        return [run for run in runs if run.state_id and run.state_id not in stored]

    # --- what is left over: pending states, failed runs --------------------------------

    def _noted(
        self,
        checkpoint: Checkpoint,
        kind: RunKind,
        copies: list[RunCopy],
        named: dict[str, dict[str, str]] | None = None,
    ) -> Checkpoint:
        """The checkpoint with `copies`' failures recorded (and successes cleared), and
        the states `named` by events that their runs' sources did not serve kept pending."""
        now = fixed_width_utc(self._now())
        failed = {(item.kind, item.run): item for item in checkpoint.failed}
        pending = {(item.kind, item.state): item for item in checkpoint.pending}
        for copy in copies:
            key = (kind.noun, copy.run_id)
            if copy.error is not None:
                self._seen_this_pass.add(key)
                what = f"{kind.noun} {copy.run_id}: {copy.error}"
                logger.warning("skipped, its requests kept failing: %s", what)
                self.summary.runs_failed.append(what)
                error = copy.error[:ERROR_TEXT]
                failed.setdefault(key, FailedRun(kind.noun, copy.run_id, now, error))
                continue
            failed.pop(key, None)
            for state, occurred in (named or {}).get(copy.run_id, {}).items():
                if state not in copy.served:
                    self._seen_this_pass.add(key)
                    pending[(kind.noun, state)] = PendingState(
                        kind.noun, copy.run_id, state, occurred
                    )
        return checkpoint.with_failed(list(failed.values())).with_pending(list(pending.values()))

    def _look_again(self, checkpoint: Checkpoint) -> Checkpoint:
        """Read again the runs that failed and the runs of the states pending, from before
        this pass; give up a pending state once its run is gone or its event would have been
        deleted."""
        for kind in KINDS:
            earlier = {
                item.run
                for item in checkpoint.failed + checkpoint.pending
                if item.kind == kind.noun and (item.kind, item.run) not in self._seen_this_pass
            }
            if not earlier:
                continue
            copies = {copy.run_id: copy for copy in self._copy_runs(kind, map(_run, earlier))}
            checkpoint = self._noted(checkpoint, kind, list(copies.values()))
            oldest = fixed_width_utc(self._now() - EVENT_RETENTION)
            kept = []
            for item in checkpoint.pending:
                copy = copies.get(item.run) if item.kind == kind.noun else None
                if copy is None or copy.error is not None:
                    kept.append(item)
                elif item.state in copy.served:
                    continue  # copied now
                elif not self.source.run_exists(kind, item.run):
                    logger.info("pending %s state %s: its run is gone", kind.noun, item.state)
                elif fixed_width_utc(datetime.fromisoformat(item.occurred)) < oldest:
                    what = f"{kind.noun} state {item.state} of run {item.run} ({item.occurred})"
                    logger.warning("given up, never served by the source: %s", what)
                    self.summary.states_given_up.append(what)
                else:
                    kept.append(item)
            checkpoint = replace(checkpoint, pending=tuple(kept))
        return checkpoint

    # --- copying runs -------------------------------------------------------------------

    def _copy_runs(self, kind: RunKind, runs: Iterable[Run]) -> list[RunCopy]:
        """Read each run's states and store those not stored; returns once they are."""
        runs = list(runs)
        if not runs:
            return []
        table = self._destination.tables[kind]
        read = list(self._executor.map(lambda run: self._read_run(kind, run), runs))
        copies = [copy for copy, _ in read]
        if len(runs) > 1 and all(copy.error is not None for copy in copies):
            raise SourceError(f"every run of a page failed; the last: {copies[-1].error}")
        self.summary.runs_read += sum(1 for copy in copies if copy.error is None)
        earlier = [(copy, item) for copy, states in read for item in states.earlier]
        last = [(copy, states.current) for copy, states in read if states.current is not None]
        stored = self.tables.stored_ids(table, (item[ID]["S"] for _, item in earlier + last))
        self.summary.states_present += len(stored)
        # Every run's earlier states first, then their current states (see `_RunStates`).
        for items in (earlier, last):
            missing = [(copy, item) for copy, item in items if item[ID]["S"] not in stored]
            self.tables.put(table, [item for _, item in missing])
            for copy, _ in missing:
                copy.copied += 1
            self.summary.states_copied += len(missing)
        # Then their records: as the listing served them, else read now.
        done = {copy.run_id: copy for copy in copies if copy.error is None}
        self.records.copy_runs(
            RUN_RECORDS[kind],
            {run.id: run.record for run in runs if run.id in done},
            {run_id: copy.latest for run_id, copy in done.items()},
        )
        return copies

    def _read_run(self, kind: RunKind, run: Run) -> tuple[RunCopy, _RunStates]:
        """A run's states as items to store; those skipped are counted (under a lock: this
        runs in the executor's threads). A run whose requests fail is returned with its
        error, unless the source refuses the credentials, which stops the copy."""
        copy = RunCopy(run.id)
        try:
            states = self.source.run_states(kind, run.id)
        except SourceUnauthorized:
            raise
        except (SourceError, ValueError) as error:
            copy.error = str(error)
            return copy, _RunStates()
        copy.served = {state.id for state in states}
        times = [state.timestamp for state in states]
        copy.latest = max(times, key=datetime.fromisoformat, default=None)
        return copy, self._items(kind, run, states)

    def _items(self, kind: RunKind, run: Run, states: list[SourceState]) -> _RunStates:
        now = fixed_width_utc(self._now())
        result = _RunStates()
        for state in states:
            stored = self._destination.stored(kind, run.id, state)
            if not stored.is_live(now):
                self._count_expired()
                continue
            item = state_item(kind.table, stored)
            if not fits_in_an_item(item):
                size = f"{item_size(item):,} B"
                self._name_too_large(f"{kind.noun} state {state.id} of run {run.id}: {size}")
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


def _run(run_id: str) -> Run:
    """A run known by its id alone (from an event, or the checkpoint)."""
    return Run(run_id, state_id=None, expected_start_time=None)


def _chunks(ids: list[str]) -> list[list[str]]:
    return [ids[start : start + IDS_A_REQUEST] for start in range(0, len(ids), IDS_A_REQUEST)]
