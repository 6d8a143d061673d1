"""`python -m importer status SOURCE`: how far a copy is known complete, from its checkpoint
alone (read-only: the source is not contacted)."""

from datetime import datetime

from importer.checkpoint import Checkpoint


def status_lines(checkpoint: Checkpoint, now: datetime) -> list[str]:
    complete_until = checkpoint.complete_until
    behind = lag_seconds(checkpoint, now)
    lag = "unknown: the first copy has not completed" if behind is None else f"{behind:,.0f} s"
    reconcile = checkpoint.reconcile
    lines = [
        f"complete until: {complete_until or 'never (no copy has completed)'}",
        f"lag: {lag}",
        f"events read up to: {checkpoint.events_until or 'none yet'}",
        f"last reconcile: {checkpoint.last_reconcile or 'none completed'}",
    ]
    if reconcile is not None:
        at = reconcile.position.after or "the start"
        lines.append(
            f"reconcile in progress: begun {reconcile.started}, at the {reconcile.kind}s "
            f"expected to start from {at}"
        )
    lines += [
        f"pending states: {len(checkpoint.pending):,}",
        f"failed runs: {len(checkpoint.failed):,}",
    ]
    if checkpoint.overflow_since is not None:
        lines.append(
            f"more failed or pending than the checkpoint keeps, since {checkpoint.overflow_since}:"
            " the next pass reconciles"
        )
    return lines


def lag_seconds(checkpoint: Checkpoint, now: datetime) -> float | None:
    """How far behind `now` the copy is known complete (None before the first copy): the
    figure to publish and alarm on."""
    complete_until = checkpoint.complete_until
    if complete_until is None:
        return None
    return (now - datetime.fromisoformat(complete_until)).total_seconds()
