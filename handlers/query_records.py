"""Finds and counts archived task runs, flows and deployments (Prefect's queries)."""

from api.app import lambda_handler
from api.endpoints import (
    COUNT_DEPLOYMENTS,
    COUNT_FLOWS,
    COUNT_TASK_RUNS,
    FILTER_DEPLOYMENTS,
    FILTER_FLOWS,
    FILTER_TASK_RUNS,
)

endpoints = (
    FILTER_TASK_RUNS,
    COUNT_TASK_RUNS,
    FILTER_FLOWS,
    COUNT_FLOWS,
    FILTER_DEPLOYMENTS,
    COUNT_DEPLOYMENTS,
)
handler = lambda_handler(*endpoints)
