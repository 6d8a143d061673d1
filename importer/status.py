"""`python -m importer status SOURCE`: how far a copy is known complete, from its checkpoint
alone (read-only: the source is not contacted)."""

from datetime import datetime

from importer.checkpoint import Checkpoint
from importer.metrics import lag_seconds


def status_lines(checkpoint: Checkpoint, now: datetime) -> list[str]:
    complete_until = checkpoint.complete_until
    if complete_until is None:
        lag = "unknown: the first copy has not completed"
    else:
        lag = f"{lag_seconds(datetime.fromisoformat(complete_until), now):,.0f} s"
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
