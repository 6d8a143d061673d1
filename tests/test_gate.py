"""What every route shares: unknown paths, methods, the API-version header, the client routes;
and the declarations (`api.endpoints`) the gate reads them from."""

from collections import Counter

import pytest
from fastapi.testclient import TestClient

from api.endpoints import ENDPOINTS, Endpoint
from api.runs import RunKind
from api.services import RepositoryProvider
from api.settings import Settings
from tests.helpers import new_id

STATE_ID = "0195f3a4-1b2c-7d3e-8f40-123456789abc"


@pytest.mark.parametrize(
    "path",
    [
        "/api/nothing",
        "/",
        "/api",
        "/api/flow_run_states/x/y",
        "/api/health/",
        "/flow_run_states/" + STATE_ID,
    ],
)
@pytest.mark.parametrize("method", ["GET", "POST", "PUT"])
def test_an_unknown_path_is_404(api: TestClient, path: str, method: str) -> None:
    response = api.request(method, path)
    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found"}


@pytest.mark.parametrize(
    ("path", "method", "allow"),
    [
        ("/api/flow_run_states/" + STATE_ID, "PUT", "GET, DELETE"),
        ("/api/task_run_states/" + STATE_ID, "HEAD", "GET, DELETE"),
        ("/api/task_run_states/" + STATE_ID, "POST", "GET, DELETE"),
        ("/api/flow_run_states/", "POST", "GET"),
        ("/api/task_run_states", "DELETE", "GET"),
        ("/api/flow_runs/" + STATE_ID + "/set_state", "GET", "POST"),
        ("/api/health", "POST", "GET"),
        ("/api/health", "HEAD", "GET"),
        ("/api/csrf-token", "PATCH", "GET"),
    ],
)
def test_another_method_on_a_known_path_is_405(
    api: TestClient, path: str, method: str, allow: str
) -> None:
    response = api.request(method, path, headers={"X-Prefect-Api-Version": "bad"})
    assert response.status_code == 405
    assert response.headers["allow"] == allow
    if method != "HEAD":
        assert response.json() == {"detail": "Method Not Allowed"}


BAD_FORMAT = (
    "Invalid X-PREFECT-API-VERSION header format.Expected header in format 'x.y.z' but received {}"
)


@pytest.mark.parametrize("header", ["1.2", "a.b.c", "1.2.3.4", "0.8.x", "latest"])
def test_a_malformed_version_header_is_400(api: TestClient, kind: RunKind, header: str) -> None:
    response = api.get(f"{kind.states_path}/{STATE_ID}", headers={"X-Prefect-Api-Version": header})
    assert response.status_code == 400
    assert response.json() == {"detail": BAD_FORMAT.format(header)}


@pytest.mark.parametrize("header", ["0.7.9", "0.0.1", "0.7.99"])
def test_an_old_version_header_is_400(api: TestClient, kind: RunKind, header: str) -> None:
    response = api.get(f"{kind.states_path}/{STATE_ID}", headers={"X-Prefect-Api-Version": header})
    assert response.status_code == 400
    assert response.json() == {
        "detail": f"The request specified API version {header} but this server requires "
        "version 0.8.0 or higher."
    }


@pytest.mark.parametrize("header", ["0.8.0", "0.8.4", "1.0.0", ""])
def test_an_acceptable_or_empty_version_header_passes(
    api: TestClient, kind: RunKind, header: str
) -> None:
    response = api.get(f"{kind.states_path}/{STATE_ID}", headers={"X-Prefect-Api-Version": header})
    assert response.status_code == 404


def test_no_version_header_passes(repositories: RepositoryProvider) -> None:
    from local.app import local_app

    with TestClient(local_app(Settings(), repositories)) as client:
        assert client.get(f"/api/flow_run_states/{STATE_ID}").status_code == 404


def test_the_version_header_is_checked_before_parameters_and_body(
    api: TestClient, kind: RunKind
) -> None:
    bad = {"X-Prefect-Api-Version": "1.2"}
    assert api.get(f"{kind.states_path}/not-a-uuid", headers=bad).status_code == 400
    assert (
        api.get(kind.states_path, params={kind.run_id_field: "x"}, headers=bad).status_code == 400
    )
    assert api.get(kind.states_path, headers=bad).status_code == 400
    response = api.post(
        f"{kind.runs_path}/{new_id()}/set_state",
        content=b"{not json",
        headers=bad | {"Content-Type": "application/json"},
    )
    assert response.status_code == 400


@pytest.mark.parametrize("path", ["/api/health", "/api/version"])
def test_health_and_version_ignore_the_version_header(api: TestClient, path: str) -> None:
    assert api.get(path, headers={"X-Prefect-Api-Version": "0.1"}).status_code == 200


def test_the_route_is_checked_before_the_version_header(api: TestClient) -> None:
    response = api.get("/api/nowhere", headers={"X-Prefect-Api-Version": "0.1"})
    assert response.status_code == 404


def test_client_routes(api: TestClient) -> None:
    assert (api.get("/api/health").status_code, api.get("/api/health").json()) == (200, True)
    assert api.get("/api/version").json() == "0.8.4"
    assert api.get("/api/admin/version").json() == "3.9.1"
    admin = api.get("/api/admin/version", headers={"X-Prefect-Api-Version": "0.1"})
    assert admin.status_code == 400
    csrf = api.get("/api/csrf-token", params={"client": new_id()})
    assert (csrf.status_code, csrf.json()) == (422, {"detail": "CSRF protection is disabled."})
    missing = api.get("/api/csrf-token")
    assert missing.status_code == 422
    assert missing.json()["exception_detail"][0]["loc"] == ["query", "client"]


# --- the declarations -------------------------------------------------------------------


def test_each_method_and_path_is_declared_once() -> None:
    declared = Counter(
        (method, path)
        for endpoint in ENDPOINTS
        for method in endpoint.methods
        for path in endpoint.paths
    )
    assert [route for route, count in declared.items() if count > 1] == []


def test_the_endpoints_sharing_a_path_agree_on_the_version_check() -> None:
    """The gate skips the check by the request path alone (`api.endpoints`)."""
    versioned: dict[str, set[bool]] = {}
    for endpoint in ENDPOINTS:
        for path in endpoint.paths:
            versioned.setdefault(path, set()).add(endpoint.versioned)
    assert {path: checks for path, checks in versioned.items() if len(checks) > 1} == {}


def test_only_a_path_without_parameters_skips_a_check() -> None:
    """The gate finds those by the request path itself, before it matches a route."""
    skipping = [
        endpoint for endpoint in ENDPOINTS if not (endpoint.versioned and endpoint.authenticated)
    ]
    assert skipping
    assert [endpoint.path for endpoint in skipping if "{" in endpoint.path] == []


def test_a_slashed_path_is_served_without_the_slash_too() -> None:
    assert Endpoint("/api/things/", ("GET",), "m:f").paths == ("/api/things/", "/api/things")
    assert Endpoint("/api/things", ("GET",), "m:f").paths == ("/api/things",)


def test_a_route_that_needs_a_kind_of_run_names_the_endpoint_without_one() -> None:
    endpoint = Endpoint("/api/things", ("GET",), "api.routes.read_state:add_read_state")
    with pytest.raises(TypeError, match="/api/things declares none"):
        endpoint.run_kind  # noqa: B018
