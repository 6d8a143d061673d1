"""Deletes one flow-run state."""

from api.app import lambda_handler
from api.endpoints import DELETE_FLOW_RUN_STATE

endpoints = (DELETE_FLOW_RUN_STATE,)
handler = lambda_handler(*endpoints)
