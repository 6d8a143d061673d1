"""The state and record tables as `template.yaml` defines them: the tested and served schema is the
deployed one."""

from functools import cache
from typing import TYPE_CHECKING, Any

import yaml
from botocore.exceptions import ClientError

from api.settings import Settings
from local.paths import TEMPLATE
from storage.table_shapes import (
    FLOW_RUN_STATES,
    TASK_RUN_STATES,
    RecordTable,
    StateTable,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import TimeToLiveSpecificationTypeDef

# What CreateTable takes from a template's table. Of the rest, Time to Live is applied where
# the emulator has it; point-in-time recovery and deletion protection only matter on AWS.
_CREATE_TABLE_KEYS = ("AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes", "BillingMode")


class _CloudFormationLoader(yaml.SafeLoader):
    """Reads CloudFormation's short tags (`!Ref X` as `{"Ref": "X"}`, and so on)."""


def _short_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CloudFormationLoader.add_multi_constructor("!", _short_tag)


@cache
def load_template() -> dict[str, Any]:
    with TEMPLATE.open() as file:
        template: dict[str, Any] = yaml.load(file, Loader=_CloudFormationLoader)
    return template


def _index_names(table: StateTable | RecordTable) -> set[str]:
    if isinstance(table, StateTable):
        return {table.index_name}
    return {index.name for index in table.indexes}


def table_logical_id(table: StateTable | RecordTable) -> str:
    """The logical id of the template's table resource whose indexes are `table`'s."""
    resources: dict[str, Any] = load_template()["Resources"]
    for logical_id, resource in resources.items():
        properties = resource.get("Properties", {})
        if resource["Type"] == "AWS::DynamoDB::Table" and _index_names(table) == {
            index["IndexName"] for index in properties.get("GlobalSecondaryIndexes", ())
        }:
            return logical_id
    raise LookupError(f"template.yaml defines no table with the indexes {_index_names(table)}")


def table_definition(table: StateTable | RecordTable) -> dict[str, Any]:
    """The properties of the template's table resource whose index is `table`'s."""
    return dict(load_template()["Resources"][table_logical_id(table)]["Properties"])


def create_tables(client: "DynamoDBClient", settings: Settings) -> None:
    """Create whichever of the tables (named as `settings` name them) does not exist yet,
    and wait until each is active."""
    existing = set(client.list_tables()["TableNames"])
    tables: list[tuple[StateTable | RecordTable, str]] = [
        (table, settings.table(table).name) for table in (FLOW_RUN_STATES, TASK_RUN_STATES)
    ]
    tables += settings.record_table_names().items()
    for table, name in tables:
        if name in existing:
            continue
        definition = table_definition(table)
        try:
            client.create_table(
                TableName=name, **{key: definition[key] for key in _CREATE_TABLE_KEYS}
            )
        except ClientError as error:
            # Another process on the same emulator (a follower beside `make serve`) made it
            # since the listing: wait for theirs as for ours.
            if error.response["Error"]["Code"] != "ResourceInUseException":
                raise
        client.get_waiter("table_exists").wait(
            TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30}
        )
        _enable_time_to_live(client, name, definition["TimeToLiveSpecification"])


def _enable_time_to_live(
    client: "DynamoDBClient", name: str, specification: "TimeToLiveSpecificationTypeDef"
) -> None:
    """Turn on TTL deletion where the emulator has it (moto and DynamoDB Local do; some
    answer UnknownOperationException). Nothing depends on it: reads skip expired states."""
    try:
        client.update_time_to_live(TableName=name, TimeToLiveSpecification=specification)
    except ClientError as error:
        code = error.response["Error"]["Code"]
        if code == "UnknownOperationException":
            return
        # Another process on the same emulator turned it on since the table was made.
        if code != "ValidationException" or not _time_to_live_on(client, name, specification):
            raise


def _time_to_live_on(
    client: "DynamoDBClient", name: str, specification: "TimeToLiveSpecificationTypeDef"
) -> bool:
    described = client.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    return (
        described.get("TimeToLiveStatus") in ("ENABLED", "ENABLING")
        and described.get("AttributeName") == specification["AttributeName"]
    )
