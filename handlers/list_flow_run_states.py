"""GET /api/flow_run_states/?flow_run_id=..."""

from functools import partial

from api.app import lambda_handler
from api.routes.list_states import list_states_router
from api.runs import FLOW_RUN

routes = (partial(list_states_router, FLOW_RUN),)
handler = lambda_handler(*routes)
