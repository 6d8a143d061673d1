"""The service's logs as JSON lines: one line per request, and any error the app logs.

Lambda sends each line a function writes to CloudWatch Logs, whose Insights reads the fields
of a JSON line by themselves (`filter status >= 500 | stats avg(duration_ms) by route`).
"""

import json
import logging
import os
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

SERVICE_LOGGER = "prefect_run_states"
request_logger = logging.getLogger(f"{SERVICE_LOGGER}.requests")


class JSONFormatter(logging.Formatter):
    """A record as one JSON object: level, logger, message, the record's `fields`, and the
    traceback, if any, as one string (a multi-line trace would be many CloudWatch events)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {"level": record.levelname, "logger": record.name, "message": record.getMessage()}
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


_handler = logging.StreamHandler()  # stderr
_handler.setFormatter(JSONFormatter())


def configure_logging() -> None:
    """The service's loggers write JSON at `LOG_LEVEL` (INFO by default)."""
    logger = logging.getLogger(SERVICE_LOGGER)
    if _handler not in logger.handlers:
        logger.addHandler(_handler)
    logger.propagate = False  # Lambda's root handler would write each record again, as text
    logger.setLevel(os.environ.get("LOG_LEVEL") or "INFO")


class RequestLog:
    """Logs each request once answered: INFO, or ERROR for a 5xx or a request left unanswered.

    `request_id` is Lambda's (Mangum puts the invocation's context in the scope), absent
    elsewhere; `route` is the path template of the route that served the request, null
    where none did (a 404, or a refusal before routing).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status: int | None = None

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            request_logger.log(
                logging.INFO if status is not None and status < 500 else logging.ERROR,
                "request",
                extra={
                    "fields": {
                        "request_id": getattr(scope.get("aws.context"), "aws_request_id", None),
                        "method": scope["method"],
                        "path": scope["path"],
                        "route": getattr(scope.get("route"), "path", None),
                        "status": status,
                        "duration_ms": round((time.perf_counter() - started) * 1000, 3),
                    }
                },
            )
