"""The one factory behind every app: each Lambda function's and the local server's.

Everything all routes share lives here, so no route repeats it: the contract's order of
checks (auth, then route, then API version, then parameters and body), strict JSON bodies,
and the error bodies for 400, 401, 404, 405, 413, 422, 500 and 503.
"""

import gc
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute, APIRouter
from mangum import Mangum
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.auth import Authenticator, authenticator_from_environment
from api.openapi import Responses, with_version_header
from api.request_log import SERVICE_LOGGER, configure_logging, log_request
from api.route_table import UNAUTHENTICATED_ROUTES, UNVERSIONED_PATHS, allowed_methods
from api.strict_json import parse_strict_json
from storage.repository import StateTooLarge, StorageMisconfigured, StorageUnavailable

logger = logging.getLogger(SERVICE_LOGGER)

MINIMUM_API_VERSION = (0, 8, 0)
RETRY_AFTER_SECONDS = "1"


def _detail(status: int, detail: str, headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


def _exception(status: int, message: str, headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"exception_message": message}, status_code=status, headers=headers)


def unmatched_route(method: str, path: str) -> JSONResponse | None:
    """The 404 or 405 for a request the route table does not serve, else None."""
    methods = allowed_methods(path)
    if methods is None:
        return _detail(404, "Not Found")
    if method not in methods:
        return _detail(405, "Method Not Allowed", {"Allow": ", ".join(methods)})
    return None


def version_error(header: str | None) -> JSONResponse | None:
    """Prefect's answer to an `X-Prefect-Api-Version` header it cannot accept, else None."""
    if not header:
        return None
    try:
        # int() as Prefect's server applies it, so both accept and refuse the same headers.
        major, minor, patch = (int(part) for part in header.split("."))
    except ValueError:
        return _detail(
            400,
            "Invalid X-PREFECT-API-VERSION header format."
            f"Expected header in format 'x.y.z' but received {header}",
        )
    if (major, minor, patch) < MINIMUM_API_VERSION:
        return _detail(
            400,
            f"The request specified API version {header} but this server requires "
            f"version {'.'.join(map(str, MINIMUM_API_VERSION))} or higher.",
        )
    return None


class RequestGate:
    """Answers what must be answered before any route runs, in the contract's order."""

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
            refusal = _exception(401, "Unauthorized")
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
                await _exception(500, "Internal Server Error")(scope, receive, recording_send)
        finally:
            log_request(scope, status, started)


class StrictJSONRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = parse_strict_json(await self.body())
        return self._json


class ServiceRoute(APIRoute):
    """A route whose JSON body is parsed strictly (see `api.strict_json`), and whose
    `responses` are documentation only: set aside, they are declared to FastAPI only in an
    app that serves docs (see `build_app`)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **options: Any) -> None:
        # A body without a Content-Type is read as JSON; one declared as something else is
        # left as text, which fails validation with a 422 naming it, as on a Prefect server.
        options["strict_content_type"] = False
        # FastAPI builds a serializer for each response model when a route is made, and
        # again when an app first routes to it, for the OpenAPI document alone: about
        # 2 ms of a function's cold start that no Lambda app needs.
        self.documented_responses: Responses = options.pop("responses", None) or {}
        super().__init__(path, endpoint, **options)

    def get_route_handler(self) -> Callable[[Request], Any]:
        handle = super().get_route_handler()

        async def handle_strictly(request: Request) -> Response:
            response: Response = await handle(StrictJSONRequest(request.scope, request.receive))
            return response

        return handle_strictly


def _plain(value: Any) -> Any:
    return value if isinstance(value, str | int | float | bool | None) else str(value)


def _text(value: Any) -> Any:
    """A raw body as text: FastAPI hands over bytes where the body is not JSON."""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


async def _validation_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)
    details = []
    for problem in error.errors():
        detail = {key: problem[key] for key in ("type", "loc", "msg")}
        detail["input"] = _text(problem["input"])
        if "ctx" in problem:
            detail["ctx"] = {key: _plain(value) for key, value in problem["ctx"].items()}
        details.append(detail)
    return JSONResponse(
        {
            "exception_message": "Invalid request received.",
            "exception_detail": details,
            "request_body": _text(error.body),
        },
        status_code=422,
    )


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    if error.status_code == 405:  # a path this app serves only in part: name every method
        return unmatched_route(request.method, request.url.path) or _detail(
            405, "Method Not Allowed"
        )
    return _detail(error.status_code, error.detail, error.headers)


async def _too_large(request: Request, error: Exception) -> Response:
    return _exception(413, str(error))


async def _unavailable(request: Request, error: Exception) -> Response:
    logger.warning("DynamoDB unavailable: %s", error)
    return _exception(503, "Service Unavailable", {"Retry-After": RETRY_AFTER_SECONDS})


async def _misconfigured(request: Request, error: Exception) -> Response:
    return _exception(500, "Internal Server Error")


def build_app(
    *routers: APIRouter,
    docs: bool = False,
    authenticator: Authenticator | None = None,
) -> FastAPI:
    """An app serving `routers`. Only the local app builds docs; Lambda apps never need them.

    Auth is as the environment configures it (see `api.auth`) unless `authenticator` is given.
    """
    docs_paths = frozenset({"/openapi.json", "/docs"} if docs else ())
    app = FastAPI(
        title="Prefect run states",
        version="0.1.0",
        openapi_url="/openapi.json" if docs else None,
        docs_url="/docs" if docs else None,
        swagger_ui_oauth2_redirect_url=None,
        redoc_url=None,
        redirect_slashes=False,
        # FastAPI's own OpenTelemetry looks for an SDK's providers on every request (about
        # 5 µs); no function installs one: its request log line is its telemetry.
        telemetry={"tracing": False, "metrics": False, "logs": False},
        exception_handlers={
            RequestValidationError: _validation_error,
            HTTPException: _http_error,
            StateTooLarge: _too_large,
            StorageUnavailable: _unavailable,
            StorageMisconfigured: _misconfigured,
        },
    )
    for router in routers:
        if docs:
            for route in router.routes:
                if isinstance(route, ServiceRoute):
                    route.responses = route.documented_responses
        app.include_router(router)
    if docs:
        app.openapi = with_version_header(app)  # type: ignore[method-assign]  # FastAPI's way
    app.add_middleware(
        RequestGate,
        authenticator=authenticator or authenticator_from_environment(),
        ungated_paths=docs_paths,
    )
    app.add_middleware(ErrorBoundary)
    configure_logging()
    return app


def lambda_handler(*routers: APIRouter) -> Mangum:
    """The Lambda entry point for a function serving `routers` behind an HTTP API.

    The end of a function's init (see `handlers`): what it built is moved out of the
    collector's sight for good, and the collector, paused during init, runs again.
    """
    handler = Mangum(build_app(*routers), lifespan="off")
    gc.freeze()
    gc.enable()
    return handler
