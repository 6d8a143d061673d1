"""The state repository in a dict, for the warm benchmark's `--storage memory`
(`benchmarks/warm.py`), where what is measured is everything but the database.
`tests/test_storage.py` holds it to the interface's promises beside the DynamoDB repository:
expired and deleted states are absent, and an expired or deleted holder of an id gives way to
a write."""

from collections.abc import Callable, Iterator
from datetime import datetime

from storage.repository import StoredState, fixed_width_utc


class InMemoryStateRepository:
    def __init__(self, now: Callable[[], datetime]) -> None:
        self._states: dict[str, StoredState] = {}
        self._deleted: set[str] = set()  # tombstones: ids deleted through the API
        self._now = now

    def read(self, state_id: str) -> StoredState | None:
        state = self._states.get(state_id)
        if state is None or state_id in self._deleted or not state.is_live(self._now_text()):
            return None
        return state

    def delete(self, state_id: str) -> bool:
        if self.read(state_id) is None:
            return False
        self._deleted.add(state_id)
        return True

    def insert(self, state: StoredState) -> StoredState | None:
        existing = self.read(state.id)
        if existing is not None:
            return existing
        self._states[state.id] = state
        self._deleted.discard(state.id)
        return None

    def list_run(
        self, run_id: str, after: str | None = None, batch_size: int | None = None
    ) -> Iterator[StoredState]:
        now = self._now_text()
        states = sorted(
            (
                state
                for state in self._states.values()
                if state.run_id == run_id and state.id not in self._deleted
            ),
            key=lambda state: state.list_order,
        )
        return iter(
            [
                state
                for state in states
                if (after is None or state.list_order > after) and state.is_live(now)
            ]
        )

    def _now_text(self) -> str:
        return fixed_width_utc(self._now())
