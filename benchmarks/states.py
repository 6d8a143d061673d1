"""States for the benchmarks: what an event's request finds stored, and a storage fake."""

import dataclasses
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from api.runs import RunKind
from api.schemas import StateCreate, StateType
from api.states import new_state
from benchmarks.functions import StorageRequest
from storage.repository import StateRepository, StoredState

LISTED_STATES = 5  # a flow run's usual history: scheduled, pending, running, completed...
_SOME_RUN = "00000000-0000-4000-8000-000000000000"  # the run of a state read or deleted
_START = datetime(2026, 1, 1, tzinfo=UTC)


def sample_state(
    kind: RunKind, run_id: str, index: int, state_id: str | None = None
) -> StoredState:
    """A completed state of `run_id`, `index` seconds into the run, as the service stores it."""
    proposal = StateCreate(type=StateType.COMPLETED, message="done", data={"rows": index})
    state = new_state(kind, UUID(run_id), proposal, _START + timedelta(seconds=index))
    if state_id is None:
        return state
    return dataclasses.replace(
        state,
        id=state_id,
        list_order=state.list_order.replace(state.id, state_id),
        document=state.document.replace(state.id, state_id),
    )


def seed(repository: StateRepository, request: StorageRequest) -> None:
    """Store what the request should find: its state, or its run's states."""
    if request.operation in ("read", "delete"):
        repository.insert(sample_state(request.kind, _SOME_RUN, 0, request.subject))
    elif request.operation == "list":
        for index in range(LISTED_STATES):
            repository.insert(sample_state(request.kind, request.subject, index))


def before_each(repository: StateRepository, request: StorageRequest | None) -> None:
    """Put back what the previous call changed, so that every call does the same work."""
    if request is not None and request.operation == "delete":
        seed(repository, request)


def after_each(
    repository: StateRepository, request: StorageRequest | None, response: dict[str, Any]
) -> None:
    if request is not None and request.operation == "set_state":
        # Forget the state just written, so that the next call is a first write too.
        repository.delete(json.loads(response["body"])["state"]["id"])
