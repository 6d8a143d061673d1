"""DynamoDB calls per operation, counted with botocore's `before-call` hook.

Each operation goes through its function's Mangum handler, against moto in this process.
Run as `python -m benchmarks.calls`; it prints its figures as JSON.
"""

import dataclasses
import importlib
import json
import uuid
from dataclasses import dataclass
from typing import Any

from moto import mock_aws

from api.clock import utc_now
from api.runs import FLOW_RUN, TASK_RUN, RunKind
from api.services import dynamodb_repository
from api.settings import Settings
from benchmarks.states import LISTED_STATES, sample_state
from local.invoke import invoke
from local.lambda_events import http_api_event
from local.template_tables import create_tables
from storage.dynamodb import dynamodb_client


@dataclass(frozen=True, slots=True)
class CallCount:
    operation: str
    status: int
    calls: list[str]  # the DynamoDB operations made, in order


def _requests(kind: RunKind) -> list[tuple[str, str, dict[str, Any]]]:
    """(what it is, handler module, event) for each operation, in an order that works:
    the read and the list find stored states, the retry repeats the write before it."""
    noun = kind.noun.replace(" ", "_")
    run_id = str(uuid.uuid4())
    stored = [sample_state(kind, run_id, index) for index in range(LISTED_STATES)]
    repository = dynamodb_repository(kind.table, Settings().table(kind.table).name, utc_now)
    for state in stored:
        repository.insert(state)
    proposal = {"state": {"type": "RUNNING", "state_details": {"transition_id": str(uuid.uuid4())}}}
    set_state = http_api_event(
        "POST", f"{kind.runs_path}/{run_id}/set_state", body=json.dumps(proposal).encode()
    )
    state_path = f"{kind.states_path}/{stored[0].id}"
    listing = http_api_event("GET", kind.states_path, query=f"{kind.run_id_field}={run_id}")
    return [
        ("read a state by id", f"read_{noun}_state", http_api_event("GET", state_path)),
        (f"list a run's {LISTED_STATES} states", f"list_{noun}_states", listing),
        ("set_state, a new transition", f"set_{noun}_state", set_state),
        ("set_state, the same transition again", f"set_{noun}_state", set_state),
        ("delete a state", f"delete_{noun}_state", http_api_event("DELETE", state_path)),
    ]


def count_calls() -> list[CallCount]:
    counts = []
    with mock_aws():
        client = dynamodb_client()
        create_tables(client, Settings())
        made: list[str] = []

        def record(model: Any, **_: Any) -> None:
            made.append(model.name)

        client.meta.events.register("before-call.dynamodb", record)
        for kind in (FLOW_RUN, TASK_RUN):
            for operation, module, event in _requests(kind):
                made.clear()
                handler = importlib.import_module(f"handlers.{module}").handler
                response = invoke(handler, event)
                counts.append(
                    CallCount(f"{kind.noun}: {operation}", response["statusCode"], list(made))
                )
        client.meta.events.unregister("before-call.dynamodb", record)
    return counts


if __name__ == "__main__":
    print(json.dumps([dataclasses.asdict(count) for count in count_calls()]))
