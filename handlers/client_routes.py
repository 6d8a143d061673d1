"""The small routes Prefect's client calls besides the state routes."""

from api.app import lambda_handler
from api.endpoints import (
    HEALTH_CHECK,
    READ_API_VERSION,
    READ_CSRF_TOKEN,
    READ_SERVER_VERSION,
)

endpoints = (HEALTH_CHECK, READ_API_VERSION, READ_SERVER_VERSION, READ_CSRF_TOKEN)
handler = lambda_handler(*endpoints)
