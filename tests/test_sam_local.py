"""`sam local` for real (local/sam_local.py): the bundle `sam build` makes for this machine, in
SAM's own emulator, each function in a container, on DynamoDB Local in a container on the
run's own docker network. Every function answers its own event through `sam local invoke`,
and a short sequence runs through `sam local start-api`.

Slow: about two minutes, and on a machine's first run about one more to build the offline
Lambda image (`pytest -m "not slow"` leaves them out). The tests talk to 127.0.0.1 only and use
the offline image unless SAM_LOCAL_IMAGE says otherwise, so they reach no registry. They do
not assert what SAM's emulator cannot do: it has no route for HEAD, and it answers 502 to a
body that is not UTF-8 (docs/sam-local.md)."""

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.runs import RunKind
from api.services import RepositoryProvider
from local.container_images import IMAGE_CHOICE_VARIABLE
from local.sam_local import SamLocal, build, host_architecture, sam_local
from local.servers import free_port
from storage.clients import aws_client
from tests.helpers import API_VERSION_HEADER, new_id, repositories_on
from tests.template import api_function_ids
from tests.test_curl_tour import assert_curl_examples_work
from tests.test_events import assert_answers_its_event, delete_event_states, in_process

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def sam(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SamLocal]:
    """The bundle built for this machine, and all `sam local` runs it on, for the module."""
    build_dir = tmp_path_factory.mktemp("sam-local-build")
    build_log = build_dir.parent / "sam-build.log"
    with build_log.open("wb") as output:
        try:
            build(build_dir, host_architecture(), output)
        except subprocess.CalledProcessError:
            pytest.fail(f"sam build failed:\n{build_log.read_text()}")
    with pytest.MonkeyPatch.context() as environment:
        environment.setenv(
            IMAGE_CHOICE_VARIABLE, os.environ.get(IMAGE_CHOICE_VARIABLE) or "offline"
        )
        with sam_local(build_dir, host_architecture()) as run:
            yield run


@pytest.fixture
def containers_dynamodb(sam: SamLocal) -> RepositoryProvider:
    """The service's repositories on the containers' DynamoDB Local, so that what a test
    writes in this process the functions read there; without the events' states."""
    repositories = repositories_on(aws_client("dynamodb", endpoint=sam.dynamodb_endpoint))
    delete_event_states(repositories)
    return repositories


@pytest.mark.parametrize("logical_id", api_function_ids())
def test_every_function_answers_its_event_through_sam_local_invoke(
    sam: SamLocal, containers_dynamodb: RepositoryProvider, logical_id: str, tmp_path: Path
) -> None:
    def sam_local_invoke(function: str, event: dict[str, Any]) -> dict[str, Any]:
        event_file = tmp_path / f"{function}.json"
        event_file.write_text(json.dumps(event))
        return sam.invoke(function, event_file)

    client = aws_client("dynamodb", endpoint=sam.dynamodb_endpoint)
    arrange = in_process(containers_dynamodb, lambda: client)
    assert_answers_its_event(sam_local_invoke, arrange, logical_id)


@pytest.fixture(scope="module")
def api_url(sam: SamLocal, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`sam local start-api` for the module: its API's URL."""
    log = tmp_path_factory.mktemp("sam-local-api") / "start-api.log"
    with log.open("wb") as output, sam.api(free_port(), output) as url:
        yield url


@pytest.fixture
def api(api_url: str) -> Iterator[httpx.Client]:
    """A client of it that sends Prefect's header."""
    origin = api_url.removesuffix("/api")
    with httpx.Client(base_url=origin, headers=API_VERSION_HEADER, timeout=60) as client:
        yield client


def test_a_runs_states_through_sam_local_start_api(api: httpx.Client, kind: RunKind) -> None:
    run_id = new_id()
    written = []
    for state_type in ("RUNNING", "COMPLETED"):
        response = api.post(
            f"{kind.runs_path}/{run_id}/set_state", json={"state": {"type": state_type}}
        )
        assert (response.status_code, response.json()["status"]) == (201, "ACCEPT")
        written.append(response.json()["state"])
    first, second = written

    state_url = f"{kind.states_path}/{first['id']}"
    assert api.get(state_url).json() == first

    query = {kind.run_id_field: run_id, "limit": "1"}
    page = api.get(f"{kind.states_path}/", params=query)
    cursor = page.headers["x-next-cursor"]
    last_page = api.get(kind.states_path, params={**query, "cursor": cursor})
    assert "x-next-cursor" not in last_page.headers
    assert [*page.json(), *last_page.json()] == written

    assert api.delete(state_url).status_code == 204
    missing = api.get(state_url)
    assert (missing.status_code, missing.json()) == (404, {"detail": kind.not_found})
    assert api.get(kind.states_path, params={kind.run_id_field: run_id}).json() == [second]

    not_allowed = api.put(state_url)  # no route: the fallback function answers
    assert (not_allowed.status_code, not_allowed.headers["allow"]) == (405, "GET, DELETE")
    assert not_allowed.json() == {"detail": "Method Not Allowed"}


def test_what_prefects_client_checks_through_sam_local_start_api(api: httpx.Client) -> None:
    assert api.get("/api/health").json() is True
    assert api.get("/api/version").json() == "0.8.4"
    assert api.get("/api/admin/version").json() == "3.9.1"
    csrf = api.get("/api/csrf-token", params={"client": "sam-local-test"})
    assert (csrf.status_code, csrf.json()) == (422, {"detail": "CSRF protection is disabled."})


def test_the_curl_tour_works_through_sam_local_start_api(
    api_url: str, containers_dynamodb: RepositoryProvider
) -> None:
    """As they stand but for the URL; they write the events' states, deleted beforehand."""
    assert_curl_examples_work(api_url)
