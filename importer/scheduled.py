"""The scheduled import (template.yaml's ImportFunction): each EventBridge invocation copies
what changed on the Prefect server, resuming from the checkpoint, for a bounded time.

Every request to the source is bounded by the time left less `RESERVE` (its httpx timeout
cut, and no retry started past it): what remains is for the DynamoDB writes of the page in
flight and the checkpoint, so the invocation ends inside its timeout, and the next one goes
on from the checkpoint.
"""

import logging
import time
from datetime import datetime
from typing import Any, Protocol

from api.auth import read_auth_string
from api.clock import utc_now
from api.request_log import configure_logging
from api.settings import ImportSourceSettings, Settings
from importer.metrics import lag_metric_line
from importer.progress import Progress
from importer.wiring import open_importer

RESERVE = 60.0  # seconds of the timeout kept for the writes of the page in flight

logger = logging.getLogger("prefect_run_states.importer")


class LambdaContext(Protocol):
    def get_remaining_time_in_millis(self) -> int: ...


def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = Settings.from_environment()
    configure_logging(settings.log_level)
    deadline = time.monotonic() + context.get_remaining_time_in_millis() / 1000 - RESERVE
    source = ImportSourceSettings.from_environment()
    arn = source.auth_string_arn
    auth_string = read_auth_string(arn) if arn else None
    with open_importer(source.api_url, settings, auth_string, progress=Progress()) as importer:
        importer.source.deadline = deadline
        try:
            completed = importer.run()
        finally:
            # Published whatever happened, to stdout as the EMF line it is (the JSON logger
            # would wrap it), so that a failing pass still reports its lag and alarms.
            checkpoint = importer.checkpoints.load()
            complete_until = checkpoint.complete_until
            print(
                lag_metric_line(
                    source.api_url,
                    None if complete_until is None else datetime.fromisoformat(complete_until),
                    utc_now(),
                ),
                flush=True,
            )
    summary = importer.summary
    logger.info("import: %s", "; ".join(line.strip() for line in summary.lines()))
    return {
        "pass_completed": completed,
        "complete_until": checkpoint.complete_until,
        "runs_read": summary.runs_read,
        "events_read": summary.events_read,
        "states_copied": summary.states_copied,
        "states_present": summary.states_present,
        "states_expired": summary.states_expired,
        "states_too_large": summary.states_too_large,
        "states_pending": summary.states_pending,
        "states_given_up": summary.states_given_up,
        "runs_failed": summary.runs_failed,
        "records_copied": summary.records_copied,
        "records_present": summary.records_present,
        "records_expired": summary.records_expired,
        "records_too_large": summary.records_too_large,
    }
