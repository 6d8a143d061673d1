"""The Prefect server the import tests copy from: real flows' history, read back over its API."""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from api.runs import FLOW_RUN, TASK_RUN, RunKind
from local.servers import run_prefect_flows

AUTH_STRING = "importer:s3cret"  # ASCII: Prefect 3.9.1 answers 500 to a non-ASCII one
History = dict[RunKind, dict[str, list[dict[str, Any]]]]  # each kind's runs, their states


@dataclass(frozen=True)
class Source:
    api_url: str
    home: Path

    def http(self) -> httpx.Client:
        user, _, password = AUTH_STRING.partition(":")
        return httpx.Client(base_url=self.api_url, auth=(user, password))

    def run_ids(self, kind: RunKind) -> list[str]:
        path = kind.runs_path.removeprefix("/api")
        with self.http() as http:
            runs = http.post(f"{path}/filter", json={}).raise_for_status().json()
        return [run["id"] for run in runs]

    def states(self, kind: RunKind, run_id: str) -> list[dict[str, Any]]:
        path = kind.states_path.removeprefix("/api") + "/"
        with self.http() as http:
            response = http.get(path, params={kind.run_id_field: run_id}).raise_for_status()
        states: list[dict[str, Any]] = response.json()
        return states

    def events(self, event_filter: dict[str, Any]) -> list[dict[str, Any]]:
        """Every event `POST /events/filter` finds (at most 50 a page), through its
        `next_page` links."""
        with self.http() as http:
            page = http.post("/events/filter", json={"filter": event_filter, "limit": 50})
            found = page.raise_for_status().json()
            events: list[dict[str, Any]] = found["events"]
            while found["next_page"]:
                found = http.get(found["next_page"]).raise_for_status().json()
                events += found["events"]
        return events

    def all_states(self) -> History:
        return {
            kind: {run_id: self.states(kind, run_id) for run_id in self.run_ids(kind)}
            for kind in (FLOW_RUN, TASK_RUN)
        }

    def run_flows(self, *arguments: str) -> str:
        """tests/prefect_flows.py against this server: what it printed."""
        return run_prefect_flows(self.api_url, self.home, *arguments, auth_string=AUTH_STRING)
