"""GET /api/health, /api/version, /api/admin/version and /api/csrf-token."""

from api.app import lambda_handler
from api.routes.client import router

routes = (router,)
handler = lambda_handler(*routes)
