"""importer/metrics.py: the copy's lag as a line of CloudWatch's embedded metric format, checked
member by member against the format's specification
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html),
and against the alarm in template.yaml that reads it."""

import json
import math
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from importer.metrics import LAG_METRIC, NAMESPACE, SOURCE_DIMENSION, lag_metric_line
from local.template_tables import load_template

SOURCE = "https://prefect.internal/api"
NOW = datetime(2026, 12, 5, 12, 0, 0, 250000, tzinfo=UTC)

# The units a MetricDefinition may name (the specification's, CloudWatch's StandardUnit).
UNITS = frozenset(
    {
        "Seconds",
        "Microseconds",
        "Milliseconds",
        "Bytes",
        "Kilobytes",
        "Megabytes",
        "Gigabytes",
        "Terabytes",
        "Bits",
        "Kilobits",
        "Megabits",
        "Gigabits",
        "Terabits",
        "Percent",
        "Count",
        "Bytes/Second",
        "Kilobytes/Second",
        "Megabytes/Second",
        "Gigabytes/Second",
        "Terabytes/Second",
        "Bits/Second",
        "Kilobits/Second",
        "Megabits/Second",
        "Gigabits/Second",
        "Terabits/Second",
        "Count/Second",
        "None",
    }
)
# CloudWatch rejects a value of magnitude outside these (PutMetricData's limits).
SMALLEST_VALUE, LARGEST_VALUE = 8.515920e-109, 1.174271e108


def emf_errors(line: str) -> list[str]:
    """What makes `line` no valid EMF document (empty: it is one)."""
    document = json.loads(line)
    if not isinstance(document, dict):
        return ["the root is no object"]
    metadata = document.get("_aws")
    if not isinstance(metadata, dict):
        return ["no _aws object"]
    errors = []
    timestamp = metadata.get("Timestamp")
    if not isinstance(timestamp, int) or isinstance(timestamp, bool) or timestamp < 0:
        errors.append(f"Timestamp {timestamp!r} is no count of milliseconds since the epoch")
    directives = metadata.get("CloudWatchMetrics")
    if not isinstance(directives, list) or not directives:
        return [*errors, "CloudWatchMetrics is no non-empty array"]
    for directive in directives:
        namespace = directive.get("Namespace")
        if not isinstance(namespace, str) or not 1 <= len(namespace) <= 1024:
            errors.append(f"Namespace {namespace!r}")
        dimension_sets = directive.get("Dimensions")
        if not isinstance(dimension_sets, list):
            errors.append("Dimensions is no array")
            dimension_sets = []
        for dimension_set in dimension_sets:
            if not isinstance(dimension_set, list) or len(dimension_set) > 30:
                errors.append(f"DimensionSet {dimension_set!r}")
                continue
            for name in dimension_set:
                value = document.get(name)
                if not isinstance(value, str) or not 1 <= len(value) <= 1024:
                    errors.append(f"dimension {name!r} has no string member: {value!r}")
        definitions = directive.get("Metrics")
        if not isinstance(definitions, list) or not 1 <= len(definitions) <= 100:
            errors.append("Metrics is no array of 1 to 100 definitions")
            definitions = []
        for definition in definitions:
            name = definition.get("Name")
            if not isinstance(name, str) or not 1 <= len(name) <= 1024:
                errors.append(f"metric Name {name!r}")
                continue
            if definition.get("Unit", "None") not in UNITS:
                errors.append(f"metric {name}: Unit {definition['Unit']!r}")
            if definition.get("StorageResolution", 60) not in (1, 60):
                errors.append(f"metric {name}: StorageResolution")
            value = document.get(name)
            values = value if isinstance(value, list) else [value]
            if not values or len(values) > 100 or not all(_metric_value(v) for v in values):
                errors.append(f"metric {name} has no number member: {value!r}")
    return errors


