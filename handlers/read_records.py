"""Reads one archived flow run, task run, flow or deployment by id."""

from api.app import lambda_handler
from api.endpoints import READ_DEPLOYMENT, READ_FLOW, READ_FLOW_RUN, READ_TASK_RUN

endpoints = (READ_FLOW_RUN, READ_TASK_RUN, READ_FLOW, READ_DEPLOYMENT)
handler = lambda_handler(*endpoints)
