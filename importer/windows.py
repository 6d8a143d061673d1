"""Walking the source's runs and events by keys, never by offsets: pages that runs or events
leaving (deleted, vacuumed, retried) cannot shift.

Runs are walked by `expected_start_time`, ascending: Prefect sets it once, at a run's first
state, and never changes it (facts §2). Each page asks from the last instant seen
(`after_` is inclusive) and leaves out the runs already read at that instant: flow runs by
`id.not_any_`; task runs, which have no such filter, by dropping them from the answer. A
whole page of task runs at one instant cannot be stepped over that way: that instant alone
is then read with Prefect's offsets, and the walk goes on a microsecond later (Prefect keeps
times to the microsecond).

Events are walked by `occurred` in the same way, deduplicated by event id (facts §1).
"""

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from api.runs import FLOW_RUN, RunKind
from importer.source import EVENTS_PAGE_SIZE, PrefectSource, Run, StateEvent

_MICROSECOND = timedelta(microseconds=1)


def _later(instant: str) -> str:
    return (datetime.fromisoformat(instant) + _MICROSECOND).isoformat()


@dataclass(frozen=True, slots=True)
class Position:
    """Where a walk is: from `after` (inclusive; None: the start), less `boundary`, the ids
    already read at exactly `after`. What the checkpoint keeps of a walk in progress."""

    after: str | None = None
    boundary: tuple[str, ...] = ()

    def past(self, read: list[str], instants: list[str]) -> "Position":
        """The position after the items `read`, whose keys are `instants` (ascending)."""
        if not instants:
            return self
        last = instants[-1]
        at_last = tuple(id for id, instant in zip(read, instants, strict=True) if instant == last)
        carried = self.boundary if last == self.after else ()
        return Position(last, carried + at_last)

    def beyond(self, instant: str) -> "Position":
        """Past every item at `instant`."""
        return Position(_later(instant))


@dataclass
class RunWindows:
    """The runs of `kind` that `run_filter` selects, page by page from `position`."""

    source: PrefectSource
    kind: RunKind
    run_filter: dict[str, Any] = field(default_factory=dict)
    position: Position = field(default_factory=Position)

    def pages(self) -> Iterator[list[Run]]:
        """Each page's runs not read before; `position` is past a page when it is yielded
        (to be saved once the page is done)."""
        while True:
            runs = self.source.list_runs(self.kind, self._window())
            full = len(runs) >= (self.source.page_size or 0)
            seen = set(self.position.boundary)
            at = self.position.after
            if full and at is not None and all(run.expected_start_time == at for run in runs):
                self.position = self.position.beyond(at)
                yield [run for run in self._one_instant(at) if run.id not in seen]
                continue
            new = [run for run in runs if run.id not in seen]
            keyed = [run for run in new if run.expected_start_time is not None]
            self.position = self.position.past(
                [run.id for run in keyed], [run.expected_start_time or "" for run in keyed]
            )
            yield new
            if not full:
                return

    def span(self) -> tuple[str, str] | None:
        """The oldest and newest `expected_start_time` of the runs selected: what progress
        is measured against (never a `count`, which scans every run)."""
        oldest = self.source.list_runs(self.kind, self.run_filter, limit=1)
        newest = self.source.list_runs(
            self.kind, self.run_filter, sort="EXPECTED_START_TIME_DESC", limit=1
        )
        if not oldest or not newest:
            return None
        first, last = oldest[0].expected_start_time, newest[0].expected_start_time
        return (first, last) if first and last else None

    def _window(self) -> dict[str, Any]:
        window = dict(self.run_filter)
        if self.position.after is not None:
            window["expected_start_time"] = {"after_": self.position.after}
            if self.kind is FLOW_RUN and self.position.boundary:
                window["id"] = {"not_any_": list(self.position.boundary)}
        return window

    def _one_instant(self, instant: str) -> list[Run]:
        window = {**self.run_filter, "expected_start_time": {"after_": instant, "before_": instant}}
        runs: list[Run] = []
        while True:
            page = self.source.list_runs(self.kind, window, offset=len(runs))
            runs += page
            if len(page) < (self.source.page_size or 0):
                return runs


def covered(span: tuple[str, str] | None, position: Position) -> float:
    """How far through `span` a walk at `position` is, from 0 to 1."""
    if span is None or position.after is None:
        return 0.0
    oldest, newest = (datetime.fromisoformat(instant) for instant in span)
    at = datetime.fromisoformat(position.after)
    whole = (newest - oldest).total_seconds()
    return 1.0 if whole <= 0 else min(max((at - oldest).total_seconds() / whole, 0.0), 1.0)


@dataclass
class EventWindows:
    """The source's events from `since` to `until`, page by page from `position`."""

    source: PrefectSource
    since: str
    until: str
    position: Position = field(init=False)

    def __post_init__(self) -> None:
        self.position = Position(self.since)

    def pages(self) -> Iterator[list[StateEvent]]:
        """Each page's events not read before; `position` is past a page when it is
        yielded."""
        while True:
            instant = self.position.after
            assert instant is not None
            events = self.source.state_events(instant, self.until)
            seen = set(self.position.boundary)
            full = len(events) >= EVENTS_PAGE_SIZE
            if full and all(event.occurred == instant for event in events):
                self.position = self.position.beyond(instant)
                yield [
                    event for event in self.source.state_events_at(instant) if event.id not in seen
                ]
                continue
            new = [event for event in events if event.id not in seen]
            self.position = self.position.past(
                [event.id for event in new], [event.occurred for event in new]
            )
            yield new
            if not full:
                return
