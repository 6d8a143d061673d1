"""The functions `template.yaml` deploys, the event each answers, and what that event asks."""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import parse_qs

from api.runs import FLOW_RUN, TASK_RUN, RunKind
from local.template_tables import load_template

if TYPE_CHECKING:
    pass


Operation = Literal["read", "delete", "list", "set_state"]


@dataclass(frozen=True, slots=True)
class LambdaFunction:
    logical_id: str
    module: str  # e.g. handlers.read_flow_run_state
    attribute: str  # the handler's name in it


@dataclass(frozen=True, slots=True)
class StorageRequest:
    """What an event asks of a table: the operation and the state or run it names."""

    kind: RunKind
    operation: Operation
    subject: str  # the state id (read, delete) or the run id (list, set_state)


def template_functions() -> list[LambdaFunction]:
    """The functions behind the HTTP API (the scheduled import answers no request)."""
    template = load_template()
    default = template.get("Globals", {}).get("Function", {}).get("Handler")
    functions = []
    for logical_id, resource in template["Resources"].items():
        events = resource.get("Properties", {}).get("Events", {}).values()
        if resource["Type"] == "AWS::Serverless::Function" and all(
            event["Type"] == "HttpApi" for event in events
        ):
            handler = resource["Properties"].get("Handler") or default
            module, _, attribute = handler.rpartition(".")
            functions.append(LambdaFunction(logical_id, module, attribute))
    return functions


def storage_request(event: dict[str, Any]) -> StorageRequest | None:
    """The table operation an HTTP API event asks for; None for one that needs no storage."""
    method = event["requestContext"]["http"]["method"]
    path = event["rawPath"].rstrip("/")
    for kind in (FLOW_RUN, TASK_RUN):
        if path == kind.states_path and method == "GET":
            run_ids = parse_qs(event.get("rawQueryString", "")).get(kind.run_id_field, [""])
            return StorageRequest(kind, "list", run_ids[0])
        parent, _, last = path.rpartition("/")
        if parent == kind.states_path and method in ("GET", "DELETE"):
            return StorageRequest(kind, "read" if method == "GET" else "delete", last)
        run_path, _, action = parent.rpartition("/")
        if run_path == kind.runs_path and last == "set_state" and method == "POST":
            return StorageRequest(kind, "set_state", action)
    return None


def load_event(folder: Path, function: LambdaFunction) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((folder / f"{function.logical_id}.json").read_text())
    return event
