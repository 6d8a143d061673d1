"""The local app's OpenAPI document describes the answers the service really gives."""

from typing import Any

from fastapi.testclient import TestClient

from api.endpoints import ENDPOINTS


def test_docs_are_served(api: TestClient) -> None:
    assert api.get("/docs").status_code == 200


def test_every_route_is_documented_with_its_error_bodies(api: TestClient) -> None:
    document: dict[str, Any] = api.get("/openapi.json").json()
    documented = {
        (method.upper(), path) for path, item in document["paths"].items() for method in item
    }
    # Each endpoint at the path it declares; the same path without its trailing slash, served
    # too, is left out.
    declared = {(method, endpoint.path) for endpoint in ENDPOINTS for method in endpoint.methods}
    assert documented == declared
    schemas = document["components"]["schemas"]
    assert "HTTPValidationError" not in schemas
    assert list(schemas["ValidationErrorBody"]["properties"]) == [
        "exception_message",
        "exception_detail",
        "request_body",
    ]
    for path, item in document["paths"].items():
        for operation in item.values():
            responses = operation["responses"]
            statuses = set(responses)
            assert {"405", "500"} <= statuses, path
            # Each check a route goes through, and only those, is documented.
            assert ("400" in statuses) == (path not in {"/api/health", "/api/version"}), path
            assert ("401" in statuses) == (path != "/api/health"), path
            validated = [p for p in operation.get("parameters", []) if p["in"] != "header"]
            assert ("422" in statuses) == bool(validated or "requestBody" in operation), path
            if "{id}" in path and "set_state" not in path:
                assert "404" in responses
            if path.endswith("set_state"):
                assert {"200", "201", "413", "503"} <= set(responses)
            if "503" in responses:
                assert responses["503"]["headers"]["Retry-After"]["required"] is True
            headers = [p["name"] for p in operation.get("parameters", []) if p["in"] == "header"]
            checked = path not in {"/api/health", "/api/version"}
            assert headers == (["X-Prefect-Api-Version"] if checked else []), path


def test_the_list_routes_document_paging(api: TestClient) -> None:
    document: dict[str, Any] = api.get("/openapi.json").json()
    for path in ("/api/flow_run_states/", "/api/task_run_states/"):
        operation = document["paths"][path]["get"]
        limit, cursor = (
            next(parameter for parameter in operation["parameters"] if parameter["name"] == name)
            for name in ("limit", "cursor")
        )
        assert limit["schema"]["anyOf"][0] == {"type": "integer", "minimum": 1, "maximum": 1000}
        assert (limit["required"], cursor["required"]) == (False, False)
        assert "X-Next-Cursor" in operation["responses"]["200"]["headers"]
        assert "6 MB" in operation["responses"]["413"]["description"]
