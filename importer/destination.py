"""Where the copy keeps each kind's states, and a source's state in the form stored there:
one definition for the import and for `verify`, which must agree on what is stored."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from api.runs import RunKind
from api.settings import Settings
from importer.checkpoint import KINDS
from importer.source import SourceState
from storage.repository import StoredState, state_to_store


@dataclass(frozen=True, slots=True)
class StateDestination:
    """Each kind's state table and retention, as the settings give them."""

    tables: dict[RunKind, str]
    retention: dict[RunKind, timedelta | None]

    @classmethod
    def of(cls, settings: Settings) -> "StateDestination":
        return cls(
            {kind: settings.table(kind.table).name for kind in KINDS},
            {kind: settings.table(kind.table).retention for kind in KINDS},
        )

    def stored(self, kind: RunKind, run_id: str, state: SourceState) -> StoredState:
        """`state` as it is stored: ordered and expiring by its own timestamp."""
        moment = datetime.fromisoformat(state.timestamp)
        return state_to_store(state.id, run_id, moment, state.document, self.retention[kind])
