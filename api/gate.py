"""The two ASGI layers around every app: the request gate and the error boundary."""

import logging
import time

from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.auth import Authenticator
from api.endpoints import UNAUTHENTICATED_ROUTES, UNVERSIONED_PATHS
from api.errors import exception_response, unmatched_route, version_error
from api.request_log import SERVICE_LOGGER, log_request

logger = logging.getLogger(SERVICE_LOGGER)


class RequestGate:
    """Answers what must be answered before any route runs, in the contract's order:
    auth, then the route (404/405), then the API version header."""

    def __init__(
        self,
        app: ASGIApp,
        authenticator: Authenticator | None,
        ungated_paths: frozenset[str] = frozenset(),
    ) -> None:
        self.app = app
        self.authenticator = authenticator
        self.ungated_paths = ungated_paths  # the local app's docs

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path in self.ungated_paths:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        refusal: Response | None = None
        if (
            self.authenticator is not None
            and (scope["method"], path) not in UNAUTHENTICATED_ROUTES
            and not self.authenticator.allows(headers.get("authorization"))
        ):
            refusal = exception_response(401, "Unauthorized")
        else:
            refusal = unmatched_route(scope["method"], path)
        if refusal is None and path not in UNVERSIONED_PATHS:
            refusal = version_error(headers.get("x-prefect-api-version"))
        if refusal is not None:
            await refusal(scope, receive, send)
        else:
            await self.app(scope, receive, send)


class ErrorBoundary:
    """The outermost layer: whatever escapes becomes the contract's 500, never a trace, and
    every request, answered or not, is logged once (see `api.request_log`).

    One layer for both, as both watch for the response's start: each layer an app adds
    costs every request a call and, where it watches the response, a wrapper of `send`.
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
        except Exception:
            logger.exception("Unhandled error answering %s %s", scope["method"], scope["path"])
            if status is None:
                await exception_response(500, "Internal Server Error")(
                    scope, receive, recording_send
                )
        finally:
            log_request(scope, status, started)
