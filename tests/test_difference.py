"""Equal to Prefect, proven by difference (issue 21): a live Prefect 3.9.1 holding real flows'
history and a varied one (tests/varied_history.py) is imported into the service, as `make
serve` runs it; then Hypothesis draws Prefect's query bodies (tests/filter_bodies.py) and each
goes to both. The service answers as Prefect does: the same records in the same order (tied
records as sets), the same counts, the same pages; a body the archive cannot answer exactly is
refused with a 422 naming what it cannot answer, never answered wrong.

About 250 bodies, each sent to Prefect (its page, its count, and every match, to know the
ties) and to the service (its page and count): about 90 s here, after about 50 s of set-up
(Prefect's start, the real flows, the varied history, the import).
"""

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from tests.archive import served_archive
from tests.filter_bodies import (
    FLOW_RUNS,
    ROUTES,
    Body,
    Known,
    Route,
    filter_bodies,
    paginate_bodies,
    refused,
)
from tests.prefect_source import Source
from tests.same_answer import every_match, page_difference

pytestmark = pytest.mark.slow

DRAWN = settings(
    derandomize=True,  # the same bodies on every run, on CI too
    database=None,
    deadline=None,
    max_examples=50,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@dataclass(frozen=True)
class Sides:
    prefect: httpx.Client
    service: httpx.Client

    def __repr__(self) -> str:  # Hypothesis prints a failing test's arguments
        return f"Sides(prefect={self.prefect.base_url}, service={self.service.base_url})"


@pytest.fixture(scope="module")
def sides(varied_source: Source) -> Iterator[Sides]:
    """Prefect, and the service holding Prefect's history, each over HTTP."""
    with (
        served_archive(varied_source.api_url) as api_url,
        varied_source.http() as prefect,
        httpx.Client(base_url=api_url, timeout=60) as service,
    ):
        yield Sides(prefect, service)


@pytest.fixture(scope="module")
def known(sides: Sides) -> Known:
    """Every record Prefect holds, by kind: what the bodies are drawn from."""
    records = {route.kind: list(every_match(sides.prefect, route, {}).values()) for route in ROUTES}
    for kind in ("work_pools", "work_queues"):
        response = sides.prefect.post(f"/{kind}/filter", json={})
        records[kind] = response.raise_for_status().json()
    return Known(records)


def _answers(sides: Sides, path: str, body: Body) -> tuple[httpx.Response, httpx.Response]:
    prefect = sides.prefect.post(path, json=body)
    assert prefect.status_code == 200, f"Prefect refused {json.dumps(body)}: {prefect.text}"
    return prefect, sides.service.post(path, json=body)


def _assert_refused(answer: httpx.Response, names: list[str], body: Body) -> None:
    """The contract's 422 for a sub-filter the archive cannot answer: the validation shape,
    a message naming each."""
    assert answer.status_code == 422, (
        f"{answer.status_code} {answer.text}\nbody: {json.dumps(body)}"
    )
    messages = " ".join(error["msg"] for error in answer.json()["exception_detail"])
    assert all(name in messages for name in names), (messages, names)


def _filters_of(route: Route, body: Body) -> Body:
    return {name: value for name, value in body.items() if name in route.filters}


def _assert_same_page(
    sides: Sides, route: Route, body: Body, sort: str, offset: int, prefect: Any, served: Any
) -> None:
    matches = every_match(sides.prefect, route, _filters_of(route, body))
    expected = [record["id"] for record in prefect]
    answered = [record["id"] for record in served]
    difference = page_difference(route, sort, expected, answered, matches)
    assert difference is None, f"{difference}\nbody: {json.dumps(body)} (offset {offset})"


@pytest.mark.parametrize("route", ROUTES, ids=[route.kind for route in ROUTES])
@DRAWN
@given(data=st.data())
def test_filter_and_count_answer_as_prefect(
    route: Route, data: st.DataObject, sides: Sides, known: Known
) -> None:
    body = data.draw(filter_bodies(route, known), label="body")
    filters = _filters_of(route, body)
    prefect, served = _answers(sides, f"{route.path}/filter", body)
    prefect_count, served_count = _answers(sides, f"{route.path}/count", filters)
    if names := refused(route, body):
        _assert_refused(served, names, body)
        _assert_refused(served_count, names, filters)
        return
    note(f"Prefect: {len(prefect.json())} records of {prefect_count.json()}")
    assert served.status_code == 200, f"{served.text}\nbody: {json.dumps(body)}"
    assert served_count.status_code == 200, f"{served_count.text}\nbody: {json.dumps(filters)}"
    assert served_count.json() == prefect_count.json(), f"count of {json.dumps(filters)}"
    sort = body.get("sort", route.default_sort)
    offset = body.get("offset", 0)
    _assert_same_page(sides, route, body, sort, offset, prefect.json(), served.json())


@DRAWN
@given(data=st.data())
def test_paginate_answers_as_prefect(data: st.DataObject, sides: Sides, known: Known) -> None:
    body = data.draw(paginate_bodies(known), label="body")
    prefect, served = _answers(sides, f"{FLOW_RUNS.path}/paginate", body)
    if names := refused(FLOW_RUNS, body):
        _assert_refused(served, names, body)
        return
    assert served.status_code == 200, f"{served.text}\nbody: {json.dumps(body)}"
    expected, answered = prefect.json(), served.json()
    paging = ("count", "limit", "pages", "page")
    assert {key: answered[key] for key in paging} == {key: expected[key] for key in paging}, (
        f"body: {json.dumps(body)}"
    )
    offset = (expected["page"] - 1) * expected["limit"]
    sort = body.get("sort", FLOW_RUNS.default_sort)
    _assert_same_page(
        sides, FLOW_RUNS, body, sort, offset, expected["results"], answered["results"]
    )
