"""JSON parsing that refuses what is not JSON, where Python's `json` module is lenient."""

import json
import math
import re
from typing import Any, NoReturn

# A cheap pre-check: only a body holding a `\uD8..`-`\uDF..` escape can hold a lone surrogate.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


class _NotJSONNumber(ValueError):
    def __init__(self, text: str, reason: str) -> None:
        self.text = text
        self.reason = reason


def _reject_constant(name: str) -> NoReturn:
    raise _NotJSONNumber(name, f"{name} is not a JSON value")


def _double(text: str) -> float:
    """A JSON number as a double, refused where its magnitude is beyond a double's range:
    `json` would make it an infinity (served back as null) or, below the smallest double,
    zero."""
    value = float(text)
    mantissa = text.lower().partition("e")[0]
    if math.isinf(value) or (value == 0 and mantissa.strip("-0.") != ""):
        raise _NotJSONNumber(text, f"{text} is beyond the range of a double")
    return value


def parse_strict_json(raw: bytes) -> Any:
    """Parse a UTF-8 JSON document.

    Raises `json.JSONDecodeError` (which FastAPI reports as a 422 `json_invalid`) for
    invalid UTF-8, `NaN`/`Infinity`, numbers beyond a double's range (such as `1e400`), lone
    surrogates and integers longer than Python's 4,300-digit parsing bound, as well as for
    malformed JSON.
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise json.JSONDecodeError(
            f"Invalid UTF-8 ({error.reason})", raw.decode("utf-8", "replace"), error.start
        ) from error
    try:
        value = json.loads(text, parse_constant=_reject_constant, parse_float=_double)
    except _NotJSONNumber as error:
        raise json.JSONDecodeError(error.reason, text, max(text.find(error.text), 0)) from error
    except json.JSONDecodeError:
        raise
    except ValueError as error:  # the integer string conversion limit
        raise json.JSONDecodeError(str(error), text, 0) from error
    escape = _SURROGATE_ESCAPE.search(text)
    if escape is not None:
        try:
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError as error:
            raise json.JSONDecodeError(
                "A lone surrogate is not valid Unicode", text, escape.start()
            ) from error
    return value
