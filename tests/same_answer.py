"""Prefect's answer to a query beside another's, for the same body on the same data: the same
records in the same order, where Prefect's order leaves ties (records equal on every column
the sort reads) the same records in each tied group, whatever their order."""

from collections.abc import Callable, Iterable, Mapping, Sequence
from itertools import groupby
from typing import Any

import httpx

from tests.filter_bodies import LIMIT, Body, Record, Route


def every_match(http: httpx.Client, route: Route, filters: Body) -> dict[str, Record]:
    """Every record Prefect matches to `filters`, by id: read a page of LIMIT at a time in an
    order without ties."""
    found: dict[str, Record] = {}
    while True:
        body = filters | {"sort": route.listing_sort, "limit": LIMIT, "offset": len(found)}
        page: list[Record] = http.post(f"{route.path}/filter", json=body).raise_for_status().json()
        found |= {record["id"]: record for record in page}
        if len(page) < LIMIT:
            return found


def page_difference(
    route: Route,
    sort: str,
    expected: Sequence[str],
    answered: Sequence[str],
    matches: Mapping[str, Record],
) -> str | None:
    """What is wrong with `answered` (ids) as a page of `route`'s records in `sort`, where
    Prefect answered `expected` and matches `matches` in all; None when nothing is."""
    if unmatched := [record_id for record_id in answered if record_id not in matches]:
        return f"records that do not match: {unmatched}"
    if len(set(answered)) != len(answered):
        return f"a record given twice: {list(answered)}"
    if len(answered) != len(expected):
        return f"{len(answered)} records, Prefect gave {len(expected)}"
    tie_key = route.sorts[sort]
    if tie_key is None:
        same = list(answered) == list(expected)
        return None if same else f"order {list(answered)}, Prefect's {list(expected)}"
    keys = [tie_key(matches[record_id]) for record_id in expected]
    answered_keys = [tie_key(matches[record_id]) for record_id in answered]
    if answered_keys != keys:
        return f"sort keys {answered_keys}, Prefect's {keys}"
    tied = _count_by_key(matches.values(), tie_key)
    start = 0
    for key, group in groupby(keys, key=_hashable):
        end = start + len(list(group))
        whole_group = end - start == tied[key]
        # A group cut by the page's edges may hold any of the records tied with it: the
        # sort keys above already say they are such records.
        if whole_group and set(answered[start:end]) != set(expected[start:end]):
            return f"tied on {key}: {answered[start:end]}, Prefect's {expected[start:end]}"
        start = end
    return None


def _hashable(value: Any) -> str:
    return repr(value)


def _count_by_key(records: Iterable[Record], tie_key: Callable[[Record], Any]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for record in records:
        key = _hashable(tie_key(record))
        counts[key] = counts.get(key, 0) + 1
    return counts
