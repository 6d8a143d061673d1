"""Reads one task-run state."""

from api.app import lambda_handler
from api.endpoints import READ_TASK_RUN_STATE

endpoints = (READ_TASK_RUN_STATE,)
handler = lambda_handler(*endpoints)
