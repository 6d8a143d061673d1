"""template.yaml: what `sam validate --lint` cannot check (cfn-lint no longer expands SAM
resources), and what the deployed service promises: its routes, least privilege, safe data."""

import ast
import json
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, APIRouter
from mangum import Mangum
from starlette.routing import BaseRoute

import api.endpoints
from api.endpoints import ENDPOINTS, Endpoint
from api.runs import FLOW_RUN, TASK_RUN
from api.settings import (
    AUTH_STRING_ARN_VARIABLE,
    DYNAMODB_ENDPOINT_VARIABLE,
    IMPORT_SOURCE_AUTH_STRING_ARN_VARIABLE,
    IMPORT_SOURCE_URL_VARIABLE,
    LOG_LEVEL_VARIABLE,
    RECORD_TABLE_VARIABLES,
    TABLE_VARIABLES,
    Settings,
)
from local.invoke import function_ids, function_properties, template_handler
from local.paths import PROJECT, REQUIREMENTS
from local.template_tables import create_tables, load_template, table_logical_id
from storage.dynamodb import dynamodb_client
from storage.table_shapes import (
    CHECKPOINT_KEY_PREFIX,
    EXPIRES_AT,
    FLOW_RUN_STATES,
    FLOW_RUNS,
    ID,
    LIST_ORDER,
    MONTHS_ITEM,
    RECORD,
    RECORD_TABLES,
    TASK_RUN_STATES,
    TASK_RUNS,
    RecordTable,
    StateTable,
)
from tests.template import (
    DEFAULT_ROUTE,
    SCHEDULED_FUNCTIONS,
    Operation,
    RecordOperation,
    all_route_keys,
    api_function_ids,
    gateway_route_keys,
    handler_module,
    record_route,
    route_keys,
    served_endpoints,
    state_route,
    the_http_api,
)
from tests.test_import import fresh_settings

TABLES = (FLOW_RUN_STATES, TASK_RUN_STATES)
PSEUDO_PARAMETERS = frozenset(
    {
        "AWS::AccountId",
        "AWS::NoValue",
        "AWS::NotificationARNs",
        "AWS::Partition",
        "AWS::Region",
        "AWS::StackId",
        "AWS::StackName",
        "AWS::URLSuffix",
    }
)
_SUB_VARIABLE = re.compile(r"\$\{(?!!)([^}]+)\}")  # ${Name} or ${Name.Attribute}, not ${!literal}

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


# --- references ------------------------------------------------------------------------


def intrinsics(node: Any) -> Iterator[tuple[str, Any]]:
    """Every key of every mapping in `node`, at any depth, with its value."""
    if isinstance(node, list):
        for item in node:
            yield from intrinsics(item)
    elif isinstance(node, dict):
        for key, value in node.items():
            yield key, value
            yield from intrinsics(value)


def references(node: Any) -> Iterator[str]:
    """Every resource, parameter or pseudo-parameter a Ref, GetAtt or Sub in `node` names."""
    for key, value in intrinsics(node):
        if key == "Ref":
            yield value
        elif key == "Fn::GetAtt":
            yield value[0]
        elif key == "Fn::Sub":  # its variables' own references are found as the walk goes on
            text, variables = (value, {}) if isinstance(value, str) else value
            for name in _SUB_VARIABLE.findall(text):
                if name not in variables:
                    yield name.split(".")[0]


def conditions_used(node: Any) -> Iterator[str]:
    for key, value in intrinsics(node):
        if key == "Fn::If":
            yield value[0]
        elif key == "Condition" and isinstance(value, str):
            yield value


def sam_generated(resources: dict[str, Any]) -> set[str]:
    """The resources SAM adds that a template may name: a function's execution role,
    `<Function>Role`, where the function names no role of its own."""
    return {
        f"{logical_id}Role"
        for logical_id, resource in resources.items()
        if resource.get("Type") == "AWS::Serverless::Function"
        and "Role" not in resource.get("Properties", {})
    }


def unknown_names(template: dict[str, Any]) -> set[str]:
    resources = template["Resources"]
    known = (
        set(resources)
        | sam_generated(resources)
        | set(template.get("Parameters", {}))
        | PSEUDO_PARAMETERS
    )
    return (set(references(template)) - known) | (
        set(conditions_used(template)) - set(template.get("Conditions", {}))
    )


def test_every_reference_names_something_that_exists() -> None:
    assert unknown_names(load_template()) == set()


