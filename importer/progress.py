"""What an import reports: a bar on a terminal, a log line now and then otherwise, a summary."""

import logging
import sys
import time
from dataclasses import dataclass, field
from typing import TextIO

logger = logging.getLogger("prefect_run_states.importer")

LOG_EVERY = 10.0  # seconds between progress lines when no terminal shows a bar
_BAR_WIDTH = 30


@dataclass
class Summary:
    runs_read: int = 0  # runs whose states were read
    events_read: int = 0
    states_copied: int = 0
    states_present: int = 0
    states_expired: int = 0  # past the retention period: not copied
    states_too_large: list[str] = field(default_factory=list)  # what each was, by id
    states_pending: int = 0  # named by an event, not served yet: looked for next pass
    states_given_up: list[str] = field(default_factory=list)  # pending past the retention
    runs_failed: list[str] = field(default_factory=list)  # skipped: tried again next pass
    records_copied: int = 0  # runs', flows' and deployments': new, or changed
    records_present: int = 0  # stored already, as the source serves them
    records_expired: int = 0  # a run's, all of whose states are past the retention period
    records_too_large: list[str] = field(default_factory=list)  # what each was, by id

    def lines(self) -> list[str]:
        skipped = self.states_expired + len(self.states_too_large)
        lines = [
            f"runs read: {self.runs_read:,}",
            f"events read: {self.events_read:,}",
            f"states copied: {self.states_copied:,}",
            f"states already present: {self.states_present:,}",
            f"states skipped: {skipped:,}",
            f"  past the retention period: {self.states_expired:,}",
            f"  over DynamoDB's 400 KB item limit: {len(self.states_too_large):,}",
        ]
        lines += [f"    {what}" for what in self.states_too_large]
        lines.append(f"states pending (named by an event, not served yet): {self.states_pending:,}")
        lines.append(
            f"states given up (pending past the events' retention): {len(self.states_given_up):,}"
        )
        lines += [f"  {what}" for what in self.states_given_up]
        lines.append(f"runs failed (skipped, tried again next pass): {len(self.runs_failed):,}")
        lines += [f"  {what}" for what in self.runs_failed]
        lines += [
            f"records copied (runs, flows, deployments): {self.records_copied:,}",
            f"records already present: {self.records_present:,}",
            f"records skipped: {self.records_expired + len(self.records_too_large):,}",
            f"  past the retention period: {self.records_expired:,}",
            f"  over DynamoDB's 400 KB item limit: {len(self.records_too_large):,}",
        ]
        lines += [f"    {what}" for what in self.records_too_large]
        return lines


class Progress:
    """How far the walk in progress is (0 to 1: time covered between its oldest and newest
    run), and the states copied so far."""

    def __init__(self, stream: TextIO = sys.stderr) -> None:
        self._stream = stream
        self._bar = stream.isatty()
        self._last_line = 0.0
        self._what = ""

    def listing(self, what: str) -> None:
        self._what = what
        self._last_line = 0.0

    def update(self, covered: float, summary: Summary) -> None:
        counts = (
            f"{covered:.0%} of {self._what}, {summary.states_copied:,} states copied, "
            f"{summary.states_present:,} present, {summary.records_copied:,} records copied, "
            f"{summary.records_present:,} present, {len(summary.records_too_large):,} too large"
        )
        if self._bar:
            filled = int(_BAR_WIDTH * min(max(covered, 0.0), 1.0))
            bar = "#" * filled + "." * (_BAR_WIDTH - filled)
            self._stream.write(f"\r[{bar}] {counts}\033[K")
            self._stream.flush()
        elif time.monotonic() - self._last_line >= LOG_EVERY:
            self._last_line = time.monotonic()
            logger.info("progress: %s", counts)

    def done(self) -> None:
        if self._bar:
            self._stream.write("\n")
            self._stream.flush()
