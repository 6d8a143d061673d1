"""Every request and response body of the API, defined once.

The field order of each model is the key order on the wire.
"""

from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainSerializer


def assume_utc(value: datetime) -> datetime:
    """A naive date-time means UTC, as on a Prefect server."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def format_datetime(value: datetime) -> str:
    """ISO 8601 with `Z` for UTC, six fraction digits, and no fraction when it is zero."""
    # isoformat, not strftime: strftime writes the year 999 as "999", not "0999".
    text = value.replace(microsecond=0, tzinfo=None).isoformat()
    if value.microsecond:
        text += f".{value.microsecond:06d}"
    offset = value.utcoffset() or timedelta(0)
    if not offset:
        return text + "Z"
    sign = "-" if offset < timedelta(0) else "+"
    minutes, seconds = divmod(int(abs(offset).total_seconds()), 60)
    text += f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"
    return text + (f":{seconds:02d}" if seconds else "")


DateTime = Annotated[
    datetime,
    AfterValidator(assume_utc),
    PlainSerializer(format_datetime, return_type=str, when_used="json"),
]


class StateType(StrEnum):
    SCHEDULED = "SCHEDULED"
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    CRASHED = "CRASHED"
    PAUSED = "PAUSED"
    CANCELLING = "CANCELLING"


class StateDetails(BaseModel):
    # Prefect's client may send fields this server does not know yet; they are dropped.
    model_config = ConfigDict(extra="ignore")

    flow_run_id: UUID | None = None
    task_run_id: UUID | None = None
    child_flow_run_id: UUID | None = None
    scheduled_time: DateTime | None = None
    cache_key: str | None = None
    cache_expiration: DateTime | None = None
    deferred: bool | None = False
    untrackable_result: bool = False
    pause_timeout: DateTime | None = None
    pause_reschedule: bool = False
    pause_key: str | None = None
    run_input_keyset: dict[str, str] | None = None
    refresh_cache: bool | None = None
    retriable: bool | None = None
    transition_id: UUID | None = None
    task_parameters_id: UUID | None = None
    traceparent: str | None = None
    deployment_concurrency_lease_id: UUID | None = None


class StateCreate(BaseModel):
    """A proposed state: the server assigns its id and timestamp."""

    model_config = ConfigDict(extra="forbid")

    type: StateType
    name: str | None = None
    message: str | None = None
    data: Any = Field(default=None, description="Any JSON value; it comes back exactly as sent.")
    state_details: StateDetails = Field(default_factory=StateDetails)


class SetStateBody(BaseModel):
    """The body of `set_state`. `force` is accepted for Prefect compatibility; every valid
    proposal is stored whatever it says."""

    state: StateCreate
    force: bool = False


class State(BaseModel):
    id: UUID
    type: StateType
    name: str | None
    timestamp: DateTime
    message: str | None
    data: Any
    state_details: StateDetails


class AcceptDetails(BaseModel):
    type: Literal["accept_details"] = "accept_details"


class RejectDetails(BaseModel):
    type: Literal["reject_details"] = "reject_details"
    reason: str = "This run has already made this state transition."


class OrchestrationResult(BaseModel):
    state: State
    status: Literal["ACCEPT", "REJECT"]
    details: AcceptDetails | RejectDetails


class ValidationErrorItem(BaseModel):
    type: str
    loc: list[str | int]
    msg: str
    input: Any
    ctx: dict[str, Any] | None = Field(
        default=None, description="Present where pydantic gives one."
    )


class ValidationErrorBody(BaseModel):
    """The 422 body, as a Prefect server answers it."""

    exception_message: Literal["Invalid request received."] = "Invalid request received."
    exception_detail: list[ValidationErrorItem]
    request_body: Any = Field(
        description="The parsed JSON body, the raw text when it is not JSON, or null."
    )


class DetailBody(BaseModel):
    """The body of 400, 404 and 405 answers."""

    detail: str


class ExceptionBody(BaseModel):
    """The body of 401, 413, 500 and 503 answers."""

    exception_message: str
