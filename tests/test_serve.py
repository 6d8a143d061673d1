"""`make serve`'s entry point over real HTTP, on a DynamoDB reached over the network."""

import httpx
import pytest

from tests.helpers import new_id

pytestmark = pytest.mark.slow  # `make serve`'s process


def test_the_service_answers_over_http(live_api_url: str) -> None:
    run_id = new_id()
    with httpx.Client(base_url=live_api_url, headers={"X-Prefect-Api-Version": "0.8.4"}) as http:
        assert http.get("/health").json() is True
        created = http.post(f"/flow_runs/{run_id}/set_state", json={"state": {"type": "RUNNING"}})
        assert created.status_code == 201
        listed = http.get("/flow_run_states", params={"flow_run_id": run_id})
        assert listed.json() == [created.json()["state"]]
