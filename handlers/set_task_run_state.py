"""Sets a task run's state."""

from api.app import lambda_handler
from api.endpoints import SET_TASK_RUN_STATE

endpoints = (SET_TASK_RUN_STATE,)
handler = lambda_handler(*endpoints)
