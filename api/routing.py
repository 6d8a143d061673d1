"""How an endpoint's route is added to an app: at the path and with the methods its
declaration gives (`api.endpoints`), by the route class every route uses (strict JSON bodies,
and responses documented only where an app serves docs)."""

import importlib
from collections.abc import Callable
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute, APIRouter

from api.endpoints import Endpoint
from api.openapi import Responses
from api.services import Services
from api.strict_json import parse_strict_json

# What an endpoint names as its route (`Endpoint.route`): a function adding the route to an
# app's router, built with the app's services.
RouteAdder = Callable[[APIRouter, Endpoint, Services], None]


class StrictJSONRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = parse_strict_json(await self.body())
        return self._json


class ServiceRoute(APIRoute):
    """A route whose JSON body is parsed strictly (see `api.strict_json`), and whose
    `responses` are documentation only: set aside, they are declared to FastAPI only in an
    app that serves docs (see `api.app.build_app`)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **options: Any) -> None:
        # A body without a Content-Type is read as JSON; one declared as something else is
        # left as text, which fails validation with a 422 naming it, as on a Prefect server.
        options["strict_content_type"] = False
        # FastAPI builds a serializer for each response model when a route is made, and
        # again when an app first routes to it, for the OpenAPI document alone: cold-start
        # work that no Lambda app needs.
        self.documented_responses: Responses = options.pop("responses", None) or {}
        super().__init__(path, endpoint, **options)

    def get_route_handler(self) -> Callable[[Request], Any]:
        handle = super().get_route_handler()

        async def handle_strictly(request: Request) -> Response:
            response: Response = await handle(StrictJSONRequest(request.scope, request.receive))
            return response

        return handle_strictly


def route_adder(endpoint: Endpoint) -> RouteAdder:
    """The function the endpoint names to add its route, its module imported."""
    module, _, name = endpoint.route.partition(":")
    adder: RouteAdder = getattr(importlib.import_module(module), name)
    return adder


def declared_route[RouteFunction: Callable[..., Any]](
    router: APIRouter, endpoint: Endpoint, **options: Any
) -> Callable[[RouteFunction], RouteFunction]:
    """A decorator adding its function to `router` as the endpoint's route: at each of its
    paths (the one without a trailing slash answered directly, not redirected, and left out of
    the OpenAPI document), with its methods and `options`, as a `ServiceRoute`."""

    def add(function: RouteFunction) -> RouteFunction:
        for path in endpoint.paths:
            router.add_api_route(
                path,
                function,
                methods=list(endpoint.methods),
                route_class_override=ServiceRoute,
                include_in_schema=path == endpoint.path,
                **options,
            )
        return function

    return add
