"""The client's audit trail as the Activity page lists it: what, which number, who, when."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from onboarding.activity import Row, for_client
from onboarding.models import Client, ClientUser
from onboarding.permissions.audit import client_trail

PAGE_SIZE = 25


@dataclass(frozen=True)
class ActivityPage:
    rows: list[Row]  # what, detail, numbers, who, when (onboarding/activity.py)
    older: str | None  # the public id to pass as `before` for the next page, None at the end


def activity_page(
    session: Session, client: Client, viewer: ClientUser, before: str | None
) -> ActivityPage:
    """One page of the trail, newest first, below the event `before` (a public id).

    Cursors are event public ids, not integer keys, which never leave the database.
    """
    events = list(client_trail(session, client, before=before, limit=PAGE_SIZE + 1))
    page, more = events[:PAGE_SIZE], len(events) > PAGE_SIZE
    rows = for_client(session, client, viewer, page)
    return ActivityPage(rows=rows, older=page[-1].public_id if more else None)
