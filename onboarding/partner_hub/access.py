"""Who may open a hub page, and looking objects up within the user's own partner only."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Concatenate, ParamSpec

from flask import render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from sqlalchemy import select
from sqlalchemy.orm import Session

from onboarding.auth.session import partner_user_required
from onboarding.db import get_session
from onboarding.errors import (
    ChannelNotRunning,
    Conflict,
    DomainError,
    ForeignChannel,
    InvalidInput,
    NotAllowed,
    NotFound,
    PermissionMissing,
)
from onboarding.models import Channel, Client, Partner, PartnerUser
from onboarding.pages import worded
from onboarding.partners.service import require_owner

P = ParamSpec("P")
View = Callable[Concatenate[PartnerUser, P], ResponseReturnValue]

# The hub's views say @login_required; the one implementation for both hubs is in auth/session.py.
login_required = partner_user_required

# Titles, most specific first (ChannelNotRunning is a Conflict); the status is the error's own.
REFUSALS: list[tuple[type[DomainError], LazyString]] = [
    (ChannelNotRunning, _l("Not possible right now")),
    (PermissionMissing, _l("Permission missing")),
    (NotAllowed, _l("Not allowed")),
    (Conflict, _l("Not possible right now")),
    (NotFound, _l("Not found")),
    (ForeignChannel, _l("Not found")),
    (InvalidInput, _l("That did not work")),
]


def owner_required(view: View[P]) -> View[P]:
    """The one place a hub view checks the role; the rule itself is require_owner's."""

    @wraps(view)
    def wrapped(user: PartnerUser, /, *args: P.args, **kwargs: P.kwargs) -> ResponseReturnValue:
        require_owner(user)
        return view(user, *args, **kwargs)

    return wrapped


def refusal_page(error: DomainError) -> ResponseReturnValue:
    """A refused request: rolled back, shown on a hub page with the domain's own reason."""
    get_session().rollback()
    title = next((t for kind, t in REFUSALS if isinstance(error, kind)), _l("That did not work"))
    # Another client's number answers as one that does not exist (the API says 400 for it).
    status = 404 if isinstance(error, ForeignChannel) else error.status
    section, back = _came_from(found=not isinstance(error, NotFound))
    return render_template(
        "partner_hub/error.html",
        status=status,
        title=str(title),
        error=worded(error),
        section=section,
        back=back,
    ), status


SECTIONS = {
    "settings": "partner_hub.settings",
    "team": "partner_hub.team_page",
    "activity": "partner_hub.activity_log",
    "webhooks": "partner_hub.webhooks",
}


def _came_from(*, found: bool) -> tuple[str, str]:
    """The hub section of the refused request and a page to go back to (the Referer header,
    which would say, is withheld by our Referrer-Policy)."""
    parts = request.path.split("/")  # "", "hub", section, ...
    section = parts[2] if len(parts) > 2 else ""
    if section in SECTIONS:
        return section, url_for(SECTIONS[section])
    if section == "clients" and len(parts) > 4 and found:  # an action on a client: its page
        return "clients", url_for("partner_hub.client", client_id=parts[3])
    return "clients", url_for("partner_hub.clients")


def own_client(session: Session, partner: Partner, public_id: str) -> Client:
    client = session.scalar(
        select(Client).where(Client.public_id == public_id, Client.partner_id == partner.id)
    )
    if client is None:
        raise NotFound("client.unknown")
    return client


def own_channel(session: Session, client: Client, public_id: str) -> Channel:
    """A channel of `client` (itself already found among the partner's own)."""
    channel = session.scalar(
        select(Channel).where(Channel.public_id == public_id, Channel.client_id == client.id)
    )
    if channel is None:
        raise NotFound("channel.unknown")
    return channel


def own_channels(
    session: Session, partner: Partner, public_ids: list[str], client: Client | None
) -> list[Channel]:
    """The named channels, each the partner's own (and `client`'s, when one is given)."""
    query = (
        select(Channel)
        .join(Client)
        .where(Channel.public_id.in_(public_ids), Client.partner_id == partner.id)
    )
    if client is not None:
        query = query.where(Channel.client_id == client.id)
    found = list(session.scalars(query))
    if len(found) != len(set(public_ids)):
        raise NotFound("channel.not_this_clients" if client else "channel.not_your_clients")
    return found
