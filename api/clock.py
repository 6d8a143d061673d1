"""The clock: the time every state is stamped with and every expiry is judged by.

Given to what reads the time (the routes' services, the repositories, the importer) by the
code that builds them, so that a test moves time by giving its own.
"""

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The deployed clock: the system's, in UTC."""
    return datetime.now(UTC)
