"""Every request no other function's route matches (the HTTP API's `$default` route).

It serves no endpoint itself: the gate answers 404, or 405 with the full `Allow`, from every
endpoint's declaration (`api.endpoints`), so API Gateway's own `{"message":"Not Found"}`
never reaches a caller.
"""

from api.app import lambda_handler

endpoints = ()
handler = lambda_handler(*endpoints)
