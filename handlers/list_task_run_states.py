"""GET /api/task_run_states/?task_run_id=..."""

from functools import partial

from api.app import lambda_handler
from api.routes.list_states import list_states_router
from api.runs import TASK_RUN

routes = (partial(list_states_router, TASK_RUN),)
handler = lambda_handler(*routes)
