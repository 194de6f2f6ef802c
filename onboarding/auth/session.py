"""Who is signed in. The Flask session is a signed cookie; it is replaced wholesale at login."""

from __future__ import annotations

from flask import g, session

from onboarding.db import get_session
from onboarding.models import ClientUser

KEY = "client_user_id"


def log_in(user: ClientUser) -> None:
    session.clear()  # nothing from before login survives it (no fixation, no stale flow data)
    session[KEY] = user.id
    session.permanent = True
    g.pop("client_user", None)


def log_out() -> None:
    session.clear()
    g.pop("client_user", None)


def current_client_user() -> ClientUser | None:
    if "client_user" not in g:
        user_id = session.get(KEY)
        g.client_user = get_session().get(ClientUser, user_id) if user_id else None
    user: ClientUser | None = g.client_user
    return user
