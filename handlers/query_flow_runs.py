"""Finds, counts and pages through archived flow runs (Prefect's flow-run queries)."""

from api.app import lambda_handler
from api.endpoints import COUNT_FLOW_RUNS, FILTER_FLOW_RUNS, PAGINATE_FLOW_RUNS

endpoints = (FILTER_FLOW_RUNS, COUNT_FLOW_RUNS, PAGINATE_FLOW_RUNS)
handler = lambda_handler(*endpoints)
