"""Auth (contract, "Auth"): Prefect's auth-string convention, HTTP Basic, every route but
GET /api/health; and, deployed, the auth string read from Secrets Manager or SSM."""

import base64
import logging
import re
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import botocore.client
import pytest
from fastapi.testclient import TestClient
from moto import mock_aws

from api.app import build_handler
from api.auth import authenticator_for, read_auth_string
from api.endpoints import (
    HEALTH_CHECK,
    READ_API_VERSION,
    READ_FLOW_RUN_STATE,
    READ_SERVER_VERSION,
    ROUTES,
)
from api.runs import FLOW_RUN, RunKind
from api.services import RepositoryProvider
from api.settings import AUTH_STRING_ARN_VARIABLE, AUTH_STRING_VARIABLE, Settings, SettingsError
from local.app import local_app
from local.invoke import invoke, status_and_body
from local.lambda_events import http_api_event
from local.template_tables import create_tables, load_template
from storage.clients import aws_client
from storage.dynamodb import dynamodb_client
from tests.helpers import API_VERSION_HEADER, new_id, record_clients_made
from tests.template import api_function_ids

if TYPE_CHECKING:
    from mypy_boto3_ssm.literals import ParameterTypeType

AUTH_STRING = "admin:pass"
CLIENT_ENDPOINTS = (HEALTH_CHECK, READ_API_VERSION, READ_SERVER_VERSION)
UNAUTHORIZED = {"exception_message": "Unauthorized"}


def basic(credentials: str) -> str:
    return "Basic " + base64.b64encode(credentials.encode()).decode()


GOOD = basic(AUTH_STRING)
GOOD_TOKEN = GOOD.removeprefix("Basic ")

REFUSED_HEADERS = {
    "missing": None,
    "empty": "",
    "scheme only": "Basic",
    "no scheme": GOOD_TOKEN,
    "wrong scheme": "Bearer " + GOOD_TOKEN,
    "scheme not spelled Basic, as on Prefect": "basic " + GOOD_TOKEN,
    "bad base64": "Basic !!!" + GOOD_TOKEN,
    "base64 without its padding": "Basic " + GOOD_TOKEN.rstrip("="),
    "extra part": GOOD + " extra",
    "two credentials": GOOD + " " + GOOD_TOKEN,
    "wrong password": basic("admin:wrong"),
    "wrong user": basic("root:pass"),
    "a prefix of the string": basic("admin:pas"),
    "the string and more": basic("admin:pass "),
    "no user part": basic("pass"),
    "empty credentials": basic(""),
    "not UTF-8": "Basic " + base64.b64encode(b"admin:\xff").decode(),
}


def concrete(path: str) -> str:
    return path.replace("{id}", new_id())


def every_request() -> Iterator[tuple[str, str]]:
    """Each method on each declared path, one other method on each, and unknown
    paths: every request that needs auth, whatever else would answer it."""
    for path, methods in ROUTES.items():
        for method in (*methods, "PATCH", "HEAD"):
            if (method, path) != ("GET", HEALTH_CHECK.path):
                yield method, concrete(path)
    for path in ("/api/nothing", "/", "/api", "/api/health/", "/api/flow_run_states/x/y"):
        yield "GET", path
        yield "POST", path


@pytest.fixture
def authed(repositories: RepositoryProvider) -> Iterator[TestClient]:
    """The local app with auth on, sending the header Prefect's client sends."""
    app = local_app(Settings(auth_string=AUTH_STRING), repositories)
    with TestClient(app, headers=API_VERSION_HEADER) as client:
        yield client


def request(api: TestClient, method: str, path: str, authorization: str | None) -> Any:
    headers = {} if authorization is None else {"Authorization": authorization}
    return api.request(method, path, headers=headers)


@pytest.mark.parametrize("authorization", REFUSED_HEADERS.values(), ids=REFUSED_HEADERS.keys())
def test_every_protected_request_is_401_without_the_auth_string(
    authed: TestClient, authorization: str | None
) -> None:
    for method, path in every_request():
        response = request(authed, method, path, authorization)
        assert response.status_code == 401, (method, path)
        if method != "HEAD":
            assert response.json() == UNAUTHORIZED, (method, path)


