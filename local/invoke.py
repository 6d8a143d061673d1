"""`make invoke FUNCTION=<logical id> EVENT=<file>`: one function of `template.yaml` on one
event, as `sam local invoke` runs it, without a container.

The handler is the one the template names; the environment is the template's (Globals, then
the function's own), with parameters at their defaults and each table's name resolved to the
local table. A variable already set wins, as with `sam local invoke --env-vars`. DynamoDB is
moto's in memory (the template's tables, empty at each call) unless AWS_ENDPOINT_URL_DYNAMODB
(or AWS_ENDPOINT_URL) names one. The Lambda response goes to stdout as JSON, logs to stderr.
"""

import argparse
import importlib
import json
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from api.app import build_handler
from api.services import (
    RecordClient,
    RepositoryProvider,
    dynamodb_record_client,
    dynamodb_repository,
)
from api.settings import RECORD_TABLE_VARIABLES, TABLE_VARIABLES, Settings
from local.database import local_dynamodb
from local.template_tables import load_template, table_logical_id
from storage.table_shapes import FLOW_RUN_STATES, TASK_RUN_STATES

FUNCTION_TYPE = "AWS::Serverless::Function"

LambdaHandler = Callable[[dict[str, Any], Any], dict[str, Any]]


@dataclass(frozen=True)
class LocalContext:
    """What the service reads of Lambda's context object (the request id, for its logs)."""

    function_name: str
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))


def function_ids() -> list[str]:
    return [
        logical_id
        for logical_id, resource in load_template()["Resources"].items()
        if resource["Type"] == FUNCTION_TYPE
    ]


def function_properties(logical_id: str) -> dict[str, Any]:
    resource = load_template()["Resources"][logical_id]
    if resource["Type"] != FUNCTION_TYPE:
        raise LookupError(f"{logical_id} is a {resource['Type']}, not a function")
    properties: dict[str, Any] = resource["Properties"]
    return properties


def template_handler(
    logical_id: str,
    settings: Settings | None = None,
    repositories: RepositoryProvider | None = None,
    record_client: RecordClient | None = None,
) -> LambdaHandler:
    """The callable the template's function `logical_id` names as its `Handler`
    (`module.attribute`), imported; or, given `settings` or `repositories`, the same
    function's endpoints built anew on them (and `record_client`)."""
    module_name, _, attribute = function_properties(logical_id)["Handler"].rpartition(".")
    module = importlib.import_module(module_name)
    if settings is None and repositories is None and record_client is None:
        handler: LambdaHandler = getattr(module, attribute)
        return handler
    return build_handler(
        *module.endpoints,
        settings=settings,
        repositories=repositories or dynamodb_repository,
        record_client=record_client or dynamodb_record_client,
    )


def _local_value(value: Any) -> str:
    """A template value as the local run sees it: a table's name, a parameter's default."""
    if isinstance(value, str):
        return value
    template = load_template()
    name = value.get("Ref") if isinstance(value, dict) else None
    local_tables = {
        table_logical_id(table): TABLE_VARIABLES[table].default_name
        for table in (FLOW_RUN_STATES, TASK_RUN_STATES)
    } | {
        table_logical_id(table): variable.default_name
        for table, variable in RECORD_TABLE_VARIABLES.items()
    }
    if name in local_tables:
        return local_tables[name]
    if name in template.get("Parameters", {}):
        return str(template["Parameters"][name].get("Default", ""))
    raise ValueError(f"no local value for {value!r} in template.yaml")


def function_environment(logical_id: str) -> dict[str, str]:
    """The function's environment variables as the template sets them, resolved locally."""
    global_variables = load_template()["Globals"]["Function"]["Environment"]["Variables"]
    own_variables = function_properties(logical_id).get("Environment", {}).get("Variables", {})
    return {
        name: _local_value(value) for name, value in {**global_variables, **own_variables}.items()
    }


def invoke(
    handler: LambdaHandler, event: dict[str, Any], function_name: str = "local"
) -> dict[str, Any]:
    """One invocation of a Lambda handler on an event, with a context as Lambda gives one."""
    return handler(event, LocalContext(function_name=function_name))


def status_and_body(response: dict[str, Any]) -> tuple[int, Any]:
    """A Lambda HTTP response's status and JSON body (None when it has none)."""
    body = response.get("body")
    return response["statusCode"], json.loads(body) if body else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("function", choices=function_ids(), metavar="FUNCTION")
    parser.add_argument("event", type=Path, metavar="EVENT")
    arguments = parser.parse_args()
    for name, value in function_environment(arguments.function).items():
        os.environ.setdefault(name, value)
    event = json.loads(arguments.event.read_text())
    # The tables the function's environment names; the function reads it again at its init.
    with local_dynamodb(Settings.from_environment()):
        response = invoke(template_handler(arguments.function), event, arguments.function)
    print(json.dumps(response))


if __name__ == "__main__":
    main()
