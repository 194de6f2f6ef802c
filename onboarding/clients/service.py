"""Creating clients and their users, and checking client logins."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from onboarding.accounts import NewLogin
from onboarding.errors import Conflict, InvalidInput
from onboarding.models import Client, ClientUser, Partner
from onboarding.permissions import events
from onboarding.refusals import TEXTS

# The same words whichever partner's client holds the e-mail, and when the unique constraint wins
# a race: the signup form tells no one which partner a business works with. That an account may
# exist still shows; hiding even that needs a signup that verifies the e-mail first.
EMAIL_MAY_EXIST = TEXTS["email.may_exist"]


def create_client(
    session: Session,
    partner: Partner,
    *,
    name: str,
    login: NewLogin,
    partner_payload: str | None = None,
    actor: str | None = None,
) -> tuple[Client, ClientUser]:
    """A client under `partner` with its first user (the actor, unless an operator is).

    The login is checked and its password hashed beforehand (`accounts.new_login`, with no
    transaction open), so this transaction does no slow work."""
    name = name.strip()
    if not 1 <= len(name) <= 200:
        raise InvalidInput("client.name")
    if partner_payload is not None and len(partner_payload) > 512:
        raise InvalidInput("partner_payload is at most 512 characters.")
    client = Client(partner=partner, name=name, partner_payload=partner_payload)
    session.add(client)
    session.flush()
    user = add_client_user(session, client, login)
    events.record(
        session,
        "client.created",
        partner=partner,
        client=client,
        actor=actor or f"client_user:{user.public_id}",
        name=name,
        partner_payload=partner_payload,
    )
    return client, user


def add_client_user(session: Session, client: Client, login: NewLogin) -> ClientUser:
    if session.scalar(select(func.count()).where(ClientUser.email == login.email)):
        raise Conflict("email.may_exist")
    user = ClientUser(client=client, email=login.email, password_hash=login.password_hash)
    session.add(user)
    session.flush()
    return user


def verified_clients(session: Session, clients: Sequence[Client]) -> set[int]:
    """The ids of those `clients` whose e-mail address is verified (SPEC §5.4), in one query.
    A client has one user today; should it have more, one verified address is enough."""
    if not clients:
        return set()
    return set(
        session.scalars(
            select(ClientUser.client_id).where(
                ClientUser.client_id.in_([client.id for client in clients]),
                ClientUser.email_verified_at.is_not(None),
            )
        )
    )


def search_condition(q: str) -> ColumnElement[bool]:
    """Clients whose name or partner_payload contains `q`: case-insensitive, and `%` or `_` in
    `q` match themselves, not any text."""
    return or_(
        Client.name.icontains(q, autoescape=True),
        Client.partner_payload.icontains(q, autoescape=True),
    )