def test_with_the_auth_string_every_request_gets_its_own_answer(authed: TestClient) -> None:
    for method, path in every_request():
        assert request(authed, method, path, GOOD).status_code != 401, (method, path)
    # Prefect splits the header on any whitespace, so this passes there too.
    for authorization in (GOOD, GOOD.replace(" ", "   "), GOOD.replace(" ", "\t")):
        response = request(authed, "GET", "/api/admin/version", authorization)
        assert (response.status_code, response.json()) == (200, "3.9.1")


def test_the_health_check_is_open_to_get_only(authed: TestClient) -> None:
    for authorization in (None, "Bearer nonsense", GOOD):
        response = request(authed, "GET", HEALTH_CHECK.path, authorization)
        assert (response.status_code, response.json()) == (200, True)
    assert request(authed, "POST", HEALTH_CHECK.path, None).json() == UNAUTHORIZED
    assert request(authed, "POST", HEALTH_CHECK.path, GOOD).status_code == 405


def test_auth_is_checked_before_anything_else(authed: TestClient, kind: RunKind) -> None:
    response = authed.post(
        f"{kind.runs_path}/not-a-uuid/set_state",
        content=b"{not json",
        headers={"X-Prefect-Api-Version": "0.1", "Content-Type": "application/json"},
    )
    assert (response.status_code, response.json()) == (401, UNAUTHORIZED)


def test_a_refused_write_stores_nothing(authed: TestClient, kind: RunKind) -> None:
    run_id = new_id()
    proposal = {"state": {"type": "RUNNING", "state_details": {"transition_id": new_id()}}}
    path = f"{kind.runs_path}/{run_id}/set_state"
    for authorization in REFUSED_HEADERS.values():
        response = authed.post(
            path,
            json=proposal,
            headers={} if authorization is None else {"Authorization": f"{authorization}"},
        )
        assert response.status_code == 401
    listed = authed.get(
        kind.states_path, params={kind.run_id_field: run_id}, headers={"Authorization": GOOD}
    )
    assert listed.json() == []
    # Had a refused write stored the state, this would be a 200 REJECT retry.
    assert authed.post(path, json=proposal, headers={"Authorization": GOOD}).status_code == 201


def test_a_non_ascii_auth_string_works(repositories: RepositoryProvider) -> None:
    auth_string = "admïn:pässwörd✓"
    app = local_app(Settings(auth_string=auth_string), repositories)
    with TestClient(app, headers=API_VERSION_HEADER) as api:
        assert request(api, "GET", "/api/version", basic(auth_string)).status_code == 200
        assert request(api, "GET", "/api/version", basic("admin:passwort")).status_code == 401


def test_auth_is_off_by_default(api: TestClient) -> None:
    assert authenticator_for(Settings.from_environment({})) is None
    assert api.get("/api/admin/version").status_code == 200


def test_the_environment_configures_auth() -> None:
    authenticator = authenticator_for(
        Settings.from_environment({AUTH_STRING_VARIABLE: AUTH_STRING})
    )
    assert authenticator is not None
    assert authenticator.allows(GOOD)
    assert not authenticator.allows(basic("admin:other"))
    both = {
        AUTH_STRING_VARIABLE: AUTH_STRING,
        AUTH_STRING_ARN_VARIABLE: "arn:aws:ssm:us-east-1:123456789012:parameter/a",
    }
    with pytest.raises(SettingsError, match="not both"):
        Settings.from_environment(both)
    empty = {AUTH_STRING_VARIABLE: "", AUTH_STRING_ARN_VARIABLE: ""}
    assert authenticator_for(Settings.from_environment(empty)) is None


# --- deployed: the auth string kept in Secrets Manager or SSM -------------------------


