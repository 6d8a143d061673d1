"""Listing in pages: Lambda's 6 MB response limit, and the `limit` and `cursor` parameters."""

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from json.encoder import encode_basestring
from uuid import UUID

from fastapi.exceptions import RequestValidationError

from api.runs import RunKind
from api.schemas import ExceptionBody
from storage.repository import StoredState

# Lambda refuses a response object over 6 MB: "Exceeded maximum allowed payload size
# (6291556 bytes)", counted on the JSON its runtime writes.
LAMBDA_RESPONSE_LIMIT = 6_291_556
# What the response object takes besides the body's text: its keys, the status code and the
# headers, X-Next-Cursor included (about 250 bytes through Mangum).
RESPONSE_ENVELOPE = 1_024
BODY_LIMIT = LAMBDA_RESPONSE_LIMIT - RESPONSE_ENVELOPE

MAX_LIMIT = 1_000
NEXT_CURSOR_HEADER = "X-Next-Cursor"


def size_in_response(text: str) -> int:
    """The bytes `text` takes inside the body of a Lambda response.

    The body is a JSON string in the response object, so quotes and backslashes count
    twice; the Python 3.12 runtime writes the rest as UTF-8 (`ensure_ascii=False`). For a
    string, `json.dumps(text, ensure_ascii=False)` is `encode_basestring(text)`, called here
    without making an encoder for each state."""
    return len(encode_basestring(text).encode()) - 2


@dataclass(frozen=True, slots=True)
class Page:
    body: str  # a JSON list of state documents
    resume_after: str | None  # the `list_order` of its last state, when more states follow


def take_page(states: Iterable[StoredState], limit: int | None) -> Page:
    """Up to `limit` states (None: all), ending early rather than pass `BODY_LIMIT`.

    It reads one state past the page, to tell whether more follow, and stops there: a
    listing over the limit is known as such without reading the rest of it.
    """
    documents: list[str] = []
    size = len("[]")
    resume_after: str | None = None
    for state in states:
        cost = size_in_response(state.document) + (1 if documents else 0)  # and its comma
        if len(documents) == limit or size + cost > BODY_LIMIT:
            break
        documents.append(state.document)
        size += cost
        resume_after = state.list_order
    else:
        resume_after = None  # the listing's end
    return Page("[" + ",".join(documents) + "]", resume_after)


# The 413 for a whole list that would not fit.
TOO_LARGE_BODY = ExceptionBody(
    exception_message="The run's states are too many to answer at once: together they pass "
    f"Lambda's response limit ({LAMBDA_RESPONSE_LIMIT:,} bytes, 6 MB). Page through them: "
    f"pass `limit` (1 to {MAX_LIMIT}), then pass each response's {NEXT_CURSOR_HEADER} header "
    "back as `cursor` until a response comes without one."
).model_dump_json()


# A cursor is the position it resumes after (a state's `list_order`) behind a checksum of
# the listing it belongs to. A checksum, not a signature: a cursor forged with a valid
# checksum can only start the same run's listing at another point, which the caller may
# list anyway. The checksum catches a cursor altered, cut or pasted into another listing.
_CHECKSUM_BYTES = 8
_CURSOR = re.compile(r"[A-Za-z0-9_-]+")
# The position's form (storage's `list_order`), checked so that a forged cursor can never
# give the database a key it refuses.
_POSITION = re.compile(
    r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z#"
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
)


def _checksum(kind: RunKind, run_id: UUID, position: bytes) -> bytes:
    listing = f"{kind.run_id_field}={run_id}#".encode()
    return hashlib.blake2b(listing + position, digest_size=_CHECKSUM_BYTES).digest()


def cursor_for(kind: RunKind, run_id: UUID, position: str) -> str:
    """The cursor resuming `kind`'s listing of `run_id` after `position`: URL-safe base64,
    no padding."""
    raw = _checksum(kind, run_id, position.encode()) + position.encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def position_of(cursor: str, kind: RunKind, run_id: UUID) -> str:
    """The position `cursor` resumes after; a 422 unless this service made it for this listing."""
    position = ""
    if _CURSOR.fullmatch(cursor):
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            position = raw[_CHECKSUM_BYTES:].decode()
        except (binascii.Error, UnicodeDecodeError):
            pass
    # Re-encoding it must give the very same text: that checks the checksum, and refuses
    # every other spelling of the same bytes.
    if not _POSITION.fullmatch(position) or cursor_for(kind, run_id, position) != cursor:
        message = "not a cursor of this listing: it was altered, cut, or made for another run"
        raise RequestValidationError(
            [
                {
                    "type": "value_error",
                    "loc": ("query", "cursor"),
                    "msg": f"Value error, {message}",
                    "input": cursor,
                    "ctx": {"error": message},
                }
            ]
        )
    return position
