"""Cursor pagination: `limit` (1-500, default 100), an opaque `cursor`, `next_cursor` or null."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Sequence
from typing import Any

from flask import request
from sqlalchemy import Select
from sqlalchemy.orm import InstrumentedAttribute, Session

from onboarding.partner_api.errors import ApiError

MAX_LIMIT = 500
MAX_ID = 2**31 - 1  # the largest integer key; beyond it no cursor of ours can point
_DIGITS = re.compile(r"^[0-9]{1,20}$")  # ASCII only: str.isdigit() accepts "²"
_CURSOR = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # base64url, as encode_cursor writes it
DEFAULT_LIMIT = 100


def page(
    session: Session,
    query: Select[Any],
    key: InstrumentedAttribute[int],
    attribute: str | None = None,
) -> tuple[Sequence[Any], str | None]:
    """One page of `query` in ascending `key` order, after the request's cursor (keyset: no
    OFFSET and no count). The cursor holds the last row's `attribute` (default: the key's
    name), which must equal its `key`, e.g. Channel.id for a walk along Permission.channel_id."""
    limit = _limit()
    after = decode_cursor(request.args.get("cursor"))
    if after is not None:
        query = query.where(key > after)
    rows = session.scalars(query.order_by(key).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (encode_cursor(getattr(rows[-1], attribute or key.key)) if more else None)


def encode_cursor(after: int) -> str:
    return base64.urlsafe_b64encode(f"after:{after}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int | None:
    """The key after which the page starts. A cursor of the wrong shape is a 400; one of the
    right shape that the hub never gave leads nowhere: 404."""
    if not cursor:
        return None
    if not _CURSOR.match(cursor):
        raise ApiError(400, "The cursor is not valid; use next_cursor as given.")
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, number = text.partition(":")
        if prefix != "after" or not _DIGITS.match(number):
            raise ValueError(text)
        return min(int(number), MAX_ID)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ApiError(404, "No page starts at this cursor; use next_cursor as given.") from None


def _limit() -> int:
    raw = request.args.get("limit", str(DEFAULT_LIMIT))
    if not _DIGITS.match(raw) or not 1 <= int(raw) <= MAX_LIMIT:
        raise ApiError(400, f"limit is a whole number from 1 to {MAX_LIMIT}.")
    return int(raw)


def listing(name: str, items: list[dict[str, Any]], next_cursor: str | None) -> dict[str, Any]:
    return {name: items, "next_cursor": next_cursor}
