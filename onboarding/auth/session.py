"""Who is signed in. The Flask session is a signed cookie, replaced wholesale at every login:
one browser holds one login, of a client user or of a partner user."""

from __future__ import annotations

from flask import g, session

from onboarding.db import get_session
from onboarding.models import ClientUser, PartnerUser

KEYS = {ClientUser: "client_user_id", PartnerUser: "partner_user_id"}


def log_in(user: ClientUser | PartnerUser) -> None:
    session.clear()  # nothing from before login survives it (no fixation, no stale flow data)
    session[KEYS[type(user)]] = user.id
    session.permanent = True
    g.pop("client_user", None)
    g.pop("partner_user", None)


def log_out() -> None:
    session.clear()
    g.pop("client_user", None)
    g.pop("partner_user", None)


def current_client_user() -> ClientUser | None:
    if "client_user" not in g:
        user_id = session.get(KEYS[ClientUser])
        g.client_user = get_session().get(ClientUser, user_id) if user_id else None
    user: ClientUser | None = g.client_user
    return user


def current_partner_user() -> PartnerUser | None:
    if "partner_user" not in g:
        user_id = session.get(KEYS[PartnerUser])
        g.partner_user = get_session().get(PartnerUser, user_id) if user_id else None
    user: PartnerUser | None = g.partner_user
    return user
