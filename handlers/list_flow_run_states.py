"""Lists a flow run's states."""

from api.app import lambda_handler
from api.endpoints import LIST_FLOW_RUN_STATES

endpoints = (LIST_FLOW_RUN_STATES,)
handler = lambda_handler(*endpoints)
