"""Reading the audit trail: a partner's (all its clients) and a client's own. Its words are
`onboarding/labels.py`'s, its rows `onboarding/activity.py`'s."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from onboarding.errors import NotFound
from onboarding.models import AuditEvent, Client, Partner


def partner_trail(
    session: Session, partner: Partner, *, before: str | None = None, limit: int = 50
) -> Sequence[AuditEvent]:
    """The partner's events, newest first, `limit` at a time below the event `before`."""
    return _trail(session, AuditEvent.partner_id == partner.id, before, limit)


def client_trail(
    session: Session, client: Client, *, before: str | None = None, limit: int = 50
) -> Sequence[AuditEvent]:
    """The client's own events (its numbers, permissions and keys), newest first."""
    return _trail(session, AuditEvent.client_id == client.id, before, limit)


def _trail(
    session: Session, scope: ColumnElement[bool], before: str | None, limit: int
) -> Sequence[AuditEvent]:
    query = select(AuditEvent).where(scope)
    if before is not None:
        # The cursor is an event's public id, so integer keys never leave the database; looked
        # up within the same scope, so another trail's event is unknown here.
        below = session.scalar(select(AuditEvent.id).where(scope, AuditEvent.public_id == before))
        if below is None:
            raise NotFound("There is no such event in your activity.")
        query = query.where(AuditEvent.id < below)
    return session.scalars(query.order_by(AuditEvent.id.desc()).limit(limit)).all()