@pytest.mark.parametrize(
    ("misspelled", "unknown"),
    [
        ({"Ref": "FlowRunStateTable"}, "FlowRunStateTable"),
        ({"Fn::GetAtt": ["FlowRunStateTable", "Arn"]}, "FlowRunStateTable"),
        ({"Fn::Sub": "${FlowRunStateTable.Arn}/index/by-flow-run"}, "FlowRunStateTable"),
        ({"Fn::Sub": ["${T}/index", {"T": {"Ref": "FlowRunStateTable"}}]}, "FlowRunStateTable"),
        ({"Fn::If": ["HasAlarmTopc", "a", "b"]}, "HasAlarmTopc"),
        ({"Ref": "FRole"}, None),  # the role SAM makes for function F
        ({"Ref": "GRole"}, "GRole"),  # no function G
    ],
)
def test_a_misspelled_reference_inside_a_function_is_caught(
    misspelled: Any, unknown: str | None
) -> None:
    function = {"Type": "AWS::Serverless::Function", "Properties": {"X": misspelled}}
    assert unknown_names({"Resources": {"F": function}}) == ({unknown} if unknown else set())


def test_sub_literals_and_local_variables_are_no_references() -> None:
    sub = {"Fn::Sub": ["${!Literal} ${Local} ${AWS::Region}", {"Local": "x"}]}
    assert unknown_names({"Resources": {"F": {"Properties": {"X": sub}}}}) == set()


# --- functions and routes --------------------------------------------------------------


def test_every_function_runs_on_a_current_python_on_arm64_by_default() -> None:
    template = load_template()
    settings = template["Globals"]["Function"]
    version = re.fullmatch(r"python3\.(\d+)", settings["Runtime"])
    assert version is not None
    assert int(version.group(1)) >= 12
    parameter = template["Parameters"]["Architecture"]
    assert (parameter["Default"], parameter["AllowedValues"]) == ("arm64", ["arm64", "x86_64"])
    assert settings["Architectures"] == [{"Ref": "Architecture"}]
    for logical_id in function_ids():  # the Globals hold for every function
        assert {"Runtime", "Architectures"}.isdisjoint(function_properties(logical_id))
    (layer,) = (r for r in template["Resources"].values() if r["Type"].endswith("LayerVersion"))
    assert layer["Properties"]["CompatibleRuntimes"] == [settings["Runtime"]]
    assert layer["Properties"]["CompatibleArchitectures"] == settings["Architectures"]


def test_snapstart_is_a_switch_off_by_default_on_published_versions() -> None:
    template = load_template()
    parameter = template["Parameters"]["SnapStartApplyOn"]
    assert (parameter["Default"], parameter["AllowedValues"]) == (
        "None",
        ["None", "PublishedVersions"],
    )
    settings = template["Globals"]["Function"]
    assert settings["SnapStart"] == {"ApplyOn": {"Ref": "SnapStartApplyOn"}}
    assert settings["AutoPublishAlias"]  # SnapStart snapshots published versions only
    for logical_id in function_ids():
        assert {"SnapStart", "AutoPublishAlias"}.isdisjoint(function_properties(logical_id))


def test_every_function_receives_the_table_names_and_the_log_level() -> None:
    template = load_template()
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    for table in TABLES:
        assert variables[TABLE_VARIABLES[table].name] == {"Ref": table_logical_id(table)}
    for record_table, variable in RECORD_TABLE_VARIABLES.items():
        assert variables[variable.name] == {"Ref": table_logical_id(record_table)}
    assert variables["LOG_LEVEL"] == {"Ref": "LogLevel"}


def test_the_template_sets_only_variables_the_settings_define() -> None:
    """Every setting is defined in `api.settings`: a variable set anywhere else would be
    read by nothing (the literal auth string is local only: deployed, its ARN is set)."""
    defined = {
        LOG_LEVEL_VARIABLE,
        AUTH_STRING_ARN_VARIABLE,
        DYNAMODB_ENDPOINT_VARIABLE,
        IMPORT_SOURCE_URL_VARIABLE,
        IMPORT_SOURCE_AUTH_STRING_ARN_VARIABLE,
        *(
            name
            for table in TABLES
            for name in (TABLE_VARIABLES[table].name, TABLE_VARIABLES[table].retention_days)
        ),
        *(variable.name for variable in RECORD_TABLE_VARIABLES.values()),
    }
    template = load_template()
    variables = set(template["Globals"]["Function"]["Environment"]["Variables"])
    for logical_id in function_ids():
        variables |= set(
            function_properties(logical_id).get("Environment", {}).get("Variables", {})
        )
    assert variables == defined


