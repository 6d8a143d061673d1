"""The Prefect server copied from: its REST API, read with retries.

The service mirrors Prefect's paths (`api.runs`), so a kind of run names its paths on the
source too, less the `/api` prefix that the source URL already ends with.
"""

import base64
import json
import logging
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from api.runs import FLOW_RUN, TASK_RUN, RunKind
from queries import Kind

logger = logging.getLogger("prefect_run_states.importer")

# The page asked for first: Prefect's default PREFECT_SERVER_API_DEFAULT_LIMIT, which is also
# its largest page. A server set lower answers it with a 422 naming its own limit, then used.
PAGE_SIZE = 200
_LIMIT_REFUSED = re.compile(r"Invalid limit: must be less than or equal to (\d+)\.")
EVENTS_PAGE_SIZE = 50  # /events/filter's largest `limit`
IDS_A_REQUEST = 100  # ids in one `any_` filter (less where the source's page is smaller)
# The state changes among Prefect's events; heartbeats share the flow-run prefix.
STATE_EVENT_PREFIXES = ("prefect.flow-run.", "prefect.task-run.")
HEARTBEAT = "prefect.flow-run.heartbeat"
_KIND_OF_RESOURCE = {"prefect.flow-run.": FLOW_RUN, "prefect.task-run.": TASK_RUN}
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 30.0
# Attempts for a request that times out, cannot connect, or gets a 5xx or 429: the waits
# between them double from 0.5 s, so a source restarting for up to about 30 s is ridden out.
ATTEMPTS = 7
FIRST_BACKOFF = 0.5
# The first request only tells a typo from a server: a wrong URL fails in about 1.5 s.
FIRST_CONTACT_ATTEMPTS = 3
_RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})


class SourceError(Exception):
    """The source cannot be copied from: the message says why and what to do."""


class SourceUnauthorized(SourceError):
    """The source refused the credentials: nothing can be copied until they are fixed."""


class OutOfTime(Exception):
    """The deadline the source was given has passed: the copy stops where it is."""


class SourceRefused(SourceError):
    """The source answered a request with an error status that no retry changes."""

    def __init__(self, message: str, response: httpx.Response) -> None:
        super().__init__(message)
        self.response = response


# The records a run's record names by id, and the field naming each.
_REFERENCES = ((Kind.FLOW, "flow_id"), (Kind.DEPLOYMENT, "deployment_id"))


@dataclass(frozen=True, slots=True)
class SourceRecord:
    """A flow run, task run, flow or deployment as the source serves it: the JSON text to
    store, and what the copy reads of it."""

    id: str
    document: str
    references: tuple[tuple[Kind, str], ...] = ()  # the flow and deployment it names
    state_timestamp: str | None = None  # a run's current state's


def source_record(record: dict[str, Any]) -> SourceRecord:
    state = record.get("state") or {}
    return SourceRecord(
        id=record["id"],
        document=_document(record),
        references=tuple(
            (kind, record[field]) for kind, field in _REFERENCES if record.get(field) is not None
        ),
        state_timestamp=state.get("timestamp"),
    )


@dataclass(frozen=True, slots=True)
class Run:
    id: str
    state_id: str | None  # the run's current state (not always its last: see facts §4)
    expected_start_time: str | None  # set once, at its first state; the listings' key
    record: SourceRecord | None = None  # as a listing served it; None when known by id alone


@dataclass(frozen=True, slots=True)
class StateEvent:
    """One of Prefect's events. A run's state change (`run` set) has the state's id as its
    id and the state's timestamp as `occurred`; a flow-run event may relate a task run (a
    subflow's parent task run). Other events (`run` None) only mark the walk's place."""

    id: str
    occurred: str
    run: "tuple[RunKind, str] | None"
    related_task_runs: tuple[str, ...] = ()


def _resource_run(resource_id: str) -> tuple[RunKind, str] | None:
    for prefix, kind in _KIND_OF_RESOURCE.items():
        if resource_id.startswith(prefix):
            return kind, resource_id.removeprefix(prefix)
    return None


def _state_event(event: dict[str, Any]) -> StateEvent:
    run = _resource_run(event["resource"]["prefect.resource.id"])
    if run is None or "validated_state" not in (event.get("payload") or {}):
        return StateEvent(event["id"], event["occurred"], None)
    related = (_resource_run(resource["prefect.resource.id"]) for resource in event["related"])
    task_runs = tuple(run_id for kind, run_id in filter(None, related) if kind is TASK_RUN)
    return StateEvent(event["id"], event["occurred"], run, task_runs)


