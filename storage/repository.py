"""The storage interface the routes depend on, and what it can raise."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from storage.table_shapes import RecordTable, StateTable


def fixed_width_utc(moment: datetime) -> str:
    """A UTC timestamp in one fixed width, so that string order is time order."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True, slots=True)
class StoredState:
    id: str
    run_id: str
    list_order: str  # fixed_width_utc(timestamp) + "#" + id: sorts as the listing order
    document: str  # the State as the JSON text the API serves
    expires_at: str | None = None  # fixed_width_utc(expiry); None keeps it until deleted

    def is_live(self, now: str) -> bool:
        """Served while now (fixed-width UTC) is before the expiry."""
        return self.expires_at is None or now < self.expires_at


def state_to_store(
    state_id: str, run_id: str, timestamp: datetime, document: str, retention: timedelta | None
) -> StoredState:
    """A state as it is stored: ordered and expiring by its own timestamp, served for
    `retention` (None: until deleted)."""
    return StoredState(
        id=state_id,
        run_id=run_id,
        list_order=f"{fixed_width_utc(timestamp)}#{state_id}",
        document=document,
        expires_at=None if retention is None else fixed_width_utc(timestamp + retention),
    )


class StateTooLarge(Exception):
    """A state over the database's item limit. `size` is None where the database refused it
    before the service's own count did (moto, under `make serve`, cuts at 405,000 bytes)."""

    def __init__(self, size: int | None, limit: int) -> None:
        if size is None:
            what = f"The database refused the state as over its item limit (DynamoDB's is {limit:,}"
        else:
            what = f"The state is {size:,} bytes as stored, over DynamoDB's item limit ({limit:,}"
        super().__init__(
            f"{what} bytes, 400 KB), so nothing was stored. Keep large results elsewhere (such "
            "as Prefect's result storage) and put a reference to them in `data`."
        )
        self.size = size
        self.limit = limit


class StorageUnavailable(Exception):
    """The database throttled or could not be reached after retries: worth retrying later."""


class StorageMisconfigured(Exception):
    """The table is missing or access to it is denied: an operator must act."""

    def __init__(self, table: StateTable | RecordTable, name: str, code: str) -> None:
        super().__init__(f"DynamoDB table {name!r} answered {code}")
        self.table = table
        self.name = name
        self.code = code


class StateRepository(Protocol):
    def read(self, state_id: str) -> StoredState | None:
        """The live state with this id, if any."""
        ...

    def delete(self, state_id: str) -> bool:
        """Delete the state; False when there was no live state with this id."""
        ...

    def insert(self, state: StoredState) -> StoredState | None:
        """Store a state whose id is new (or whose holder has expired).

        Returns None when it was stored, or the live state already stored under its id.
        """
        ...

    def list_run(
        self, run_id: str, after: str | None = None, batch_size: int | None = None
    ) -> Iterator[StoredState]:
        """A run's live states in listing order, from just after `after` (a `list_order`).

        Lazily: each database call reads at most `batch_size` items (None: as many as one
        call gives), and the next call is made only when the caller reads past them.
        """
        ...