def test_what_holds_wheels_is_built_for_the_functions_architecture() -> None:
    """The layer and the importer's function (its own dependencies) hold compiled wheels."""
    template = load_template()
    parameter = template["Parameters"]["Architecture"]
    (layer_id,) = (
        logical_id
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Serverless::LayerVersion"
    )
    assert template["Resources"][layer_id]["Metadata"]["BuildArchitecture"] == {
        "Ref": "Architecture"
    }
    for logical_id in (layer_id, *SCHEDULED_FUNCTIONS):
        # A makefile build is told no architecture: the Makefile it reads is in a folder
        # named so, and the Makefile has a target of the resource's name.
        context = template["Resources"][logical_id]["Metadata"]["ContextPath"]["Fn::Sub"]
        for architecture in parameter["AllowedValues"]:
            makefile = PROJECT / context.replace("${Architecture}", architecture) / "Makefile"
            assert makefile.resolve() == PROJECT / "bundle" / "architectures" / "architecture.mk"
            assert f"build-{logical_id}:" in makefile.read_text().splitlines()


def test_the_dynamodb_endpoint_is_declared_empty_which_means_aws(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Declared so that `sam local --env-vars` can set it (it overrides declared variables
    only); empty, which botocore reads as unset, so deployed functions call AWS's DynamoDB."""
    variables = load_template()["Globals"]["Function"]["Environment"]["Variables"]
    assert variables[DYNAMODB_ENDPOINT_VARIABLE] == ""
    monkeypatch.setenv(DYNAMODB_ENDPOINT_VARIABLE, "")
    region = os.environ["AWS_DEFAULT_REGION"]
    client = dynamodb_client.__wrapped__()  # a new one, made as each function makes its own
    assert client.meta.endpoint_url == f"https://dynamodb.{region}.amazonaws.com"


@pytest.mark.parametrize("logical_id", function_ids())
def test_every_handler_resolves_to_a_callable(logical_id: str) -> None:
    assert callable(template_handler(logical_id))


def served_routes(routes: Iterable[BaseRoute]) -> set[str]:
    """The methods and paths of an app's API routes (its docs are no APIRoute)."""
    served: set[str] = set()
    for route in routes:
        if isinstance(route, APIRoute):
            assert route.methods is not None  # FastAPI fills in GET where none are given
            served |= {f"{method} {route.path}" for method in route.methods}
        elif isinstance(router := getattr(route, "original_router", None), APIRouter):
            served |= served_routes(router.routes)  # an included router, as FastAPI keeps it
    return served


def declared_routes(endpoints: Iterable[Endpoint]) -> set[str]:
    """The methods and request paths the endpoints declare (both spellings of a path
    declared with a trailing slash)."""
    return {
        f"{method} {path}"
        for endpoint in endpoints
        for method in endpoint.methods
        for path in endpoint.paths
    }


def test_every_declared_endpoint_is_listed() -> None:
    declared = [value for value in vars(api.endpoints).values() if isinstance(value, Endpoint)]
    assert Counter(declared) == dict.fromkeys(ENDPOINTS, 1)


def test_every_endpoint_is_served_by_one_function() -> None:
    served = [
        endpoint for logical_id in api_function_ids() for endpoint in served_endpoints(logical_id)
    ]
    assert Counter(served) == dict.fromkeys(ENDPOINTS, 1)


@pytest.mark.parametrize("logical_id", api_function_ids())
def test_a_functions_routes_are_exactly_its_handlers_endpoints(logical_id: str) -> None:
    """Its HttpApi events route the endpoints its handler module serves, and no other; the
    function without endpoints takes the API's `$default` route."""
    endpoints = served_endpoints(logical_id)
    assert route_keys(logical_id) == (gateway_route_keys(endpoints) or {DEFAULT_ROUTE})


def test_one_function_takes_every_unmatched_request() -> None:
    defaults = [
        logical_id for logical_id in api_function_ids() if DEFAULT_ROUTE in route_keys(logical_id)
    ]
    assert len(defaults) == 1
    assert route_keys(defaults[0]) == {DEFAULT_ROUTE}
    assert served_endpoints(defaults[0]) == ()


def test_no_template_route_path_ends_in_a_slash() -> None:
    """API Gateway refuses one: a path declared with a trailing slash is routed without it."""
    for key in all_route_keys() - {DEFAULT_ROUTE}:
        assert not key.endswith("/"), key


@pytest.mark.parametrize("logical_id", api_function_ids())
def test_a_function_serves_each_of_its_routes_in_both_spellings_it_declares(
    logical_id: str,
) -> None:
    """The deployed handler's app serves exactly its endpoints, a path declared with a
    trailing slash also without it: API Gateway sends it both."""
    handler = template_handler(logical_id)
    assert isinstance(handler, Mangum)
    assert isinstance(handler.app, FastAPI)
    endpoints = served_endpoints(logical_id)
    served = served_routes(handler.app.routes)
    assert served == declared_routes(endpoints)
    assert {key.rstrip("/") for key in served} == gateway_route_keys(endpoints)


def test_the_local_app_serves_every_endpoint() -> None:
    from local.app import local_app

    served = served_routes(local_app(Settings()).routes)
    assert served == declared_routes(ENDPOINTS)
    # An HTTP API route path cannot end in "/": API Gateway sends the slashed list path to
    # the unslashed route, and the function answers both spellings.
    for kind in (FLOW_RUN, TASK_RUN):
        assert {f"GET {kind.states_path}", f"GET {kind.states_path}/"} <= served
    assert {key.rstrip("/") for key in served} == all_route_keys() - {DEFAULT_ROUTE}


def test_every_route_is_on_the_one_http_api() -> None:
    for logical_id in api_function_ids():
        for event in function_properties(logical_id)["Events"].values():
            assert event["Properties"]["ApiId"] == {"Ref": the_http_api()}


def _module_file(module: str) -> Path | None:
    path = PROJECT.joinpath(*module.split("."))
    for candidate in (path.with_suffix(".py"), path / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def project_imports(module: str) -> set[str]:
    """Every project module that importing `module` imports, itself and packages included."""
    seen: set[str] = set()
    pending = [module]
    while pending:
        name = pending.pop()
        parts = name.split(".")
        for prefix in (".".join(parts[:end]) for end in range(1, len(parts) + 1)):
            file = _module_file(prefix)
            if file is None or prefix in seen:
                continue
            seen.add(prefix)
            for node in ast.walk(ast.parse(file.read_text())):
                if isinstance(node, ast.Import):
                    pending.extend(alias.name for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.module:
                    pending.append(node.module)
                    pending.extend(f"{node.module}.{alias.name}" for alias in node.names)
    return seen


def route_modules(logical_id: str) -> set[str]:
    """The modules of the route adders the function's endpoints name."""
    return {endpoint.route.partition(":")[0] for endpoint in served_endpoints(logical_id)}


def function_imports(logical_id: str) -> set[str]:
    """Every project module the function imports at init: its handler module's imports, and
    those of the route modules its endpoints name (imported as its app is built)."""
    modules = (handler_module(logical_id), *route_modules(logical_id))
    return set().union(*map(project_imports, modules))


def test_the_import_graph_sees_indirect_imports() -> None:
    assert {
        "api.routes.read_state",
        "storage.dynamodb",
        "storage.table_shapes",
    } <= function_imports("ReadFlowRunStateFunction")


@pytest.mark.parametrize("logical_id", api_function_ids())
def test_no_function_imports_another_endpoints_module(logical_id: str) -> None:
    imported = function_imports(logical_id)
    assert {name for name in imported if name.startswith("handlers.")} == {
        handler_module(logical_id)
    }
    assert {name for name in imported if name.startswith("api.routes.")} == route_modules(
        logical_id
    )


_MODULES_AT_INIT = """
import importlib, json, sys
loaded = {}
for module in sys.argv[1:]:
    for name in [name for name in sys.modules if name.split(".")[0] in ("api", "handlers")]:
        del sys.modules[name]
    importlib.import_module(module)
    loaded[module] = sorted(
        name for name in sys.modules if name.startswith(("handlers.", "api.routes."))
    )
print(json.dumps(loaded))
"""


def test_at_init_a_function_imports_only_its_own_route_modules() -> None:
    """As a fresh process imports each handler module: the import graph above, observed."""
    logical_ids = api_function_ids()
    modules = [handler_module(logical_id) for logical_id in logical_ids]
    result = subprocess.run(
        [sys.executable, "-c", _MODULES_AT_INIT, *modules],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        check=True,
    )
    loaded = json.loads(result.stdout)
    for logical_id, module in zip(logical_ids, modules, strict=True):
        assert set(loaded[module]) == {module} | route_modules(logical_id)


# --- least privilege -------------------------------------------------------------------


def granted_access(logical_id: str) -> set[tuple[str, str]]:
    """(action, resource) pairs the function's policies allow, each written as a string."""
    granted = set()
    for policy in function_properties(logical_id).get("Policies", []):
        assert set(policy) == {"Statement"}, "inline statements only: no managed policies"
        for statement in policy["Statement"]:
            assert statement["Effect"] == "Allow"
            actions, resources = statement["Action"], statement["Resource"]
            for action in [actions] if isinstance(actions, str) else actions:
                for resource in resources if isinstance(resources, list) else [resources]:
                    granted.add((action, repr(resource)))
    return granted


def import_access() -> set[tuple[str, str]]:
    """The scheduled import's: which states and records are stored and the missing or
    changed ones written, in the state and record tables; its checkpoint read and written, in
    the flow-run state table; the list of months updated, in the run record tables."""
    flow_table, task_table = ({"Fn::GetAtt": [table_logical_id(table), "Arn"]} for table in TABLES)
    return {
        *(
            (f"dynamodb:{action}", repr(table))
            for action in ("BatchGetItem", "BatchWriteItem")
            for table in (flow_table, task_table, *map(_table_arn, RECORD_TABLES))
        ),
        *((f"dynamodb:{action}", repr(flow_table)) for action in ("GetItem", "PutItem")),
        *(("dynamodb:UpdateItem", repr(_table_arn(table))) for table in (FLOW_RUNS, TASK_RUNS)),
    }


# The one item each single-item action of the import may touch: its leading key.
IMPORT_ITEM_KEYS = {
    "dynamodb:GetItem": f"{CHECKPOINT_KEY_PREFIX}*",
    "dynamodb:PutItem": f"{CHECKPOINT_KEY_PREFIX}*",
    "dynamodb:UpdateItem": MONTHS_ITEM,
}


def test_the_import_touches_single_items_only_by_their_keys() -> None:
    """Its checkpoint, and the record tables' list of months: never a state or a record
    item one at a time (those go through batches, which the state and record routes' items
    need)."""
    statements = [
        statement
        for policy in function_properties("ImportFunction")["Policies"]
        for statement in policy["Statement"]
    ]
    single = [
        statement
        for statement in statements
        if set(_as_list(statement["Action"])) & set(IMPORT_ITEM_KEYS)
    ]
    assert {action for statement in single for action in _as_list(statement["Action"])} == set(
        IMPORT_ITEM_KEYS
    )
    for statement in single:
        (key,) = {IMPORT_ITEM_KEYS[action] for action in _as_list(statement["Action"])}
        operator = "ForAllValues:StringLike" if key.endswith("*") else "ForAllValues:StringEquals"
        assert statement["Condition"] == {operator: {"dynamodb:LeadingKeys": [key]}}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _table_arn(table: StateTable | RecordTable) -> dict[str, Any]:
    return {"Fn::GetAtt": [table_logical_id(table), "Arn"]}


def record_access(route_key: str) -> set[tuple[str, str]]:
    """A record route's: a read by id, GetItem on its kind's table; a query, read only on
    every record table and index (a query follows relations into any of them)."""
    served = record_route(route_key)
    if served is None:
        return set()
    records, operation = served
    if operation is RecordOperation.READ:
        return {("dynamodb:GetItem", repr(_table_arn(records.table)))}
    return {
        *(
            (action, repr(_table_arn(table)))
            for action in ("dynamodb:GetItem", "dynamodb:BatchGetItem")
            for table in RECORD_TABLES
        ),
        *(
            (
                "dynamodb:Query",
                repr({"Fn::Sub": f"${{{table_logical_id(table)}.Arn}}/index/{index.name}"}),
            )
            for table in RECORD_TABLES
            for index in table.indexes
        ),
    }


def needed_access(logical_id: str) -> set[tuple[str, str]]:
    if logical_id in SCHEDULED_FUNCTIONS:
        return import_access()
    needed = set()
    for key in route_keys(logical_id):
        needed |= record_access(key)
        served = state_route(key)
        if served is None:
            continue
        kind, operation = served
        table = table_logical_id(kind.table)
        table_arn = {"Fn::GetAtt": [table, "Arn"]}
        index_arn = {"Fn::Sub": f"${{{table}.Arn}}/index/{kind.table.index_name}"}
        action, resource = {
            Operation.READ: ("dynamodb:GetItem", table_arn),
            Operation.LIST: ("dynamodb:Query", index_arn),
            # A conditional UpdateItem leaves a tombstone (the contract: deletion is final).
            Operation.DELETE: ("dynamodb:UpdateItem", table_arn),
            # A retry's failed conditional write returns the stored item: no GetItem.
            Operation.SET_STATE: ("dynamodb:PutItem", table_arn),
        }[operation]
        needed.add((action, repr(resource)))
    return needed


@pytest.mark.parametrize("logical_id", function_ids())
def test_each_function_may_do_only_what_its_route_needs(logical_id: str) -> None:
    assert granted_access(logical_id) == needed_access(logical_id)


def test_no_policy_has_a_wildcard() -> None:
    for logical_id in function_ids():
        for action, resource in granted_access(logical_id):
            assert "*" not in action
            assert "*" not in resource


# --- data safety and the tables the tests use ------------------------------------------


def _table_resource(table: StateTable | RecordTable) -> dict[str, Any]:
    resource: dict[str, Any] = load_template()["Resources"][table_logical_id(table)]
    return resource


def test_the_template_has_exactly_the_state_and_record_tables() -> None:
    tables = {
        logical_id
        for logical_id, resource in load_template()["Resources"].items()
        if resource["Type"] == "AWS::DynamoDB::Table"
    }
    assert tables == {table_logical_id(table) for table in (*TABLES, *RECORD_TABLES)}


def _table_id(table: StateTable | RecordTable) -> str:
    return table_logical_id(table)


@pytest.mark.parametrize("table", [*TABLES, *RECORD_TABLES], ids=_table_id)
def test_a_table_outlives_its_stack_and_can_be_restored(table: StateTable | RecordTable) -> None:
    resource = _table_resource(table)
    assert resource["DeletionPolicy"] == "Retain"
    assert resource["UpdateReplacePolicy"] == "Retain"
    properties = resource["Properties"]
    assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert properties["DeletionProtectionEnabled"] is True
    # As the state tables: items written without an expiry carry no `ttl`, never deleted.
    assert properties["TimeToLiveSpecification"] == {"AttributeName": "ttl", "Enabled": True}


@pytest.mark.parametrize("table", RECORD_TABLES, ids=_table_id)
def test_a_record_table_has_its_indexes_each_projecting_the_record(table: RecordTable) -> None:
    properties = _table_resource(table)["Properties"]
    assert properties["BillingMode"] == "PAY_PER_REQUEST"
    assert properties["KeySchema"] == [{"AttributeName": ID, "KeyType": "HASH"}]
    assert properties["GlobalSecondaryIndexes"] == [
        {
            "IndexName": index.name,
            "KeySchema": [
                {"AttributeName": index.partition, "KeyType": "HASH"},
                {"AttributeName": index.sort, "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": [RECORD, EXPIRES_AT]},
        }
        for index in table.indexes
    ]


@pytest.mark.parametrize("table", TABLES, ids=lambda table: TABLE_VARIABLES[table].default_name)
def test_a_table_has_the_contracts_keys(table: StateTable) -> None:
    properties = _table_resource(table)["Properties"]
    assert properties["BillingMode"] == "PAY_PER_REQUEST"
    assert properties["KeySchema"] == [{"AttributeName": ID, "KeyType": "HASH"}]
    assert properties["GlobalSecondaryIndexes"] == [
        {
            "IndexName": table.index_name,
            "KeySchema": [
                {"AttributeName": table.run_id_attribute, "KeyType": "HASH"},
                {"AttributeName": LIST_ORDER, "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "ALL"},
        }
    ]


@pytest.mark.parametrize("table", [*TABLES, *RECORD_TABLES], ids=_table_id)
def test_the_tests_tables_are_the_templates(dynamodb: Any, table: StateTable | RecordTable) -> None:
    deployed = _table_resource(table)["Properties"]
    settings = Settings()
    name = (
        settings.table(table).name
        if isinstance(table, StateTable)
        else settings.record_table_names()[table]
    )
    tested = dynamodb.describe_table(TableName=name)["Table"]
    assert tested["KeySchema"] == deployed["KeySchema"]
    assert sorted(tested["AttributeDefinitions"], key=str) == sorted(
        deployed["AttributeDefinitions"], key=str
    )
    assert tested["BillingModeSummary"]["BillingMode"] == deployed["BillingMode"]
    # DynamoDB Local lists a table's indexes in an order of its own.
    assert sorted(
        (
            {key: index[key] for key in ("IndexName", "KeySchema", "Projection")}
            for index in tested["GlobalSecondaryIndexes"]
        ),
        key=str,
    ) == sorted(deployed["GlobalSecondaryIndexes"], key=str)


class _ListedBeforeAnotherMadeThem:
    """A client whose table listing was taken before another process made the tables."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def list_tables(self) -> dict[str, list[str]]:
        return {"TableNames": []}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def test_tables_another_process_made_meanwhile_are_taken_as_made(dynamodb: Any) -> None:
    """`make serve` and a follower beside it may both create the tables on one emulator: the
    second finds each table made (and its TTL on) after it listed them, and goes on."""
    settings = fresh_settings()
    create_tables(dynamodb, settings)
    create_tables(cast("DynamoDBClient", _ListedBeforeAnotherMadeThem(dynamodb)), settings)
    names = [settings.table(table).name for table in TABLES]
    names += settings.record_table_names().values()
    for name in names:
        described = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        assert described["TimeToLiveStatus"] == "ENABLED", name


# --- the bundle's dependencies ---------------------------------------------------------


@pytest.mark.slow
def test_requirements_txt_is_the_lock_exported(tmp_path: Path) -> None:
    """requirements.txt (what the layer installs) records the command that wrote it: rerun on
    the current pyproject.toml and uv.lock, it must give the same file. `make requirements`
    writes it anew."""
    committed = REQUIREMENTS.read_text()
    command = committed.splitlines()[1].removeprefix("#").split()
    assert command[:2] == ["uv", "export"]
    for name in ("pyproject.toml", "uv.lock"):
        shutil.copy(PROJECT / name, tmp_path)
    uv = shutil.which("uv") or str(PROJECT / ".tools/bin/uv")
    subprocess.run([uv, *command[1:], "--quiet"], cwd=tmp_path, check=True)
    assert (tmp_path / "requirements.txt").read_text() == committed


# --- conditions, and what the import's operations add ------------------------------------


def condition_holds(name: str, parameters: dict[str, Any]) -> bool:
    """Whether the template's condition `name` holds for `parameters` (the others at their
    defaults), evaluated as CloudFormation does."""
    template = load_template()
    values = {
        parameter: definition.get("Default", "")
        for parameter, definition in template["Parameters"].items()
    }
    values.update(parameters)
    lists = {
        parameter
        for parameter, definition in template["Parameters"].items()
        if definition["Type"] == "CommaDelimitedList"
    }

    def value(node: Any) -> Any:
        if not isinstance(node, dict):
            return node
        ((function, argument),) = node.items()
        if function == "Ref":
            found = values[argument]
            return found.split(",") if argument in lists else found
        if function in ("Condition", "Fn::Condition"):
            return value(template["Conditions"][argument])
        if function == "Fn::Not":
            return not value(argument[0])
        if function == "Fn::Equals":
            return value(argument[0]) == value(argument[1])
        if function == "Fn::And":
            return all(value(part) for part in argument)
        if function == "Fn::Or":
            return any(value(part) for part in argument)
        if function == "Fn::Join":
            return argument[0].join(value(argument[1]))
        raise AssertionError(f"no evaluation of {function} here")

    holds: bool = value({"Condition": name})
    return holds


IMPORT_ON = {"ImportSourceApiUrl": "https://prefect.internal/api"}


@pytest.mark.parametrize(
    ("parameters", "in_vpc"),
    [
        ({}, False),
        (IMPORT_ON, False),
        (
            {**IMPORT_ON, "ImportSubnetIds": "subnet-1,subnet-2", "ImportSecurityGroupIds": "sg-1"},
            True,
        ),
        # Half a setting still asks for a VPC, so that Lambda refuses it at deploy.
        ({**IMPORT_ON, "ImportSubnetIds": "subnet-1"}, True),
        ({**IMPORT_ON, "ImportSecurityGroupIds": "sg-1"}, True),
        ({"ImportSubnetIds": "subnet-1", "ImportSecurityGroupIds": "sg-1"}, False),  # no import
    ],
)
def test_the_import_runs_in_a_vpc_only_when_its_network_is_given(
    parameters: dict[str, str], in_vpc: bool
) -> None:
    assert condition_holds("ImportInVpc", parameters) is in_vpc


def test_the_vpc_settings_are_empty_by_default_and_reach_the_function_as_given() -> None:
    template = load_template()
    for parameter in ("ImportSubnetIds", "ImportSecurityGroupIds"):
        assert template["Parameters"][parameter] == {
            **template["Parameters"][parameter],
            "Type": "CommaDelimitedList",
            "Default": "",
        }
    assert function_properties("ImportFunction")["VpcConfig"] == {
        "Fn::If": [
            "ImportInVpc",
            {
                "SubnetIds": {"Ref": "ImportSubnetIds"},
                "SecurityGroupIds": {"Ref": "ImportSecurityGroupIds"},
            },
            {"Ref": "AWS::NoValue"},
        ]
    }


# Lambda makes a function's network interfaces in its VPC with the function's role; these
# actions are what AWSLambdaVPCAccessExecutionRole grants, on "*" as there.
VPC_ACCESS_ACTIONS = frozenset(
    {
        "ec2:CreateNetworkInterface",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeSubnets",
        "ec2:DeleteNetworkInterface",
        "ec2:AssignPrivateIpAddresses",
        "ec2:UnassignPrivateIpAddresses",
    }
)


def standalone_policies() -> dict[str, dict[str, Any]]:
    return {
        logical_id: resource
        for logical_id, resource in load_template()["Resources"].items()
        if resource["Type"] == "AWS::IAM::Policy"
    }


def test_only_a_function_in_a_vpc_may_manage_network_interfaces() -> None:
    policies = standalone_policies()
    network = {
        logical_id: policy
        for logical_id, policy in policies.items()
        if any(
            str(action).startswith("ec2:")
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]
            for action in statement["Action"]
        )
    }
    (policy,) = network.values()
    assert policy["Condition"] == "ImportInVpc"
    assert policy["Properties"]["Roles"] == [{"Ref": "ImportFunctionRole"}]
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert set(statement["Action"]) == VPC_ACCESS_ACTIONS
    assert statement["Resource"] == "*"


def test_no_standalone_policy_has_a_wildcard_but_what_lambda_needs_in_a_vpc() -> None:
    """The policies outside the functions (auth strings, network interfaces): a wildcard
    resource only for the network interfaces' actions, and never a wildcard action."""
    for logical_id, policy in standalone_policies().items():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            assert statement["Effect"] == "Allow"
            actions = statement["Action"]
            for action in [actions] if isinstance(actions, str) else actions:
                assert "*" not in action, logical_id
            if "*" in repr(statement["Resource"]):
                assert set(actions) <= VPC_ACCESS_ACTIONS, logical_id


def test_a_resource_of_the_import_exists_only_with_the_import() -> None:
    """Whatever names a resource that exists only under a condition exists only under a
    condition implying it: with the import off, nothing names the missing function."""
    template = load_template()
    resources = template["Resources"]

    def implies(condition: str | None, required: str) -> bool:
        if condition is None:
            return False
        if condition == required:
            return True
        definition = template["Conditions"][condition]
        parts = definition.get("Fn::And", [])
        return any(
            isinstance(part, dict) and implies(part.get("Fn::Condition"), required)
            for part in parts
        )

    owners = {
        name: resource["Condition"]
        for name, resource in resources.items()
        if "Condition" in resource
    }
    owners |= {
        f"{name}Role": condition
        for name, condition in list(owners.items())
        if resources.get(name, {}).get("Type") == "AWS::Serverless::Function"
    }
    for logical_id, resource in resources.items():
        for named in set(references(resource)) & set(owners):
            assert implies(resource.get("Condition"), owners[named]), (logical_id, named)
    for output in template.get("Outputs", {}).values():
        assert not set(references(output)) & set(owners)


def alarm(logical_id: str) -> dict[str, Any]:
    resource: dict[str, Any] = load_template()["Resources"][logical_id]
    assert resource["Type"] == "AWS::CloudWatch::Alarm"
    return resource


def test_every_alarm_notifies_the_alarm_topic_when_one_is_given() -> None:
    notify = {"Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]}
    alarms = [
        resource
        for resource in load_template()["Resources"].values()
        if resource["Type"] == "AWS::CloudWatch::Alarm"
    ]
    assert len(alarms) == 3
    for resource in alarms:
        assert resource["Properties"]["AlarmActions"] == notify
        assert resource["Properties"]["OKActions"] == notify


def test_the_lag_alarm_reads_the_metric_the_function_publishes() -> None:
    from importer.metrics import LAG_METRIC, NAMESPACE, SOURCE_DIMENSION

    resource = alarm("CopyLagAlarm")
    assert resource["Condition"] == "ImportOn"
    properties = resource["Properties"]
    expression, read = properties["Metrics"]
    assert read["ReturnData"] is False
    assert expression["Expression"] == f"{read['Id']} / 60"  # seconds to minutes
    assert read["MetricStat"]["Stat"] == "Maximum"
    assert read["MetricStat"]["Metric"] == {
        "Namespace": NAMESPACE,
        "MetricName": LAG_METRIC,
        "Dimensions": [{"Name": SOURCE_DIMENSION, "Value": {"Ref": "ImportSourceApiUrl"}}],
    }
    # The function publishes the source URL it is given: the same parameter.
    variables = function_properties("ImportFunction")["Environment"]["Variables"]
    assert variables[IMPORT_SOURCE_URL_VARIABLE] == {"Ref": "ImportSourceApiUrl"}
    assert properties["ComparisonOperator"] == "GreaterThanThreshold"
    assert properties["Threshold"] == {"Ref": "CopyLagAlarmMinutes"}
    parameter = load_template()["Parameters"]["CopyLagAlarmMinutes"]
    assert (parameter["Type"], parameter["Default"]) == ("Number", 60)
    # A period the smallest threshold covers: never an alarm for a lag below it.
    assert read["MetricStat"]["Period"] <= parameter["MinValue"] * 60
    assert properties["TreatMissingData"] == "breaching"  # a stopped function publishes nothing


def test_the_import_function_failing_alarms() -> None:
    resource = alarm("ImportErrorsAlarm")
    assert resource["Condition"] == "ImportOn"
    properties = resource["Properties"]
    assert (properties["Namespace"], properties["MetricName"]) == ("AWS/Lambda", "Errors")
    assert properties["Dimensions"] == [
        {"Name": "FunctionName", "Value": {"Ref": "ImportFunction"}}
    ]
    assert (properties["Statistic"], properties["ComparisonOperator"]) == (
        "Sum",
        "GreaterThanThreshold",
    )
    assert properties["Threshold"] == 0