def _metric_value(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return False
    return value == 0 or SMALLEST_VALUE <= abs(value) <= LARGEST_VALUE


def lag_of(line: str) -> float:
    value: float = json.loads(line)[LAG_METRIC]
    return value


def test_the_lag_is_a_valid_emf_line_of_one_metric_in_seconds() -> None:
    line = lag_metric_line(SOURCE, NOW - timedelta(minutes=12, seconds=3), NOW)
    assert "\n" not in line  # one log event
    assert emf_errors(line) == []
    document = json.loads(line)
    assert document["_aws"] == {
        "Timestamp": 1_796_472_000_250,
        "CloudWatchMetrics": [
            {
                "Namespace": NAMESPACE,
                "Dimensions": [[SOURCE_DIMENSION]],
                "Metrics": [{"Name": LAG_METRIC, "Unit": "Seconds"}],
            }
        ],
    }
    assert document[SOURCE_DIMENSION] == SOURCE
    assert document[LAG_METRIC] == 723.0
    assert document["CompleteUntil"] == "2026-12-05T11:47:57.250000+00:00"


def test_a_copy_never_complete_is_behind_more_than_any_threshold_the_alarm_allows() -> None:
    """No `complete_until` yet: the line still publishes a lag, above the largest threshold
    the template accepts, so the alarm fires as for a copy that stopped."""
    line = lag_metric_line(SOURCE, None, NOW)
    assert emf_errors(line) == []
    threshold = load_template()["Parameters"]["CopyLagAlarmMinutes"]
    assert lag_of(line) > threshold["MaxValue"] * 60
    assert json.loads(line)["CompleteUntil"] is None


def test_a_checkpoint_written_by_a_clock_ahead_gives_no_negative_lag() -> None:
    assert lag_of(lag_metric_line(SOURCE, NOW + timedelta(seconds=5), NOW)) == 0
    assert emf_errors(lag_metric_line(SOURCE, NOW + timedelta(seconds=5), NOW)) == []


@settings(deadline=None, max_examples=200, derandomize=True, database=None)
@given(
    now=st.datetimes(
        min_value=datetime(2001, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
    ),
    behind=st.none() | st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=3650)),
    offset=st.integers(-(24 * 60 - 1), 24 * 60 - 1),
    source=st.text(min_size=1, max_size=300),
)
def test_any_lag_is_valid_emf_and_exact(
    now: datetime, behind: timedelta | None, offset: int, source: str
) -> None:
    """Any source URL and either instant, in any time zone: a valid line, whose lag is the
    time between them to the millisecond."""
    zone = timezone(timedelta(minutes=offset))
    complete_until = None if behind is None else (now - behind).astimezone(zone)
    line = lag_metric_line(source, complete_until, now)
    assert emf_errors(line) == []
    assert json.loads(line)[SOURCE_DIMENSION] == source
    if behind is not None:
        assert lag_of(line) == pytest.approx(behind.total_seconds(), abs=1e-3)


@pytest.mark.parametrize(
    ("broken", "error"),
    [
        ({"_aws": None}, "no _aws object"),
        ({"_aws": {"Timestamp": "now"}}, "Timestamp 'now'"),
        ({"_aws": {"CloudWatchMetrics": []}}, "CloudWatchMetrics is no non-empty array"),
        ({"Source": None}, "dimension 'Source' has no string member"),
        ({"Source": ""}, "dimension 'Source' has no string member"),
        ({LAG_METRIC: "12"}, f"metric {LAG_METRIC} has no number member"),
        ({LAG_METRIC: 1e-200}, f"metric {LAG_METRIC} has no number member"),
        ({LAG_METRIC: None}, f"metric {LAG_METRIC} has no number member"),
    ],
)
def test_the_check_finds_what_the_specification_forbids(broken: dict[str, Any], error: str) -> None:
    """The check itself, so that a line it passes is known to be checked."""
    document = json.loads(lag_metric_line(SOURCE, NOW, NOW))
    for name, value in broken.items():
        if name == "_aws" and isinstance(value, dict):
            document["_aws"] = {**document["_aws"], **value}
        else:
            document[name] = value
    assert any(found.startswith(error) for found in emf_errors(json.dumps(document)))


def test_an_unknown_unit_is_found() -> None:
    document = json.loads(lag_metric_line(SOURCE, NOW, NOW))
    document["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Unit"] = "Minutes"
    assert emf_errors(json.dumps(document)) == [f"metric {LAG_METRIC}: Unit 'Minutes'"]
