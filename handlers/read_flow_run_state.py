"""Reads one flow-run state."""

from api.app import lambda_handler
from api.endpoints import READ_FLOW_RUN_STATE

endpoints = (READ_FLOW_RUN_STATE,)
handler = lambda_handler(*endpoints)