@pytest.fixture
def aws_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every AWS operation made from here on, by name, on moto's in-process AWS (Secrets
    Manager, SSM, and DynamoDB with the template's tables); and a process cache of the auth
    string that starts and ends empty. Where the secret is kept is the subject here, so
    these tests run on one DynamoDB implementation only."""
    calls: list[str] = []
    # botocore-stubs leave out the private method every operation goes through.
    make_api_call = botocore.client.BaseClient._make_api_call  # type: ignore[attr-defined]

    def counting(self: Any, operation_name: str, api_params: Any) -> Any:
        calls.append(operation_name)
        return make_api_call(self, operation_name, api_params)

    with mock_aws():
        create_tables(dynamodb_client(), Settings())
        monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", counting)
        read_auth_string.cache_clear()
        yield calls
        read_auth_string.cache_clear()


def keep_in_secrets_manager(value: str) -> str:
    secret = aws_client("secretsmanager").create_secret(Name=f"auth-{new_id()}", SecretString=value)
    return str(secret["ARN"])


def keep_in_ssm(value: str, kind: "ParameterTypeType" = "SecureString") -> str:
    name = f"/prefect-run-states/{new_id()}/auth"
    aws_client("ssm").put_parameter(Name=name, Value=value, Type=kind)
    return f"arn:aws:ssm:us-east-1:123456789012:parameter{name}"


STORES = {"secretsmanager": keep_in_secrets_manager, "ssm": keep_in_ssm}
READS = {"GetSecretValue", "GetParameter"}


def answer(handler: Any, method: str, path: str, authorization: str | None) -> tuple[int, Any]:
    headers = {} if authorization is None else {"authorization": authorization}
    return status_and_body(invoke(handler, http_api_event(method, path, headers=headers)))


@pytest.mark.parametrize("store", STORES.values(), ids=STORES.keys())
def test_deployed_the_auth_string_is_read_once_per_process_on_the_first_request(
    aws_calls: list[str], monkeypatch: pytest.MonkeyPatch, store: Callable[[str], str]
) -> None:
    settings = Settings(auth_string_arn=store(AUTH_STRING))
    aws_calls.clear()
    handlers = [
        build_handler(*CLIENT_ENDPOINTS, settings=settings),
        build_handler(READ_FLOW_RUN_STATE, settings=settings),
    ]
    assert aws_calls == []  # nothing read when the functions are made
    assert answer(handlers[0], "GET", HEALTH_CHECK.path, None) == (200, True)
    assert aws_calls == []  # nor for a request that needs no auth
    state_path = f"{FLOW_RUN.states_path}/{new_id()}"
    for _ in range(3):
        assert answer(handlers[0], "GET", "/api/admin/version", None) == (401, UNAUTHORIZED)
        assert answer(handlers[0], "GET", "/api/admin/version", GOOD) == (200, "3.9.1")
        assert answer(handlers[1], "GET", state_path, basic("admin:no")) == (401, UNAUTHORIZED)
        assert answer(handlers[1], "GET", state_path, GOOD)[0] == 404
    assert [call for call in aws_calls if call in READS] == [
        "GetSecretValue" if store is keep_in_secrets_manager else "GetParameter"
    ]


def test_without_an_arn_no_secret_client_is_made(
    aws_calls: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    made = record_clients_made(monkeypatch)
    for settings in (Settings(), Settings(auth_string=AUTH_STRING)):
        handler = build_handler(READ_FLOW_RUN_STATE, settings=settings)
        assert answer(handler, "GET", f"{FLOW_RUN.states_path}/{new_id()}", GOOD)[0] == 404
    assert set(made) <= {"dynamodb"}
    assert not READS & set(aws_calls)


def test_a_failed_read_fails_closed_and_is_tried_again(
    aws_calls: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    name = f"/prefect-run-states/{new_id()}/auth"
    arn = f"arn:aws:ssm:us-east-1:123456789012:parameter{name}"
    handler = build_handler(*CLIENT_ENDPOINTS, settings=Settings(auth_string_arn=arn))
    internal_error = (500, {"exception_message": "Internal Server Error"})
    assert answer(handler, "GET", "/api/version", GOOD) == internal_error  # not there yet
    aws_client("ssm").put_parameter(Name=name, Value=AUTH_STRING, Type="SecureString")
    assert answer(handler, "GET", "/api/version", GOOD) == (200, "0.8.4")
    assert answer(handler, "GET", "/api/version", None) == (401, UNAUTHORIZED)
    assert [call for call in aws_calls if call in READS] == ["GetParameter", "GetParameter"]


@pytest.mark.parametrize(
    "arn",
    [
        pytest.param(lambda: keep_in_ssm(AUTH_STRING, "String"), id="a plain SSM String"),
        pytest.param(
            lambda: aws_client("secretsmanager").create_secret(
                Name=f"auth-{new_id()}", SecretBinary=AUTH_STRING.encode()
            )["ARN"],
            id="a binary secret",
        ),
        pytest.param(lambda: "prefect-auth", id="a name, not an ARN"),
        pytest.param(lambda: "arn:aws:s3:::bucket/auth", id="another service's ARN"),
    ],
)
def test_a_misconfigured_auth_string_fails_closed(
    aws_calls: list[str], monkeypatch: pytest.MonkeyPatch, arn: Callable[[], str]
) -> None:
    handler = build_handler(*CLIENT_ENDPOINTS, settings=Settings(auth_string_arn=arn()))
    for authorization in (GOOD, None, basic("")):
        assert answer(handler, "GET", "/api/version", authorization)[0] == 500
    assert answer(handler, "GET", HEALTH_CHECK.path, None) == (200, True)


@pytest.mark.parametrize("store", STORES.values(), ids=STORES.keys())
def test_the_auth_string_is_never_logged(
    aws_calls: list[str],
    monkeypatch: pytest.MonkeyPatch,
    service_log: pytest.LogCaptureFixture,
    store: Callable[[str], str],
) -> None:
    caplog = service_log
    secret = f"admin:{new_id()}"
    arn = store(secret)
    handler = build_handler(*CLIENT_ENDPOINTS, settings=Settings(auth_string_arn=arn))
    with caplog.at_level(logging.DEBUG):
        assert answer(handler, "GET", "/api/version", basic(secret)) == (200, "0.8.4")
    assert any(record.name.startswith("botocore") for record in caplog.records)
    assert arn in caplog.text
    assert secret.removeprefix("admin:") not in caplog.text


# --- the template ----------------------------------------------------------------------


def test_the_template_names_where_the_auth_string_is_and_lets_each_function_read_it() -> None:
    template = load_template()
    parameter = template["Parameters"]["ApiAuthStringArn"]
    assert parameter["Default"] == ""
    pattern = re.compile(parameter["AllowedPattern"])
    for arn in (
        "",
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prefect/auth-AbCdEf",
        "arn:aws:ssm:eu-west-1:123456789012:parameter/prefect/auth",
        "arn:aws-us-gov:ssm:us-gov-west-1:123456789012:parameter/auth",
    ):
        assert pattern.fullmatch(arn), arn
    for not_an_arn in ("prefect/auth", "admin:pass", "arn:aws:s3:::bucket/auth"):
        assert not pattern.fullmatch(not_an_arn), not_an_arn

    # Where it is kept goes to every function; the string itself to none.
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    assert variables[AUTH_STRING_ARN_VARIABLE] == {"Ref": "ApiAuthStringArn"}
    functions = {
        name: resource["Properties"]
        for name, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
    }
    assert functions
    environments = [variables] + [
        properties.get("Environment", {}).get("Variables", {}) for properties in functions.values()
    ]
    assert all(AUTH_STRING_VARIABLE not in environment for environment in environments)

    assert template["Conditions"]["AuthOn"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "ApiAuthStringArn"}, ""]}]
    }
    policy = template["Resources"]["ReadApiAuthStringPolicy"]
    assert policy["Condition"] == "AuthOn"
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement == {
        "Effect": "Allow",
        "Action": ["secretsmanager:GetSecretValue", "ssm:GetParameter"],
        "Resource": {"Ref": "ApiAuthStringArn"},
    }
    assert all("Role" not in properties for properties in functions.values())
    # SAM names the role it makes for a function `<function>Role`. Every function behind the
    # API answers 401 first; the scheduled import answers no request and never reads it.
    assert policy["Properties"]["Roles"] == [{"Ref": f"{name}Role"} for name in api_function_ids()]
