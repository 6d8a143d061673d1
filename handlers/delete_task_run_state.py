"""Deletes one task-run state."""

from api.app import lambda_handler
from api.endpoints import DELETE_TASK_RUN_STATE

endpoints = (DELETE_TASK_RUN_STATE,)
handler = lambda_handler(*endpoints)
