"""The importer's checkpoint without a Prefect server: bounded well under DynamoDB's item
limit, what happens at the bound, complete_until, and the keyset positions it keeps."""

import json
import uuid
from datetime import UTC, datetime, timedelta

from importer.checkpoint import (
    MAX_FAILED,
    MAX_PENDING,
    OVERLAP,
    Checkpoint,
    FailedRun,
    PendingState,
)
from importer.windows import Position
from storage.repository import fixed_width_utc

NOW = datetime(2026, 12, 5, 12, tzinfo=UTC)


def test_at_its_bounds_the_checkpoint_stays_small_and_asks_for_a_reconcile() -> None:
    def moment(n: int) -> str:
        return fixed_width_utc(NOW - timedelta(minutes=n))

    pending = [
        PendingState("task run", str(uuid.uuid4()), str(uuid.uuid4()), moment(n))
        for n in range(MAX_PENDING + 10)
    ]
    failed = [
        FailedRun("flow run", str(uuid.uuid4()), moment(n), "x" * 120)
        for n in range(MAX_FAILED + 10)
    ]
    checkpoint = Checkpoint(events_until=fixed_width_utc(NOW)).with_pending(pending)
    checkpoint = checkpoint.with_failed(failed)
    assert len(checkpoint.pending) == MAX_PENDING
    assert len(checkpoint.failed) == MAX_FAILED
    # The oldest were dropped: the next pass reconciles, and until it ends the copy is known
    # complete only up to the oldest dropped.
    assert checkpoint.overflow_since == moment(MAX_PENDING + 9)
    assert checkpoint.complete_until == checkpoint.overflow_since
    assert checkpoint.needs_reconcile(NOW)
    document = json.dumps(checkpoint.to_document())
    # Full, about half DynamoDB's 400 KB: a reconcile's boundary ids add at most a page's.
    assert len(document.encode()) < 220_000
    assert Checkpoint.from_document(json.loads(document)) == checkpoint

    reconciled = checkpoint.begin_reconcile(NOW + timedelta(hours=1)).reconcile_completed()
    assert reconciled.overflow_since is None


def test_complete_until_is_the_events_less_the_overlap_held_back_by_what_is_left() -> None:
    assert Checkpoint().complete_until is None
    followed = Checkpoint(events_until=fixed_width_utc(NOW))
    assert followed.complete_until == fixed_width_utc(NOW - OVERLAP)
    failing = FailedRun("flow run", "r", fixed_width_utc(NOW - timedelta(hours=2)), "503")
    assert followed.with_failed([failing]).complete_until == failing.since
    late = PendingState("task run", "r", "s", "2026-12-05T09:00:00.5Z")
    assert followed.with_pending([late]).complete_until == "2026-12-05T09:00:00.500000Z"


def test_a_follower_away_longer_than_the_events_are_kept_reconciles() -> None:
    followed = Checkpoint(events_until=fixed_width_utc(NOW))
    assert not followed.needs_reconcile(NOW + timedelta(days=6))
    assert followed.needs_reconcile(NOW + timedelta(days=7))
    assert Checkpoint.from_document({"watermark": "2026-01-01T00:00:00.000000Z"}) == Checkpoint()


def test_a_position_carries_the_ids_read_at_its_instant() -> None:
    start = Position()
    first = start.past(["a", "b", "c"], ["t1", "t2", "t2"])
    assert first == Position("t2", ("b", "c"))
    assert first.past(["d"], ["t2"]) == Position("t2", ("b", "c", "d"))
    assert first.past(["e"], ["t3"]) == Position("t3", ("e",))
    assert first.past([], []) == first
