"""The route class every route uses: strict JSON bodies, and responses documented only
where an app serves docs."""

from collections.abc import Callable
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

from api.openapi import Responses
from api.strict_json import parse_strict_json


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
