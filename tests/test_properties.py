"""Property tests: whatever valid state goes in through set_state comes back exactly, from
set_state's answer, from a read by id and from the run's listing."""

import json
import math
from datetime import timedelta, timezone
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.runs import RunKind
from api.schemas import StateType
from tests.helpers import DETAIL_DEFAULTS, listed, new_id, set_state

SEEDED = settings(
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=60,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Python parses integers of up to 4,300 digits; the contract promises exactly those.
LONGEST_INTEGER = 10**4300 - 1
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-LONGEST_INTEGER, max_value=LONGEST_INTEGER)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),  # every code point but lone surrogates, astral planes included
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
    max_leaves=12,
)

offsets = st.none() | st.integers(-(24 * 60 - 1), 24 * 60 - 1).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)


@st.composite
def date_times(draw: st.DrawFn) -> tuple[str, str]:
    """A date-time as a client may send it, and as the API writes it back."""
    moment = draw(st.datetimes(timezones=offsets))
    sent = moment.isoformat()
    if moment.utcoffset() in (None, timedelta(0)):  # naive means UTC; UTC is written Z
        return sent, moment.replace(tzinfo=None).isoformat() + "Z"
    return sent, sent


uuids = st.uuids().map(str)
optional_text = st.none() | st.text()
optional_flag = st.none() | st.booleans()
DETAIL_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "flow_run_id": st.none() | uuids,
    "task_run_id": st.none() | uuids,
    "child_flow_run_id": st.none() | uuids,
    "cache_key": optional_text,
    "deferred": optional_flag,
    "untrackable_result": st.booleans(),
    "pause_reschedule": st.booleans(),
    "pause_key": optional_text,
    "run_input_keyset": st.none() | st.dictionaries(st.text(), st.text(), max_size=4),
    "refresh_cache": optional_flag,
    "retriable": optional_flag,
    "transition_id": st.none() | uuids,
    "task_parameters_id": st.none() | uuids,
    "traceparent": optional_text,
    "deployment_concurrency_lease_id": st.none() | uuids,
}
DATE_TIME_FIELDS = ("scheduled_time", "cache_expiration", "pause_timeout")


@st.composite
def state_details(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
    """Any valid `state_details`, and what the API stores for it (before the run id)."""
    sent = draw(st.fixed_dictionaries({}, optional=DETAIL_VALUES))
    stored = DETAIL_DEFAULTS | sent
    for field in DATE_TIME_FIELDS:
        if draw(st.booleans()):
            sent[field], stored[field] = draw(st.none() | date_times()) or (None, None)
    return sent, stored


def as_json(value: Any) -> str:
    """Equal JSON text means equal JSON values, the same types, and keys in the same order."""
    return json.dumps(value)


@SEEDED
@given(data=json_values, state_type=st.sampled_from(StateType))
def test_any_json_data_comes_back_exactly(
    api: TestClient, kind: RunKind, data: Any, state_type: StateType
) -> None:
    run_id = new_id()
    created = set_state(api, kind, run_id, {"type": state_type, "data": data})
    assert created.status_code == 201, created.text
    state = created.json()["state"]
    read = api.get(f"{kind.states_path}/{state['id']}").json()
    (only,) = listed(api, kind, run_id)
    for returned in (state, read, only):
        assert as_json(returned["data"]) == as_json(data)
    assert read == only == state


@st.composite
def number_literals(draw: st.DrawFn) -> str:
    """A JSON number as a client may write it, its exponent reaching well past a double's
    range both ways (a double holds magnitudes from about 5e-324 to 1.8e308)."""
    sign = draw(st.sampled_from(["", "-"]))
    whole = draw(st.sampled_from(["0", "1", "9"]) | st.integers(0, 10**20).map(str))
    fraction = draw(st.sampled_from(["", ".0", ".5"]) | st.integers(0, 10**20).map(".{}".format))
    exponent = draw(st.integers(-700, 700))
    return f"{sign}{whole}{fraction}e{exponent}"


def beyond_a_double(literal: str) -> bool:
    """Whether the number has a magnitude no double holds: it would become an infinity, or
    a zero though it is not zero."""
    value = float(literal)
    digits = literal.lower().partition("e")[0].strip("-")
    return math.isinf(value) or (value == 0 and digits.strip("0.") != "")


@SEEDED
@given(literal=number_literals())
def test_a_number_is_kept_or_refused_never_changed(
    api: TestClient, kind: RunKind, literal: str
) -> None:
    """What a double holds comes back as that double; what it cannot hold is a 422 that
    stores nothing, never null, 0 or a clamped value."""
    run_id = new_id()
    body = f'{{"state": {{"type": "COMPLETED", "data": [1, {literal}]}}}}'
    response = api.post(
        f"{kind.runs_path}/{run_id}/set_state",
        content=body.encode(),
        headers={"Content-Type": "application/json"},
    )
    if beyond_a_double(literal):
        assert response.status_code == 422, response.text
        assert response.json()["exception_detail"][0]["type"] == "json_invalid"
        assert listed(api, kind, run_id) == []
    else:
        assert response.status_code == 201, response.text
        (only,) = listed(api, kind, run_id)
        assert as_json(only["data"]) == as_json([1, float(literal)])


@SEEDED
@given(details=state_details(), state_type=st.sampled_from(StateType))
def test_any_valid_state_details_come_back_exactly(
    api: TestClient,
    kind: RunKind,
    details: tuple[dict[str, Any], dict[str, Any]],
    state_type: StateType,
) -> None:
    sent, stored = details
    run_id = new_id()
    created = set_state(api, kind, run_id, {"type": state_type, "state_details": sent})
    assert created.status_code == 201, created.text
    state = created.json()["state"]
    expected = stored | {kind.run_id_field: run_id}
    if state_type is StateType.SCHEDULED and expected["scheduled_time"] is None:
        expected["scheduled_time"] = state["timestamp"]  # scheduled now
    read = api.get(f"{kind.states_path}/{state['id']}").json()
    (only,) = listed(api, kind, run_id)
    for returned in (state, read, only):
        assert as_json(returned["state_details"]) == as_json(expected)
