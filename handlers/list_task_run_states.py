"""Lists a task run's states."""

from api.app import lambda_handler
from api.endpoints import LIST_TASK_RUN_STATES

endpoints = (LIST_TASK_RUN_STATES,)
handler = lambda_handler(*endpoints)
