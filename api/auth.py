"""HTTP Basic auth with the Prefect server's convention: one `user:password` auth string.

Locally the string is a setting, as on a Prefect server. Deployed, a setting says where it
is kept instead (a Secrets Manager secret or an SSM SecureString parameter; see
`api.settings`). It is read on the first request that needs it, once per process: an import
reads nothing, and a process without auth makes no client.
"""

import base64
import binascii
import functools
import hmac
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from api.request_log import SERVICE_LOGGER
from api.settings import AUTH_STRING_ARN_VARIABLE, Settings

if TYPE_CHECKING:
    pass

logger = logging.getLogger(f"{SERVICE_LOGGER}.auth")


class AuthStringUnavailable(Exception):
    """The auth string could not be read where the configuration says it is kept.

    Requests then fail closed (500) and the next one tries again; the message names where
    the string is kept, never the string.
    """


def credentials_match(authorization: str | None, auth_string: bytes) -> bool:
    """Whether an `Authorization` header is `Basic <base64 of auth_string>`.

    The header is split as Prefect's server splits it: exactly two whitespace-separated
    parts, the scheme spelled `Basic`. The base64 must be well-formed (Prefect's decoder
    skips stray characters), and the bytes are compared, in constant time, so a non-ASCII
    auth string works (Prefect's string comparison raises on one).
    """
    if authorization is None:
        return False
    parts = authorization.split()
    if len(parts) != 2 or parts[0] != "Basic":
        return False
    try:
        offered = base64.b64decode(parts[1], validate=True)
    except binascii.Error:
        return False
    return hmac.compare_digest(offered, auth_string)


class Authenticator:
    def __init__(self, auth_string: Callable[[], str]) -> None:
        """`auth_string` gives the string on demand; it is called for each check, so any
        caching is its own (see `read_auth_string`)."""
        self._auth_string = auth_string

    def allows(self, authorization: str | None) -> bool:
        """Whether a request with this `Authorization` header may pass."""
        return credentials_match(authorization, self._auth_string().encode("utf-8"))


@contextmanager
def _response_bodies_unlogged() -> Iterator[None]:
    """botocore logs every response body at DEBUG, a secret's too: not while one is read."""
    parsers_logger = logging.getLogger("botocore.parsers")

    def drop(record: logging.LogRecord) -> bool:
        return False

    parsers_logger.addFilter(drop)
    try:
        yield
    finally:
        parsers_logger.removeFilter(drop)


@functools.cache
def read_auth_string(arn: str) -> str:
    """The auth string kept at `arn`, a Secrets Manager secret or an SSM parameter.

    Cached for the life of the process. A failure is not cached: the next request retries.
    botocore alone, imported here, keeps boto3 (and s3transfer) out of every cold start.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    from storage.clients import aws_client  # the same bounded timeouts and retries

    service = arn.split(":")[2] if arn.startswith("arn:") and arn.count(":") >= 5 else None
    auth_string: str | None
    try:
        with _response_bodies_unlogged():
            if service == "secretsmanager":
                secrets = aws_client("secretsmanager")
                auth_string = secrets.get_secret_value(SecretId=arn).get("SecretString")
            elif service == "ssm":
                ssm = aws_client("ssm")
                parameter = ssm.get_parameter(Name=arn, WithDecryption=True)["Parameter"]
                if parameter.get("Type") != "SecureString":
                    raise AuthStringUnavailable(f"the SSM parameter {arn} is not a SecureString")
                auth_string = parameter.get("Value")
            else:
                raise AuthStringUnavailable(
                    f"{AUTH_STRING_ARN_VARIABLE} is not the ARN of a Secrets Manager secret "
                    f"or an SSM parameter: {arn!r}"
                )
    except (BotoCoreError, ClientError) as error:
        raise AuthStringUnavailable(f"cannot read the auth string at {arn}: {error}") from error
    if not auth_string:
        raise AuthStringUnavailable(f"the auth string at {arn} is empty or not text")
    logger.info("Auth is on: the auth string was read from %s", arn)
    return auth_string


def authenticator_for(settings: Settings) -> Authenticator | None:
    """The authenticator the settings configure, or None when auth is off."""
    auth_string, arn = settings.auth_string, settings.auth_string_arn
    if auth_string:
        return Authenticator(lambda: auth_string)
    if arn:
        return Authenticator(functools.partial(read_auth_string, arn))
    return None