@dataclass(frozen=True, slots=True)
class SourceState:
    """A state as the source serves it: parsed, and as the JSON text to store."""

    id: str
    timestamp: str
    document: str


def _document(served: dict[str, Any]) -> str:
    """A state or record as compact JSON: equal, as JSON, to what the source served."""
    return json.dumps(served, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _filter_path(kind: Kind) -> str:
    """A kind's listing on the source, and its filter's key in the body: `flow_runs`..."""
    return f"{kind.value}s"


class PrefectSource:
    def __init__(
        self,
        api_url: str,
        auth_string: str | None = None,
        connections: int = 8,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
        deadline: float | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        """`deadline` (a `monotonic()` value): no request to the source, and no wait between
        attempts, runs past it; what would is cut short with OutOfTime."""
        self.api_url = api_url.rstrip("/")
        self.page_size: int | None = None  # the listings' `limit`: found at the first listing
        self.deadline = deadline
        self._monotonic = monotonic
        headers = {}
        if auth_string:  # as Prefect's client sends PREFECT_API_AUTH_STRING
            token = base64.b64encode(auth_string.encode()).decode()
            headers["Authorization"] = f"Basic {token}"
        self._http = httpx.Client(
            base_url=self.api_url,
            headers=headers,
            timeout=httpx.Timeout(READ_TIMEOUT, connect=CONNECT_TIMEOUT),
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

    def list_runs(
        self,
        kind: RunKind,
        run_filter: dict[str, Any],
        sort: str = "EXPECTED_START_TIME_ASC",
        offset: int | None = None,
        limit: int | None = None,
    ) -> list[Run]:
        """One page of the runs `run_filter` selects (Prefect's FlowRunFilter or
        TaskRunFilter), in `sort` order; `limit` at most the source's page size."""
        record_kind = Kind.FLOW_RUN if kind is FLOW_RUN else Kind.TASK_RUN
        runs = self._filter(record_kind, run_filter, sort=sort, offset=offset, limit=limit)
        return [
            Run(
                id=run["id"],
                state_id=run.get("state_id"),
                expected_start_time=run.get("expected_start_time"),
                record=source_record(run),
            )
            for run in runs
        ]

    def every_record(self, kind: Kind) -> Iterator[list[SourceRecord]]:
        """Every record of `kind` (flows, deployments: small sets), page by page, with no
        offsets: each page leaves out the ids already read (`id.not_any_`), so records
        deleted between pages make none slide past, and the walk ends at a page not full."""
        read: list[str] = []
        while True:
            page = self._filter(kind, {"id": {"not_any_": read}} if read else {})
            records = [source_record(record) for record in page]
            read += [record.id for record in records]
            yield records
            if len(page) < (self.page_size or 0):
                return

    def records_by_id(self, kind: Kind, ids: list[str]) -> list[SourceRecord]:
        """The records of `kind` among `ids` that the source still holds: `id.any_`, at most
        a page of ids a request."""
        size = min(IDS_A_REQUEST, self._page_size(kind))
        found: list[SourceRecord] = []
        for start in range(0, len(ids), size):
            chunk = ids[start : start + size]
            found += map(source_record, self._filter(kind, {"id": {"any_": chunk}}))
        return found

    def _filter(
        self,
        kind: Kind,
        record_filter: dict[str, Any],
        sort: str | None = None,
        offset: int | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """One page of `POST /{kind}s/filter`; `limit` at most the source's page size."""
        key = _filter_path(kind)
        body: dict[str, Any] = {key: record_filter}
        if sort:
            body["sort"] = sort
        if offset:
            body["offset"] = offset
        page_size = self._page_size(kind, body)
        body["limit"] = min(limit or page_size, page_size)
        found: list[dict[str, Any]] = self._request("POST", f"/{key}/filter", json=body).json()
        return found

    def _page_size(self, kind: Kind, body: dict[str, Any] | None = None) -> int:
        """The listings' `limit`, asked once: PAGE_SIZE, or the smaller limit the source's
        422 names (facts §3), the same for every listing (PREFECT_SERVER_API_DEFAULT_LIMIT)."""
        if self.page_size is None:
            self.page_size = self._accepted_page_size(f"/{_filter_path(kind)}/filter", body or {})
        return self.page_size

    def _accepted_page_size(self, path: str, body: dict[str, Any]) -> int:
        """PAGE_SIZE, or the smaller limit the source's 422 names (facts §3)."""
        try:
            self._request("POST", path, json={**body, "limit": PAGE_SIZE})
        except SourceRefused as refused:
            limit = _LIMIT_REFUSED.search(refused.response.text)
            if refused.response.status_code != 422 or limit is None:
                raise
            logger.info("%s lists at most %s runs a request", self.api_url, limit.group(1))
            return int(limit.group(1))
        return PAGE_SIZE

    def run_states(self, kind: RunKind, run_id: str) -> list[SourceState]:
        """A run's states, oldest first, as the source serves them."""
        path = kind.states_path.removeprefix("/api") + "/"
        response = self._request("GET", path, params={kind.run_id_field: run_id})
        return [
            SourceState(id=state["id"], timestamp=state["timestamp"], document=_document(state))
            for state in response.json()
        ]

    def run_exists(self, kind: RunKind, run_id: str) -> bool:
        path = kind.runs_path.removeprefix("/api")
        try:
            self._request("GET", f"{path}/{run_id}")
        except SourceRefused as refused:
            if refused.response.status_code == 404:
                return False
            raise
        return True

    def state_events(self, since: str, until: str) -> list[StateEvent]:
        """The first page of the flow-run and task-run events that occurred from `since` to
        `until` (both inclusive), oldest first, heartbeats left out."""
        found = self._request("POST", "/events/filter", json=_events_body(since, until)).json()
        return _state_events(found)

    def state_events_at(self, instant: str) -> list[StateEvent]:
        """Every state change that occurred at exactly `instant`, through Prefect's own
        `next_page` links: offsets, but within one instant, where nothing else can order
        them (facts §1)."""
        found = self._request("POST", "/events/filter", json=_events_body(instant, instant))
        page = found.json()
        events = _state_events(page)
        while page.get("next_page"):
            page = self._request("GET", page["next_page"]).json()
            events += _state_events(page)
        return events

    def _request(
        self, method: str, path: str, attempts: int = ATTEMPTS, **kwargs: Any
    ) -> httpx.Response:
        """One request, retried with backoff on a timeout, a failed connection, 429 or 5xx;
        none of it past the deadline."""
        backoff = FIRST_BACKOFF
        failure = ""
        for attempt in range(1, attempts + 1):
            try:
                response = self._http.request(method, path, timeout=self._timeout(), **kwargs)
            except httpx.TransportError as error:
                failure = f"{type(error).__name__}: {error}"
            else:
                if response.status_code == 401:
                    raise SourceUnauthorized(
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
            if attempt == attempts:
                break
            if self._left() <= backoff:
                raise OutOfTime(f"{method} {path}: out of time (last: {failure})")
            logger.warning(
                "%s %s%s: %s; retrying in %.1f s", method, self.api_url, path, failure, backoff
            )
            self._sleep(backoff)
            backoff *= 2
        raise SourceError(
            f"{self.api_url} did not answer {method} {path} after {attempts} attempts "
            f"(last: {failure}): check that the Prefect server is running and reachable"
        )

    def _left(self) -> float:
        """Seconds left before the deadline (infinite without one)."""
        if self.deadline is None:
            return float("inf")
        return self.deadline - self._monotonic()

    def _timeout(self) -> httpx.Timeout:
        """The usual timeouts, cut to the time left: a request never outlives the deadline."""
        left = self._left()
        if left <= 0:
            raise OutOfTime("the deadline passed before the request")
        return httpx.Timeout(min(READ_TIMEOUT, left), connect=min(CONNECT_TIMEOUT, left))


def _events_body(since: str, until: str) -> dict[str, Any]:
    event_filter = {
        "occurred": {"since": since, "until": until},
        "event": {"prefix": list(STATE_EVENT_PREFIXES), "exclude_name": [HEARTBEAT]},
        "order": "ASC",  # inside the filter, not beside it (facts §1)
    }
    return {"filter": event_filter, "limit": EVENTS_PAGE_SIZE}


def _state_events(page: dict[str, Any]) -> list[StateEvent]:
    return [_state_event(event) for event in page["events"]]
