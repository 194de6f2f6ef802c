"""Who is signed in, and the one way each hub requires it.

A login is a `login_session` row. The browser's cookie (Flask's signed session) holds only the
row's random token; the row holds its SHA-256 and an absolute end. So logout, a removal, a
password change or "log out everywhere" end a login at once, whatever copy of the cookie
survives, and no activity keeps a login alive past SESSION_ABSOLUTE_LIFETIME. One browser holds
one login, of a client user or of a partner user.

`log_in` and `log_out` add to the request's database session; the view commits.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any, Concatenate, NamedTuple, ParamSpec, TypeVar

from flask import current_app, g, redirect, session, url_for
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import generate_csrf
from sqlalchemy import Select, bindparam, delete, select
from sqlalchemy.orm import InstrumentedAttribute, Session, joinedload

from onboarding.db import Prepared, UTCDateTime, get_session, reader, utcnow
from onboarding.models import Client, ClientUser, LoginSession, Partner, PartnerUser
from onboarding.partners.service import CARD_COLUMNS, PartnerCard
from onboarding.security import hash_secret, issue_secret

COOKIE_KEY = "login"  # the session cookie's only entry of ours: the login token

User = TypeVar("User", ClientUser, PartnerUser)
P = ParamSpec("P")


def log_in(user: ClientUser | PartnerUser) -> None:
    """Start a login: a new token in a new cookie session, so that nothing from before login
    survives it (no fixation, no stale flow data). Ends the browser's previous login, if any,
    and sweeps away expired rows while at it."""
    db = get_session()
    now = utcnow()
    db.execute(delete(LoginSession).where(LoginSession.expires_at <= now))
    _end_this_browsers_login(db)
    secret = issue_secret("login")
    column = "client_user_id" if isinstance(user, ClientUser) else "partner_user_id"
    db.add(
        LoginSession(
            token_hash=secret.hash,
            created_at=now,
            expires_at=now + _absolute_lifetime(),
            **{column: user.id},
        )
    )
    db.flush()
    session.clear()
    session[COOKIE_KEY] = secret.value
    session.permanent = True
    # The new session's CSRF secret, made now rather than by the first form after login: that
    # page then need not send the cookie again (one Set-Cookie per login, not two).
    g.pop(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"), None)
    generate_csrf()
    _forget_users()


def log_out() -> None:
    _end_this_browsers_login(get_session())
    session.clear()
    _forget_users()


def end_sessions(db: Session, user: ClientUser | PartnerUser, keep: str | None = None) -> None:
    """End every login of `user` (log out everywhere, a password change, a removal), except the
    one whose token is `keep` (see `current_token`). In the caller's transaction."""
    query = delete(LoginSession).where(_user_column(type(user)) == user.id)
    if keep is not None:
        query = query.where(LoginSession.token_hash != hash_secret(keep))
    db.execute(query)


def current_token() -> str | None:
    """The token of this browser's login, for `end_sessions(..., keep=current_token())`."""
    token = session.get(COOKIE_KEY)
    return token if isinstance(token, str) else None


def current_client_user() -> ClientUser | None:
    if "client_user" not in g:
        g.client_user = _load(ClientUser)
    user: ClientUser | None = g.client_user
    return user


class ClientLogin(NamedTuple):
    """The signed-in client user, its client and the client's partner, as one row: what the
    permission flow's pages read (an answer loads the ORM objects it changes)."""

    user_id: int
    public_id: str
    email: str
    client_id: int
    client_name: str
    all_channels: bool
    partner: PartnerCard


def current_client_login() -> ClientLogin | None:
    """As `current_client_user`, in one prepared query and without ORM objects (~0.3 ms less
    on the consent screen)."""
    if "client_login" not in g:
        g.client_login = _load_login()
    login: ClientLogin | None = g.client_login
    return login


