"""One client's numbers a page at a time, optionally filtered by number or name: the Partner
Hub's client page and the Client Hub's numbers and settings pages list these, so that no page
grows with the client's number count.

Keyset pages of PER_PAGE in id order (ix_channel_client_id_id): `after` continues below the
row with that id, `before` goes back above it. Two counts (all numbers, those matching) and
the position of the first row let the page say "101-200 of 1,000". The filter matches the
case-folded name (Channel.name_folded: "MÜLLER" finds "Müller" on SQLite too, whose lower()
folds ASCII only) or the digits of the number as typed ("+49 151 1234" finds +491511234…).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.orm import Session

from onboarding.errors import InvalidInput
from onboarding.models import Channel

PER_PAGE = 100
MAX_QUERY = 100
_CURSOR = re.compile(r"^[0-9]{1,18}$")  # ASCII digits only: str.isdigit() accepts "²"
MAX_ID = 2**31 - 1  # the largest integer key (PostgreSQL refuses a larger one in the query)
_NUMBER = re.compile(r"^\+?[0-9]+$")
_SEPARATORS = re.compile(r"[\s().\-/]")


@dataclass(frozen=True)
class NumberPage:
    channels: list[Channel]
    q: str
    total: int  # the client's numbers
    matching: int  # of those, the ones the filter finds (all without a filter)
    first: int  # position of the first row among the matching ones, from 1 (0: none)
    previous: int | None  # `before` for the previous page
    next: int | None  # `after` for the next page

    @property
    def last(self) -> int:
        return self.first + len(self.channels) - 1 if self.channels else 0


def matches(q: str) -> ColumnElement[bool]:
    """The numbers whose name contains `q` in any case, or whose number contains its digits."""
    conditions = [Channel.name_folded.contains(q.casefold(), autoescape=True)]
    digits = _SEPARATORS.sub("", q)
    if _NUMBER.match(digits):
        conditions.append(Channel.phone_number.contains(digits, autoescape=True))
    return or_(*conditions)


def cursor(value: str | None) -> int | None:
    """A page link's `after` or `before`: an id the page gave, or a readable 400."""
    if value is None or value == "":
        return None
    if not _CURSOR.match(value):
        raise InvalidInput("This page link is not valid. Go back to the first page of numbers.")
    return min(int(value), MAX_ID)


def number_page(
    session: Session,
    client_id: int,
    q: str = "",
    *,
    after: int | None = None,
    before: int | None = None,
) -> NumberPage:
    q = q.strip()[:MAX_QUERY]
    if after is not None and before is not None:
        raise InvalidInput("A page link gives after or before, not both.")
    mine = select(Channel).where(Channel.client_id == client_id)
    found = mine.where(matches(q)) if q else mine
    if before is not None:  # the page above `before`: walk down from it, then turn it round
        rows = session.scalars(
            found.where(Channel.id < before).order_by(Channel.id.desc()).limit(PER_PAGE)
        ).all()
        channels = list(reversed(rows))
    else:
        start = found if after is None else found.where(Channel.id > after)
        channels = list(session.scalars(start.order_by(Channel.id).limit(PER_PAGE)))
    total = _count(session, mine)
    matching = _count(session, found) if q else total
    first = _count(session, found.where(Channel.id < channels[0].id)) + 1 if channels else 0
    last = first + len(channels) - 1
    return NumberPage(
        channels=channels,
        q=q,
        total=total,
        matching=matching,
        first=first,
        previous=channels[0].id if channels and first > 1 else None,
        next=channels[-1].id if channels and last < matching else None,
    )


def _count(session: Session, query: Select[Any]) -> int:
    counted = query.with_only_columns(func.count(Channel.id)).order_by(None)
    return int(session.scalar(counted) or 0)


def from_args(session: Session, client_id: int, args: Mapping[str, str]) -> NumberPage:
    """The page a request's query string asks for: `q`, and `after` or `before`."""
    return number_page(
        session,
        client_id,
        args.get("q", ""),
        after=cursor(args.get("after")),
        before=cursor(args.get("before")),
    )
