"""Pages of a job listing, by keyset cursor or by offset (GET /v1/jobs, GET /v1/admin/jobs)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query
from sqlalchemy.orm import sessionmaker

from app.errors import ApiError
from app.schemas import JobList, JobPublic
from workers.store import jobs
from workers.store.cursor import MAX_CURSOR_CHARS, InvalidCursor, Listing
from workers.store.cursor import decode as decode_cursor
from workers.store.cursor import encode as encode_cursor

# The query parameters of every job listing.
PageLimit = Annotated[int, Query(ge=1, le=200)]
# Bounded so that a huge offset is a 422, not an integer overflow in the database (500).
PageOffset = Annotated[int, Query(ge=0, le=2**31 - 1)]
PageCursor = Annotated[
    str | None,
    Query(max_length=MAX_CURSOR_CHARS, description="next_cursor of the previous page: the page after it"),
]


def job_page(sessions: sessionmaker, listing: Listing, limit: int, offset: int, cursor: str | None) -> JobList:
    """A page by `cursor` (keyset: as fast on the thousandth page as on the first) or by
    `offset` (kept for older clients); either way with the next page's cursor."""
    after = None
    if cursor is not None:
        if offset:
            raise ApiError(400, "invalid_cursor", "give either cursor or offset, not both: a cursor already says where to go on")
        try:
            after = decode_cursor(cursor, listing)
        except InvalidCursor as e:
            raise ApiError(400, "invalid_cursor", str(e)) from e
    found, last = jobs.page_jobs(sessions, listing, limit, after=after, offset=offset)
    return JobList(
        jobs=[JobPublic.from_job(j) for j in found],
        total=jobs.count_jobs(sessions, listing),
        limit=limit,
        offset=offset,
        next_cursor=None if last is None else encode_cursor(last, listing),
    )
