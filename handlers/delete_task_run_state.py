"""DELETE /api/task_run_states/{id}"""

from functools import partial

from api.app import lambda_handler
from api.routes.delete_state import delete_state_router
from api.runs import TASK_RUN

routes = (partial(delete_state_router, TASK_RUN),)
handler = lambda_handler(*routes)
