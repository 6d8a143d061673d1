"""POST /api/flow_runs/{id}/set_state"""

from functools import partial

from api.app import lambda_handler
from api.routes.set_state import set_state_router
from api.runs import FLOW_RUN

routes = (partial(set_state_router, FLOW_RUN),)
handler = lambda_handler(*routes)
