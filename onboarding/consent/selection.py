"""What the permission screen lists and what counts as selected, for clients of any size.

The screen lists at most SHOW numbers: those matching the filter `q` (number or name), first by
id. Which numbers are selected is explicit and survives filtering without JavaScript:

- the starting point is the numbers shared now, those the partner asked for (`channels`,
  `number`);
- the form carries the client's changes outside that starting point as two lists of ids,
  `picked` and `unpicked`, and the ids it listed (`listed`); each submission (Filter, Allow)
  folds the boxes of the listed numbers into those lists, so a number ticked or cleared in one
  view keeps its state in the next;
- "Select all matching" picks every number that matches the filter, listed or not.

Allow then shares exactly the selected numbers (all of them with "All numbers"). The queries
read columns, never ORM objects, so a client with 10,000 numbers costs a page of 100 rows, a
count and the ids of its shared numbers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Select, bindparam, func, or_, select
from sqlalchemy.orm import Session

from onboarding.clients.numbers import matches
from onboarding.consent.request import PermissionRequest
from onboarding.db import Prepared
from onboarding.models import Channel, Permission
from onboarding.phones import readable

SHOW = 100  # numbers listed at once; the filter finds the others
MAX_QUERY = 100


class Row(NamedTuple):
    public_id: str
    phone_number: str
    name: str
    shared: bool


class Shown(NamedTuple):
    """A listed number as the screen draws it, worked out here rather than in the template
    (a macro call and four tests a row cost more than the rest of the page)."""

    public_id: str
    phone_number: str
    readable: str  # grouped for reading
    name: str | None  # None when it is only the number again
    shared: bool
    chosen: bool
    checked: bool
    losing: bool


def shown(rows: list[Row], chosen: set[str], losing: set[str], *, every: bool) -> list[Shown]:
    return [
        Shown(
            row.public_id,
            row.phone_number,
            readable(row.phone_number),
            row.name if row.name != row.phone_number else None,
            row.shared,
            row.public_id in chosen,
            every or row.public_id in chosen,
            row.public_id in losing,
        )
        for row in rows
    ]


@dataclass
class Selection:
    """The client's changes to the starting point, as carried by the form."""

    picked: set[str] = field(default_factory=set)
    unpicked: set[str] = field(default_factory=set)

    def fold(self, listed: Iterable[str], ticked: Iterable[str]) -> None:
        """Take the listed boxes' states: ticked ones picked, cleared ones unpicked."""
        ticked = set(ticked)
        for public_id in listed:
            if public_id in ticked:
                self.picked.add(public_id)
                self.unpicked.discard(public_id)
            else:
                self.unpicked.add(public_id)
                self.picked.discard(public_id)

    def pick(self, public_ids: Iterable[str]) -> None:
        for public_id in public_ids:
            self.picked.add(public_id)
            self.unpicked.discard(public_id)


def ids(text: str | None) -> set[str]:
    """Space-separated ids from a hidden field."""
    return set((text or "").split())


def matching(client_id: int, q: str) -> Select[Any]:
    """The client's numbers whose number or name contains `q`, in any case and language (the
    hubs' filter: onboarding.clients.numbers.matches)."""
    query = select(Channel.public_id).where(Channel.client_id == client_id)
    return query.where(matches(q)) if q else query


# The screen's unfiltered list and the shared ids: statements compiled once (db.Prepared), so a
# GET builds no SQL expression. A filtered list (rarer) is built per request from `matches`.
_LISTED = select(Channel.public_id, Channel.phone_number, Channel.name, Permission.id).outerjoin(
    Permission, Permission.channel_id == Channel.id
)
_LISTED_ALL = Prepared(
    _LISTED.where(Channel.client_id == bindparam("client_id")).order_by(Channel.id).limit(SHOW)
)
_SHARED = Prepared(
    select(Channel.public_id)
    .join(Permission, Permission.channel_id == Channel.id)
    .where(Channel.client_id == bindparam("client_id"))
)


def listed_rows(session: Session, client_id: int, q: str) -> list[Row]:
    if not q:
        rows: Sequence[Any] = _LISTED_ALL.all(session, client_id=client_id)
    else:
        query = _LISTED.where(Channel.client_id == client_id, matches(q))
        rows = session.execute(query.order_by(Channel.id).limit(SHOW)).all()
    return [Row(p, n, name, perm is not None) for p, n, name, perm in rows]


def count(session: Session, query: Select[Any]) -> int:
    return int(session.scalar(select(func.count()).select_from(query.subquery())) or 0)


def starting_point(
    session: Session, client_id: int, asked: PermissionRequest, shared: set[str] | None = None
) -> set[str]:
    """Shared now (`shared`, when the caller has read it already), plus what the partner asked
    for (only the client's own ids count)."""
    if shared is None:
        shared = {public_id for (public_id,) in _SHARED.all(session, client_id=client_id)}
    start = set(shared)
    conditions: list[ColumnElement[bool]] = []
    if asked.channels:
        conditions.append(Channel.public_id.in_(set(asked.channels)))
    if asked.number:
        conditions.append(Channel.phone_number == asked.number)
    if conditions:  # built only when asked: building a statement costs ~40 µs
        wanted = select(Channel.public_id).where(Channel.client_id == client_id)
        start |= set(session.scalars(wanted.where(or_(*conditions))))
    return start


def own(session: Session, client_id: int, public_ids: set[str]) -> set[str]:
    """Those of `public_ids` that are the client's (a stale or forged id selects nothing)."""
    return _among(session, select(Channel.public_id), client_id, public_ids)


def _among(session: Session, query: Select[Any], client_id: int, public_ids: set[str]) -> set[str]:
    """The rows of `query` (channel ids) among the client's `public_ids`, asked 900 at a time
    (SQLite's bound-parameter limit)."""
    found: set[str] = set()
    if not public_ids:  # the first GET: nothing to ask, no statement to build
        return found
    chosen = sorted(public_ids)
    for start in range(0, len(chosen), 900):
        batch = chosen[start : start + 900]
        found |= set(
            session.scalars(
                query.where(Channel.client_id == client_id, Channel.public_id.in_(batch))
            )
        )
    return found


def selected(start: set[str], selection: Selection) -> set[str]:
    return (start | selection.picked) - selection.unpicked


def shared_among(session: Session, client_id: int, public_ids: set[str]) -> set[str]:
    """Those of `public_ids` that are shared now: what an answer would take away."""
    if not public_ids:
        return set()
    shared = select(Channel.public_id).join(Permission, Permission.channel_id == Channel.id)
    return _among(session, shared, client_id, public_ids)


def shared_numbers(session: Session, client_id: int, limit: int) -> tuple[list[str], int]:
    """The first `limit` numbers shared now, and how many there are."""
    query = (
        select(Channel.phone_number)
        .join(Permission, Permission.channel_id == Channel.id)
        .where(Channel.client_id == client_id)
    )
    numbers = list(session.scalars(query.order_by(Channel.id).limit(limit)))
    total = len(numbers) if len(numbers) < limit else count(session, query)
    return numbers, total
