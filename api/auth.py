"""HTTP Basic auth with the Prefect server's convention: one `user:password` auth string."""

import base64
import binascii
import hmac
import os

AUTH_STRING_VARIABLE = "PREFECT_SERVER_API_AUTH_STRING"


class Authenticator:
    def __init__(self, auth_string: str) -> None:
        self._expected = auth_string.encode("utf-8")

    def allows(self, authorization: str | None) -> bool:
        """Whether an `Authorization` header carries the auth string, compared in constant time."""
        if authorization is None:
            return False
        scheme, _, credentials = authorization.strip().partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            offered = base64.b64decode(credentials.strip(), validate=True)
        except (binascii.Error, ValueError):
            return False
        return hmac.compare_digest(offered, self._expected)


def authenticator_from_environment() -> Authenticator | None:
    auth_string = os.environ.get(AUTH_STRING_VARIABLE)
    return Authenticator(auth_string) if auth_string else None
