"""The Prefect server copied from: its REST API, read with retries.

The service mirrors Prefect's paths (`api.runs`), so a kind of run names its paths on the
source too, less the `/api` prefix that the source URL already ends with.
"""

import base64
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from api.runs import RunKind

logger = logging.getLogger("prefect_run_states.importer")

PAGE_SIZE = 200  # Prefect's largest page (PREFECT_SERVER_API_DEFAULT_LIMIT); 201 is a 422
TIMEOUT = httpx.Timeout(30, connect=5)
# Attempts for a request that times out, cannot connect, or gets a 5xx or 429: the waits
# between them double from 0.5 s, so a source restarting for up to about 30 s is ridden out.
ATTEMPTS = 7
FIRST_BACKOFF = 0.5
# The first request only tells a typo from a server: a wrong URL fails in about 1.5 s.
FIRST_CONTACT_ATTEMPTS = 3
_RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})


class SourceError(Exception):
    """The source cannot be copied from: the message says why and what to do."""


class SourceRefused(SourceError):
    """The source answered a request with an error status that no retry changes."""

    def __init__(self, message: str, response: httpx.Response) -> None:
        super().__init__(message)
        self.response = response


@dataclass(frozen=True, slots=True)
class Run:
    id: str
    state_id: str | None  # the run's current state: the last of its states


@dataclass(frozen=True, slots=True)
class SourceState:
    """A state as the source serves it: parsed, and as the JSON text to store."""

    id: str
    timestamp: str
    document: str


def _document(state: dict[str, Any]) -> str:
    """The state as compact JSON: equal, as JSON, to what the source served."""
    return json.dumps(state, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


class PrefectSource:
    def __init__(
        self,
        api_url: str,
        auth_string: str | None = None,
        connections: int = 8,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.page_size = PAGE_SIZE
        headers = {}
        if auth_string:  # as Prefect's client sends PREFECT_API_AUTH_STRING
            token = base64.b64encode(auth_string.encode()).decode()
            headers["Authorization"] = f"Basic {token}"
        self._http = httpx.Client(
            base_url=self.api_url,
            headers=headers,
            timeout=TIMEOUT,
            limits=httpx.Limits(max_connections=connections),
            transport=transport,
        )
        self._sleep = sleep

    def close(self) -> None:
        self._http.close()

    def check_version(self) -> str:
        """The source's Prefect version; a SourceError unless it is a Prefect 3 server."""
        try:
            response = self._request("GET", "/admin/version", attempts=FIRST_CONTACT_ATTEMPTS)
        except SourceRefused as refused:  # a 404 from a server that is no Prefect, say
            response = refused.response
        try:
            version = response.json()
        except ValueError:
            version = None
        if not isinstance(version, str) or version.split(".")[0] != "3":
            raise SourceError(
                f"{self.api_url} is not a Prefect 3 server: GET /admin/version answered "
                f"{response.text[:100]!r}; give the API URL of a Prefect 3 server, "
                "e.g. http://prefect.internal:4200/api"
            )
        return version

    def count_runs(self, kind: RunKind, run_filter: dict[str, Any]) -> int:
        path = kind.runs_path.removeprefix("/api")
        body = {path.strip("/"): run_filter}
        count: int = self._request("POST", f"{path}/count", json=body).json()
        return count

    def list_runs(self, kind: RunKind, run_filter: dict[str, Any], offset: int) -> list[Run]:
        """One page (`page_size` runs) of the runs `run_filter` selects, newest id first."""
        path = kind.runs_path.removeprefix("/api")
        body = {path.strip("/"): run_filter, "limit": self.page_size, "offset": offset}
        runs = self._request("POST", f"{path}/filter", json=body).json()
        return [Run(id=run["id"], state_id=run.get("state_id")) for run in runs]

    def run_states(self, kind: RunKind, run_id: str) -> list[SourceState]:
        """A run's states, oldest first, as the source serves them."""
        path = kind.states_path.removeprefix("/api") + "/"
        response = self._request("GET", path, params={kind.run_id_field: run_id})
        return [
            SourceState(id=state["id"], timestamp=state["timestamp"], document=_document(state))
            for state in response.json()
        ]

    def _request(
        self, method: str, path: str, attempts: int = ATTEMPTS, **kwargs: Any
    ) -> httpx.Response:
        """One request, retried with backoff on a timeout, a failed connection, 429 or 5xx."""
        backoff = FIRST_BACKOFF
        failure = ""
        for attempt in range(1, attempts + 1):
            try:
                response = self._http.request(method, path, **kwargs)
            except httpx.TransportError as error:
                failure = f"{type(error).__name__}: {error}"
            else:
                if response.status_code == 401:
                    raise SourceError(
                        f"{self.api_url} answered 401 Unauthorized: set SOURCE_AUTH_STRING to "
                        "the server's PREFECT_SERVER_API_AUTH_STRING (user:password)"
                    )
                if response.status_code not in _RETRIED_STATUSES:
                    if response.is_error:
                        raise SourceRefused(
                            f"{method} {self.api_url}{path} answered {response.status_code}: "
                            f"{response.text[:200]}",
                            response,
                        )
                    return response
                failure = f"{response.status_code} {response.reason_phrase}"
            if attempt < attempts:
                logger.warning(
                    "%s %s%s: %s; retrying in %.1f s", method, self.api_url, path, failure, backoff
                )
                self._sleep(backoff)
                backoff *= 2
        raise SourceError(
            f"{self.api_url} did not answer {method} {path} after {attempts} attempts "
            f"(last: {failure}): check that the Prefect server is running and reachable"
        )
