"""The service's logs as JSON lines: one line per request, and any error the app logs.

Lambda sends each line a function writes to CloudWatch Logs, whose Insights reads the fields
of a JSON line by themselves (`filter status >= 500 | stats avg(duration_ms) by route`).
"""

import json
import logging
import time

from starlette.types import Scope

SERVICE_LOGGER = "prefect_run_states"
request_logger = logging.getLogger(f"{SERVICE_LOGGER}.requests")

# Made once: `json.dumps(..., default=str)` would build a new encoder for every line.
_to_json = json.JSONEncoder(default=str).encode


class JSONFormatter(logging.Formatter):
    """A record as one JSON object: level, logger, message, the record's `fields`, and the
    traceback, if any, as one string (a multi-line trace would be many CloudWatch events)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {"level": record.levelname, "logger": record.name, "message": record.getMessage()}
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return _to_json(entry)


class ConsoleFormatter(logging.Formatter):
    """A record as a person watching a development server reads it: a request as
    `GET /api/health 200 1.2 ms`, anything else as `LEVEL logger: message` and its traceback."""

    def format(self, record: logging.LogRecord) -> str:
        fields = getattr(record, "fields", {})
        if record.name == request_logger.name and "method" in fields:
            status = fields["status"] if fields["status"] is not None else "unanswered"
            return f"{fields['method']} {fields['path']} {status} {fields['duration_ms']:.1f} ms"
        line = f"{record.levelname} {record.name}: {record.getMessage()}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


_handler = logging.StreamHandler()  # stderr
_handler.setFormatter(JSONFormatter())


def log_for_a_console() -> None:
    """Write the service's log lines for a person at a terminal (`make serve`), not as the
    JSON lines that CloudWatch reads."""
    _handler.setFormatter(ConsoleFormatter())


def configure_logging(level: str) -> None:
    """The service's loggers write JSON at `level`."""
    logger = logging.getLogger(SERVICE_LOGGER)
    if _handler not in logger.handlers:
        logger.addHandler(_handler)
    logger.propagate = False  # Lambda's root handler would write each record again, as text
    logger.setLevel(level)


def log_request(scope: Scope, status: int | None, started: float) -> None:
    """Log a request once answered: INFO, or ERROR for a 5xx or a request left unanswered
    (`status` None). `started` is its `time.perf_counter()` on arrival.

    `request_id` is Lambda's (Mangum puts the invocation's context in the scope), absent
    elsewhere; `route` is the path template of the route that served the request, null
    where none did (a 404, or a refusal before routing).
    """
    level = logging.INFO if status is not None and status < 500 else logging.ERROR
    if not request_logger.isEnabledFor(level):
        return
    fields = {
        "request_id": getattr(scope.get("aws.context"), "aws_request_id", None),
        "method": scope["method"],
        "path": scope["path"],
        "route": getattr(scope.get("route"), "path", None),
        "status": status,
        "duration_ms": round((time.perf_counter() - started) * 1000, 3),
    }
    # What `request_logger.log` does, less its walk up the stack for the caller's file and
    # line, which no line shows.
    record = request_logger.makeRecord(
        request_logger.name, level, __file__, 0, "request", (), None, extra={"fields": fields}
    )
    request_logger.handle(record)
