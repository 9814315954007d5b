"""Keyset cursors for job listings: where the last page ended, opaque to the caller.

A cursor is url-safe base64 of a small JSON object: the last job's `created_at` (microseconds
since the epoch, UTC) and id, and a fingerprint of the listing it continues (tenant, owner,
status, reference). The fingerprint is a hash, so a cursor names no tenant; one brought to
another listing (another tenant, another key, another status filter) is refused rather than
read as a position in it. A cursor is no secret and needs no signature: whatever it says, the
listing's own filters still bound what is read.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ID = re.compile(r"[0-9A-Za-z_-]{1,32}")
MAX_CURSOR_CHARS = 200


class InvalidCursor(ValueError):
    """The cursor is malformed or belongs to another listing; the message says which."""


@dataclass(frozen=True)
class Listing:
    """The filters of one listing; None: not filtered on."""

    tenant_id: str | None
    owner: str | None = None
    status: str | None = None
    reference: str | None = None

    def fingerprint(self) -> str:
        fields = json.dumps([self.tenant_id, self.owner, self.status, self.reference], separators=(",", ":"))
        return hashlib.sha256(fields.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Position:
    """The last job of a page, in the listing's order (created_at DESC, id DESC)."""

    created_at: datetime  # UTC
    id: str


def encode(position: Position, listing: Listing) -> str:
    at = position.created_at if position.created_at.tzinfo else position.created_at.replace(tzinfo=UTC)
    micros = (at - _EPOCH) // timedelta(microseconds=1)
    body = json.dumps({"t": micros, "i": position.id, "f": listing.fingerprint()}, separators=(",", ":"))
    return base64.urlsafe_b64encode(body.encode()).decode().rstrip("=")


def decode(cursor: str, listing: Listing) -> Position:
    """The position a cursor names; InvalidCursor when it is not one this listing gave out."""
    if not cursor or len(cursor) > MAX_CURSOR_CHARS:
        raise InvalidCursor(f"a cursor is 1 to {MAX_CURSOR_CHARS} characters, as next_cursor gave it")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        body = json.loads(raw)
    except (binascii.Error, ValueError) as e:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise InvalidCursor("the cursor is not one next_cursor gave (not url-safe base64 of a cursor)") from e
    if not isinstance(body, dict) or set(body) != {"t", "i", "f"}:
        raise InvalidCursor("the cursor is not one next_cursor gave (unknown fields)")
    micros, job_id, fingerprint = body["t"], body["i"], body["f"]
    if not isinstance(micros, int) or isinstance(micros, bool) or not isinstance(job_id, str) or not _ID.fullmatch(job_id):
        raise InvalidCursor("the cursor is not one next_cursor gave (bad position)")
    try:
        created_at = _EPOCH + timedelta(microseconds=micros)
    except OverflowError as e:
        raise InvalidCursor("the cursor is not one next_cursor gave (time out of range)") from e
    if created_at.year < 1971 or created_at.year > 9998:
        raise InvalidCursor("the cursor is not one next_cursor gave (time out of range)")
    if fingerprint != listing.fingerprint():
        raise InvalidCursor("the cursor belongs to another listing (other filters or another key); start again without it")
    return Position(created_at=created_at, id=job_id)
