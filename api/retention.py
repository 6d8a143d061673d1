"""How long states are kept: a period per table, in days, from the environment.

Fractions of a day are allowed (0.5 is 12 hours), so that a short period can be tried out
under `make serve` (0.001 days is 86.4 seconds) and busy task-run tables can keep hours
rather than days. The period is kept to the microsecond, as timestamps are.
"""

import os
from datetime import timedelta
from decimal import Decimal, InvalidOperation

from storage.tables import StateTable

MAX_RETENTION_DAYS = 36_500  # a century: for longer, leave retention off
_MICROSECONDS_PER_DAY = 86_400_000_000


class RetentionMisconfigured(ValueError):
    """A retention setting that is no period: the process refuses to start with it."""


def retention_period(table: StateTable) -> timedelta | None:
    """How long after its timestamp `table` serves a state; None keeps states until deleted."""
    variable = table.retention_env_var
    text = os.environ.get(variable, "")
    try:
        days = Decimal(text.strip() or "0")
    except InvalidOperation:
        days = Decimal("NaN")
    if not (days.is_finite() and 0 <= days <= MAX_RETENTION_DAYS):
        raise RetentionMisconfigured(
            f"{variable}={text!r} is not a retention period: give a number of days from 0 "
            f"(keep states until deleted) to {MAX_RETENTION_DAYS}, fractions allowed "
            "(0.5 is 12 hours)"
        )
    microseconds = round(days * _MICROSECONDS_PER_DAY)
    return timedelta(microseconds=microseconds) if microseconds else None
