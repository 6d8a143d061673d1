"""Turning a proposal into a stored state, and stored states into response bodies."""

import os
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid5

from fastapi import Response

from api.runs import RunKind
from api.schemas import AcceptDetails, RejectDetails, State, StateCreate, StateType
from storage.repository import StoredState, state_to_store

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ACCEPTED = ',"status":"ACCEPT","details":' + AcceptDetails().model_dump_json() + "}"
_REJECTED = ',"status":"REJECT","details":' + RejectDetails().model_dump_json() + "}"


def uuid7(moment: datetime) -> UUID:
    """A version 7 UUID (RFC 9562): 48 bits of Unix milliseconds, then random bits."""
    milliseconds = (moment - _EPOCH) // timedelta(milliseconds=1)
    random = int.from_bytes(os.urandom(10))
    return UUID(
        int=(milliseconds & (1 << 48) - 1) << 80
        | 0x7 << 76
        | (random >> 62 & 0xFFF) << 64
        | 0b10 << 62
        | random & (1 << 62) - 1
    )


def state_id(run_id: UUID, transition_id: UUID | None, moment: datetime) -> UUID:
    """A retried transition of a run always gets the same id, so storing it twice is
    impossible; any other proposal gets a fresh, time-ordered one."""
    return uuid7(moment) if transition_id is None else uuid5(run_id, str(transition_id))


def new_state(
    kind: RunKind,
    run_id: UUID,
    proposal: StateCreate,
    now: datetime,
    retention: timedelta | None = None,
) -> StoredState:
    """The state to store for a proposal made `now`, served for `retention` (None: until
    deleted)."""
    details = proposal.state_details.model_copy(update={kind.run_id_field: run_id})
    if proposal.type is StateType.SCHEDULED and details.scheduled_time is None:
        details.scheduled_time = now
    identifier = state_id(run_id, details.transition_id, now)
    state = State(
        id=identifier,
        type=proposal.type,
        name=proposal.type.value.capitalize() if proposal.name is None else proposal.name,
        timestamp=now,
        message=proposal.message,
        data=proposal.data,
        state_details=details,
    )
    return state_to_store(str(identifier), str(run_id), now, state.model_dump_json(), retention)


def json_response(body: str, status_code: int = 200) -> Response:
    return Response(body, status_code=status_code, media_type="application/json")


def orchestration_response(state: StoredState, accepted: bool) -> Response:
    """201 ACCEPT for a state just stored; 200 REJECT, Prefect's answer to a repeated
    transition, with the state already stored."""
    tail = _ACCEPTED if accepted else _REJECTED
    return json_response('{"state":' + state.document + tail, 201 if accepted else 200)
