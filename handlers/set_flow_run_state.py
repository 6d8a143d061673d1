"""Sets a flow run's state."""

from api.app import lambda_handler
from api.endpoints import SET_FLOW_RUN_STATE

endpoints = (SET_FLOW_RUN_STATE,)
handler = lambda_handler(*endpoints)
