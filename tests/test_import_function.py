"""template.yaml's ImportFunction: off unless its parameters are set, least privilege, its
dependencies its own, and its event (events/ImportFunction.json) run through its handler
against the session's Prefect server, in bounded steps that resume from the checkpoint."""

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest
from moto import mock_aws

from api.settings import (
    IMPORT_SOURCE_AUTH_STRING_ARN_VARIABLE,
    IMPORT_SOURCE_URL_VARIABLE,
    Settings,
)
from importer import scheduled
from importer.checkpoint import Checkpoint, SourceCheckpoint
from importer.metrics import LAG_METRIC, NAMESPACE, SOURCE_DIMENSION
from local.invoke import function_properties, template_handler
from local.paths import EVENTS
from local.template_tables import create_tables, load_template, table_logical_id
from storage.checkpoints import CheckpointStore
from storage.clients import aws_client
from storage.dynamodb import dynamodb_client
from storage.table_shapes import CHECKPOINT_KEY_PREFIX, CHECKPOINT_TABLE
from tests.prefect_source import AUTH_STRING, Source
from tests.template import SCHEDULED_FUNCTIONS, api_function_ids
from tests.test_template import project_imports

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

FUNCTION = "ImportFunction"


def test_the_import_is_off_unless_its_source_is_set() -> None:
    template = load_template()
    resource = template["Resources"][FUNCTION]
    assert resource["Condition"] == "ImportOn"
    assert template["Conditions"]["ImportOn"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "ImportSourceApiUrl"}, ""]}]
    }
    for parameter in ("ImportSourceApiUrl", "ImportSourceAuthStringArn"):
        assert template["Parameters"][parameter]["Default"] == ""
    (event,) = function_properties(FUNCTION)["Events"].values()
    assert event == {"Type": "Schedule", "Properties": {"Schedule": {"Ref": "ImportSchedule"}}}


def test_its_checkpoint_is_the_only_item_it_may_read_or_put_alone() -> None:
    statements = function_properties(FUNCTION)["Policies"][0]["Statement"]
    (single_items,) = [s for s in statements if "dynamodb:PutItem" in s["Action"]]
    assert single_items["Condition"] == {
        "ForAllValues:StringLike": {"dynamodb:LeadingKeys": [CHECKPOINT_KEY_PREFIX + "*"]}
    }
    assert single_items["Resource"] == {"Fn::GetAtt": [table_logical_id(CHECKPOINT_TABLE), "Arn"]}
    policy = load_template()["Resources"]["ReadImportSourceAuthStringPolicy"]
    assert policy["Condition"] == "ImportAuthOn"
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Resource"] == {"Ref": "ImportSourceAuthStringArn"}
    assert policy["Properties"]["Roles"] == [{"Ref": f"{FUNCTION}Role"}]


def test_httpx_stays_out_of_the_apis_functions() -> None:
    assert {FUNCTION} == SCHEDULED_FUNCTIONS
    for logical_id in api_function_ids():
        module = function_properties(logical_id)["Handler"].rpartition(".")[0]
        assert not any(name.startswith("importer") for name in project_imports(module))
    imported = project_imports(function_properties(FUNCTION)["Handler"].rpartition(".")[0])
    assert not any(name.startswith(("handlers", "api.routes")) for name in imported)


@dataclass
class Context:
    remaining_ms: int

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


@pytest.fixture
def on_moto(source: Source, monkeypatch: pytest.MonkeyPatch) -> Iterator["DynamoDBClient"]:
    """The function's environment on moto: the template's tables, the source's auth string
    in Secrets Manager."""
    with mock_aws():
        client = dynamodb_client.__wrapped__()
        create_tables(client, Settings())
        secrets = aws_client("secretsmanager")
        arn = secrets.create_secret(Name="prefect-source", SecretString=AUTH_STRING)["ARN"]
        monkeypatch.setenv(IMPORT_SOURCE_URL_VARIABLE, source.api_url)
        monkeypatch.setenv(IMPORT_SOURCE_AUTH_STRING_ARN_VARIABLE, arn)
        yield client


@pytest.mark.slow
def test_its_event_copies_in_bounded_steps_that_resume(
    source: Source, on_moto: "DynamoDBClient", capsys: pytest.CaptureFixture[str]
) -> None:
    event: dict[str, Any] = json.loads((EVENTS / f"{FUNCTION}.json").read_text())
    handler = template_handler(FUNCTION)
    expected = source.all_states()
    states = sum(len(states) for runs in expected.values() for states in runs.values())

    # Less time left than the reserve for the writes in flight: no request to the source
    # runs past the deadline, so it reads nothing, and says so.
    out_of_time = handler(event, Context(remaining_ms=int(scheduled.RESERVE * 1000) - 1))
    assert (out_of_time["pass_completed"], out_of_time["runs_read"]) == (False, 0)
    assert out_of_time["complete_until"] is None
    assert checkpoint(on_moto, source).in_pass
    # Its lag is published all the same, as an EMF line on stdout: nothing is complete yet,
    # so it is decades, over any alarm's threshold.
    assert published_lag(capsys, source) > 50 * 365 * 86_400

    # It completes the reconcile the first began, naming the state too large to store.
    done = handler(event, Context(remaining_ms=300_000))
    assert done["pass_completed"] is True
    assert done["states_copied"] == states - len(set(done["states_too_large"]))
    assert done["complete_until"] is not None
    assert not checkpoint(on_moto, source).in_pass
    # Complete up to the events read less the overlap: minutes behind, not decades.
    assert 0 <= published_lag(capsys, source) < 3600


def published_lag(capsys: pytest.CaptureFixture[str], source: Source) -> float:
    """The lag the last invocation published for `source`: the one EMF line on stdout."""
    (line,) = [line for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    document = json.loads(line)
    metric = document["_aws"]["CloudWatchMetrics"][0]
    assert (metric["Namespace"], metric["Metrics"][0]["Name"]) == (NAMESPACE, LAG_METRIC)
    assert document[SOURCE_DIMENSION] == source.api_url
    lag: float = document[LAG_METRIC]
    return lag


def checkpoint(client: "DynamoDBClient", source: Source) -> Checkpoint:
    """The checkpoint in the table the default settings name (the function's, here)."""
    name = Settings().table(CHECKPOINT_TABLE).name
    return SourceCheckpoint(CheckpointStore(client, name), source.api_url).load()
