"""The copy's lag as a CloudWatch metric, in the embedded metric format (EMF): a JSON line
that the scheduled function writes to its log, from which CloudWatch Logs makes the metric
with no API call and no permission (template.yaml's CopyLagAlarm reads it).

The lag is how far behind the source the copy may be: now less the instant up to which the
copy is known complete (the checkpoint's `complete_until`). A copy with no such instant yet
is behind by all time, counted from the Unix epoch: decades, above any alarm threshold, so
a copy that has never completed alarms as one that stopped does.
"""

import json
from datetime import UTC, datetime

NAMESPACE = "PrefectRunStates"
LAG_METRIC = "CopyLagSeconds"
# One copy per source URL (a checkpoint each): the alarm reads its own source's lag.
SOURCE_DIMENSION = "Source"
NOTHING_COMPLETE = datetime(1970, 1, 1, tzinfo=UTC)


def lag_seconds(complete_until: datetime | None, now: datetime) -> float:
    """Seconds from `complete_until` (None: nothing is known complete) to `now`; never
    below 0, as a clock behind the one that wrote the checkpoint would make it."""
    since = NOTHING_COMPLETE if complete_until is None else complete_until
    return max((now - since).total_seconds(), 0.0)


def lag_metric_line(source_url: str, complete_until: datetime | None, now: datetime) -> str:
    """The EMF line publishing the lag of the copy of `source_url` at `now`. It also
    carries `CompleteUntil` (ISO 8601, or null), which CloudWatch keeps as a log field."""
    document = {
        "_aws": {
            "Timestamp": int(now.timestamp() * 1000),
            "CloudWatchMetrics": [
                {
                    "Namespace": NAMESPACE,
                    "Dimensions": [[SOURCE_DIMENSION]],
                    "Metrics": [{"Name": LAG_METRIC, "Unit": "Seconds"}],
                }
            ],
        },
        SOURCE_DIMENSION: source_url,
        LAG_METRIC: round(lag_seconds(complete_until, now), 3),
        "CompleteUntil": None if complete_until is None else complete_until.isoformat(),
    }
    return json.dumps(document, separators=(",", ":"))
