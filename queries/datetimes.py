"""Date-times as Prefect 3.9.1 reads them in a filter body, and as its records carry them.

A filter's `before_`/`after_` is Prefect's `DateTime` (pydantic-extra-types' pendulum type on
Python 3.12): pydantic's own datetime parsing first (ISO 8601, or a number of seconds since
the epoch), then pendulum's strict parser for the ISO 8601 forms pydantic refuses (week and
ordinal dates, `2024-01`, `+05`, `2024/01/01 10:30`, ...). A naive value is UTC. The errors are
Prefect's: `Value error, Unable to parse string [...]` for a string neither accepts, `Value
error, value is not a valid datetime it is a <class ...>` for a duration or an interval, and a
bare `value is not a valid datetime` for a value that is not a string.
"""

import calendar
import re
from datetime import UTC, date, datetime, timedelta, timezone
from functools import lru_cache
from typing import Annotated, Any

from pydantic import ValidationInfo, WrapValidator
from pydantic_core import PydanticCustomError
from pydantic_core.core_schema import ValidatorFunctionWrapHandler

_FRACTION = r"(?:[.,](?P<fraction>\d+))?"
_OFFSET = r"(?P<offset>[Zz]|[+-]\d{2}(?::?\d{2})?)?"
_EXTENDED = re.compile(
    r"(?P<year>\d{4})-(?:(?P<month>\d{2})(?:-(?P<day>\d{2}))?|W(?P<week>\d{2})(?:-(?P<weekday>\d))?"
    r"|(?P<ordinal>\d{3}))"
    r"(?:[Tt ](?P<hour>\d{2})(?::(?P<minute>\d{2})(?::(?P<second>\d{2})"
    + _FRACTION
    + r")?)?"
    + _OFFSET
    + ")?"
)
_BASIC = re.compile(
    r"(?P<year>\d{4})(?:(?P<month>\d{2})(?P<day>\d{2})|W(?P<week>\d{2})(?P<weekday>\d)?"
    r"|(?P<ordinal>\d{3}))"
    r"(?:[Tt ](?P<hour>\d{2})(?:(?P<minute>\d{2})(?:(?P<second>\d{2})"
    + _FRACTION
    + r")?)?"
    + _OFFSET
    + ")?"
)
# pendulum's "common" form: `2024/01/01`, `2024:01:01 10:30`, `20240101 10:30:45.5`.
_COMMON = re.compile(
    r"(?P<year>\d{4})(?:[/:]?(?P<month>\d{2})[/:]?(?P<day>\d{2}))?"
    r"(?: ?(?P<hour>\d{1,2}):(?P<minute>\d{1,2})(?::(?P<second>\d{1,2}))?"
    r"(?:[.|,](?P<fraction>\d{1,9}))?)?"
)
_DURATION = re.compile(
    r"P(?!$)(?:\d+(?:[.,]\d+)?Y)?(?:\d+(?:[.,]\d+)?M)?(?:\d+(?:[.,]\d+)?W)?(?:\d+(?:[.,]\d+)?D)?"
    r"(?:T(?=\d)(?:\d+(?:[.,]\d+)?H)?(?:\d+(?:[.,]\d+)?M)?(?:\d+(?:[.,]\d+)?S)?)?"
)

NOT_A_DATETIME = "value is not a valid datetime"


def _iso_week_date(year: int, week: int, weekday: int) -> date:
    last_week = date(year, 12, 28).isocalendar().week
    if not 1 <= week <= last_week:
        raise ValueError
    return date.fromisocalendar(year, week, weekday)


def _ordinal_date(year: int, ordinal: int) -> date:
    if not 1 <= ordinal <= (366 if calendar.isleap(year) else 365):
        raise ValueError
    return date(year, 1, 1) + timedelta(days=ordinal - 1)


def _offset(text: str | None) -> timezone:
    if text is None or text in ("Z", "z"):
        return UTC
    hours, minutes = int(text[1:3]), int(text[-2:]) if len(text) > 3 else 0
    if hours > 23 or minutes > 59:
        raise ValueError
    delta = timedelta(hours=hours, minutes=minutes)
    return timezone(-delta if text[0] == "-" else delta)


def _from_match(match: re.Match[str]) -> datetime:
    """The instant a matched form names; ValueError where a field is out of range."""
    fields = match.groupdict()
    year = int(fields["year"])
    if year == 0:
        raise ValueError
    if fields.get("week"):
        day = _iso_week_date(year, int(fields["week"]), int(fields["weekday"] or 1))
    elif fields.get("ordinal"):
        day = _ordinal_date(year, int(fields["ordinal"]))
    else:
        day = date(year, int(fields["month"] or 1), int(fields["day"] or 1))
    fraction = (fields["fraction"] or "")[:6].ljust(6, "0")
    return datetime(
        day.year,
        day.month,
        day.day,
        int(fields["hour"] or 0),
        int(fields["minute"] or 0),
        int(fields["second"] or 0),
        int(fraction),
        tzinfo=_offset(fields.get("offset")),
    )


def _iso8601(text: str) -> datetime | None:
    """pendulum's strict ISO 8601 reading of `text`, or None where it has none."""
    for form in (_EXTENDED, _BASIC):
        match = form.fullmatch(text)
        if match:
            try:
                return _from_match(match)
            except ValueError:
                return None
    return None


def _pendulum_parse(text: str) -> datetime:
    """What pendulum's `parse(text, strict=True)` makes of a string pydantic refused."""
    if parsed := _iso8601(text):
        return parsed
    if _DURATION.fullmatch(text):
        raise ValueError(f"{NOT_A_DATETIME} it is a <class 'pendulum.duration.Duration'>")
    first, _, last = text.partition("/")
    if first and last and "/" not in last:
        if first[:1] == "P" or last[:1] == "P":
            if all(_DURATION.fullmatch(part) or _iso8601(part) for part in (first, last)):
                raise PydanticCustomError("value_error", NOT_A_DATETIME)
        elif _iso8601(first) and _iso8601(last):
            raise ValueError(f"{NOT_A_DATETIME} it is a <class 'pendulum.interval.Interval'>")
    match = _COMMON.fullmatch(text)
    if match and text:
        try:
            return _from_match(match)
        except ValueError:
            pass
    raise ValueError(f"Unable to parse string [{text}]")


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _validate(value: Any, handler: ValidatorFunctionWrapHandler, _: ValidationInfo) -> datetime:
    if isinstance(value, datetime):
        return _aware(value)
    try:
        return _aware(handler(value))
    except ValueError:
        if not isinstance(value, str):
            raise PydanticCustomError("value_error", NOT_A_DATETIME) from None
        return _pendulum_parse(value)


DateTime = Annotated[datetime, WrapValidator(_validate)]
"""A filter bound: an aware datetime, read as Prefect 3.9.1 reads it."""


@lru_cache(maxsize=65536)
def instant(value: str) -> datetime:
    """A record's date-time (ISO 8601 as Prefect serves it) as an aware datetime."""
    return _aware(datetime.fromisoformat(value))
