"""GET /api/flow_run_states/{id}"""

from functools import partial

from api.app import lambda_handler
from api.routes.read_state import read_state_router
from api.runs import FLOW_RUN

routes = (partial(read_state_router, FLOW_RUN),)
handler = lambda_handler(*routes)