def _load_login() -> ClientLogin | None:
    token = current_token()
    if token is None:
        return None
    row = _LOGIN.first(reader(), token_hash=hash_secret(token), now=utcnow())
    if row is None:
        return None
    user_id, public_id, email, client_id, client_name, all_channels = row[:6]
    return ClientLogin(
        user_id, public_id, email, client_id, client_name, all_channels, PartnerCard(*row[6:])
    )


def current_partner_user() -> PartnerUser | None:
    if "partner_user" not in g:
        g.partner_user = _load(PartnerUser)
    user: PartnerUser | None = g.partner_user
    return user


def client_user_required(
    view: Callable[Concatenate[ClientUser, P], ResponseReturnValue],
) -> Callable[P, ResponseReturnValue]:
    """Hand the view the signed-in client user; without one, 303 to the client login."""

    @wraps(view)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> ResponseReturnValue:
        user = current_client_user()
        if user is None:
            return redirect(url_for("auth.login"), 303)
        return view(user, *args, **kwargs)

    return wrapped


def partner_user_required(
    view: Callable[Concatenate[PartnerUser, P], ResponseReturnValue],
) -> Callable[P, ResponseReturnValue]:
    """Hand the view the signed-in partner user; without one, 303 to the Partner Hub's login."""

    @wraps(view)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> ResponseReturnValue:
        user = current_partner_user()
        if user is None:
            return redirect(url_for("partner_hub.login"), 303)
        return view(user, *args, **kwargs)

    return wrapped


def _by_token(kind: type[ClientUser] | type[PartnerUser]) -> Select[Any]:
    """The user of a live login, with the client and partner every page of theirs shows loaded
    in the same query (no lazy loads after it). Built once per kind: each call binds values."""
    query = select(kind).join(LoginSession, _user_column(kind) == kind.id)
    if kind is ClientUser:
        query = query.options(joinedload(ClientUser.client).joinedload(Client.partner))
    else:
        query = query.options(joinedload(PartnerUser.partner))
    return query.where(
        LoginSession.token_hash == bindparam("token_hash"),
        LoginSession.expires_at > bindparam("now", type_=UTCDateTime),
    )


def _load(kind: type[User]) -> User | None:
    """The user of this browser's login, in one query; None when the login is missing, ended,
    expired, of the other kind, or its user is gone."""
    token = current_token()
    if token is None:
        return None
    params = {"token_hash": hash_secret(token), "now": utcnow()}
    user: User | None = get_session().scalar(_BY_TOKEN[kind], params)
    return user


def _user_column(kind: type[ClientUser] | type[PartnerUser]) -> InstrumentedAttribute[int | None]:
    return LoginSession.client_user_id if kind is ClientUser else LoginSession.partner_user_id


_BY_TOKEN: dict[type[ClientUser] | type[PartnerUser], Select[Any]] = {
    kind: _by_token(kind) for kind in (ClientUser, PartnerUser)
}


_LOGIN = Prepared(
    select(
        ClientUser.id,
        ClientUser.public_id,
        ClientUser.email,
        Client.id,
        Client.name,
        Client.all_channels,
        *CARD_COLUMNS,
    )
    .join(LoginSession, LoginSession.client_user_id == ClientUser.id)
    .join(Client, Client.id == ClientUser.client_id)
    .join(Partner, Partner.id == Client.partner_id)
    .where(
        LoginSession.token_hash == bindparam("token_hash"),
        LoginSession.expires_at > bindparam("now", type_=UTCDateTime),
    )
)


def _end_this_browsers_login(db: Session) -> None:
    token = current_token()
    if token is not None:
        db.execute(delete(LoginSession).where(LoginSession.token_hash == hash_secret(token)))


def _absolute_lifetime() -> timedelta:
    lifetime = current_app.config["SESSION_ABSOLUTE_LIFETIME"]
    # The environment gives seconds (ONBOARDING_SESSION_ABSOLUTE_LIFETIME=43200).
    return lifetime if isinstance(lifetime, timedelta) else timedelta(seconds=int(lifetime))


def _forget_users() -> None:
    g.pop("client_login", None)
    g.pop("client_user", None)
    g.pop("partner_user", None)
