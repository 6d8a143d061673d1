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
    runs_read: int = 0
    runs_complete: int = 0  # their current state was stored: nothing more read of them
    states_copied: int = 0
    states_present: int = 0
    states_expired: int = 0  # past the retention period: not copied
    states_too_large: list[str] = field(default_factory=list)  # what each was, by id

    def lines(self) -> list[str]:
        skipped = self.states_expired + len(self.states_too_large)
        lines = [
            f"runs read: {self.runs_read:,}",
            f"  already copied in full (their states not read again): {self.runs_complete:,}",
            f"states copied: {self.states_copied:,}",
            f"states already present: {self.states_present:,}",
            f"states skipped: {skipped:,}",
            f"  past the retention period: {self.states_expired:,}",
            f"  over DynamoDB's 400 KB item limit: {len(self.states_too_large):,}",
        ]
        lines += [f"    {what}" for what in self.states_too_large]
        return lines


class Progress:
    """Runs done of the listing in progress, and the states copied so far."""

    def __init__(self, stream: TextIO = sys.stderr) -> None:
        self._stream = stream
        self._bar = stream.isatty()
        self._last_line = 0.0
        self._what = ""
        self._total = 0

    def listing(self, what: str, total: int, done: int) -> None:
        self._what, self._total = what, total
        self._last_line = 0.0
        self.update(done, Summary())

    def update(self, done: int, summary: Summary) -> None:
        counts = (
            f"{done:,}/{self._total:,} {self._what}, {summary.states_copied:,} states copied, "
            f"{summary.states_present:,} present"
        )
        if self._bar:
            filled = _BAR_WIDTH * min(done, self._total) // max(self._total, 1)
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
