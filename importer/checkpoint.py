"""Where an import got to: the importer's checkpoint, one per source URL (so that one pair
of tables can follow several Prefect servers), kept in `storage.checkpoints` as a JSON
document whose fields this module alone defines.

Each field is a claim true of the copy that wrote it, so that the last of two concurrent
writers wins without losing anything: at worst work is done twice.
"""

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from api.runs import FLOW_RUN, TASK_RUN, RunKind
from importer.windows import Position
from storage.checkpoints import CheckpointStore
from storage.repository import fixed_width_utc

# Events are read again from this long before the last pass's end: an event becomes
# readable up to 5 s after it occurred (Prefect's persister batches), later for a client
# whose clock is behind, or whose events were queued.
OVERLAP = timedelta(minutes=10)
# Prefect keeps events 7 days (PREFECT_SERVER_EVENTS_RETENTION_PERIOD). A follower away
# longer than this, less a margin, may have lost events: it reconciles instead.
EVENT_RETENTION = timedelta(days=7) - timedelta(hours=12)
# The lists below are bounded, so that the item stays well under DynamoDB's 400 KB (about
# 150 B a pending state, 250 B a failed run). What does not fit is dropped, and the next
# pass reconciles, which reads every run the source holds and so finds them.
MAX_PENDING = 500
MAX_FAILED = 500
ERROR_TEXT = 120  # characters of a failed run's last error kept

KINDS = (FLOW_RUN, TASK_RUN)
_KIND_NAMES = {kind.noun: kind for kind in KINDS}


def kind_named(noun: str) -> RunKind:
    return _KIND_NAMES[noun]


@dataclass(frozen=True, slots=True)
class PendingState:
    """A state an event named that the source did not serve yet (its task-run recorder
    lags, or inserted it late): looked for again each pass, given up after the events'
    retention."""

    kind: str  # RunKind.noun
    run: str
    state: str
    occurred: str


@dataclass(frozen=True, slots=True)
class FailedRun:
    """A run whose requests kept failing: skipped, and tried again each pass."""

    kind: str  # RunKind.noun
    run: str
    since: str  # when it first failed (fixed-width UTC)
    error: str


@dataclass(frozen=True, slots=True)
class Reconcile:
    """A reconcile in progress: begun at `started`, walking `kind`'s runs at `position`."""

    started: str
    kind: str = FLOW_RUN.noun
    position: Position = field(default_factory=Position)


@dataclass(frozen=True, slots=True)
class Checkpoint:
    events_until: str | None = None  # events processed up to here (None: never reconciled)
    reconcile: Reconcile | None = None
    last_reconcile: str | None = None  # when the last completed reconcile began
    pending: tuple[PendingState, ...] = ()
    failed: tuple[FailedRun, ...] = ()
    # The oldest item dropped at the bounds above, until a reconcile begun after it ends.
    overflow_since: str | None = None

    @property
    def in_pass(self) -> bool:
        """A reconcile is in progress (the first copy's, say)."""
        return self.reconcile is not None

    def needs_reconcile(self, now: datetime) -> bool:
        if self.events_until is None or self.overflow_since is not None:
            return True
        return datetime.fromisoformat(self.events_until) < now - EVENT_RETENTION

    @property
    def complete_until(self) -> str | None:
        """Up to when the copy is known complete: events processed up to `events_until`
        less the overlap, held back by the oldest state still pending, run failing, or item
        dropped. None before the first reconcile ends."""
        if self.events_until is None:
            return None
        bounds = [fixed_width_utc(datetime.fromisoformat(self.events_until) - OVERLAP)]
        bounds += [fixed_width_utc(datetime.fromisoformat(p.occurred)) for p in self.pending]
        bounds += [failed.since for failed in self.failed]
        bounds += [self.overflow_since] if self.overflow_since else []
        return min(bounds)

    def begin_reconcile(self, now: datetime) -> "Checkpoint":
        return replace(self, reconcile=Reconcile(started=fixed_width_utc(now)))

    def reconciled_to(self, kind: RunKind, position: Position) -> "Checkpoint":
        assert self.reconcile is not None
        return replace(self, reconcile=replace(self.reconcile, kind=kind.noun, position=position))

    def reconcile_completed(self) -> "Checkpoint":
        """Every state the source held when the reconcile began is copied (or pending, or
        its run failed): events are read from then on."""
        assert self.reconcile is not None
        started = self.reconcile.started
        overflow = self.overflow_since
        return replace(
            self,
            reconcile=None,
            events_until=started,
            last_reconcile=started,
            overflow_since=None if overflow is not None and overflow < started else overflow,
        )

    def with_pending(self, pending: list[PendingState]) -> "Checkpoint":
        kept = sorted(pending, key=lambda item: item.occurred)
        return self._bounded(replace(self, pending=tuple(kept[-MAX_PENDING:])), kept[:-MAX_PENDING])

    def with_failed(self, failed: list[FailedRun]) -> "Checkpoint":
        kept = sorted(failed, key=lambda item: item.since)
        return self._bounded(replace(self, failed=tuple(kept[-MAX_FAILED:])), kept[:-MAX_FAILED])

    @staticmethod
    def _bounded(checkpoint: "Checkpoint", dropped: list[Any]) -> "Checkpoint":
        if not dropped:
            return checkpoint
        oldest = min(
            fixed_width_utc(datetime.fromisoformat(getattr(item, "occurred", None) or item.since))
            for item in dropped
        )
        since = min(filter(None, [checkpoint.overflow_since, oldest]))
        return replace(checkpoint, overflow_since=since)

    def to_document(self) -> dict[str, Any]:
        reconcile = self.reconcile
        return {
            "events_until": self.events_until,
            "reconcile": None
            if reconcile is None
            else {
                "started": reconcile.started,
                "kind": reconcile.kind,
                "after": reconcile.position.after,
                "boundary": list(reconcile.position.boundary),
            },
            "last_reconcile": self.last_reconcile,
            "pending": [vars_of(item) for item in self.pending],
            "failed": [vars_of(item) for item in self.failed],
            "overflow_since": self.overflow_since,
        }

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> "Checkpoint":
        if "watermark" in document:  # the offset design's checkpoint: reconcile once
            return cls()
        reconcile = document.get("reconcile")
        return cls(
            events_until=document.get("events_until"),
            reconcile=None
            if reconcile is None
            else Reconcile(
                started=reconcile["started"],
                kind=reconcile["kind"],
                position=Position(reconcile["after"], tuple(reconcile["boundary"])),
            ),
            last_reconcile=document.get("last_reconcile"),
            pending=tuple(PendingState(**item) for item in document.get("pending", [])),
            failed=tuple(FailedRun(**item) for item in document.get("failed", [])),
            overflow_since=document.get("overflow_since"),
        )


def vars_of(item: PendingState | FailedRun) -> dict[str, str]:
    return {name: getattr(item, name) for name in item.__slots__}


class SourceCheckpoint:
    def __init__(self, store: CheckpointStore, source_url: str) -> None:
        """The checkpoint of `source_url`, kept in `store`."""
        self._store = store
        self._source_url = source_url

    def load(self) -> Checkpoint:
        document = self._store.load(self._source_url)
        return Checkpoint() if document is None else Checkpoint.from_document(document)

    def save(self, checkpoint: Checkpoint) -> None:
        self._store.save(self._source_url, checkpoint.to_document())
