"""Test data, made through the same services the product uses."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from sqlalchemy.orm import Session

from onboarding.accounts import new_login
from onboarding.clients.service import create_client
from onboarding.models import BillingModel, Channel, ChannelStatus, Client, ClientUser, Partner
from onboarding.partners.service import PartnerCredentials, create_partner
from onboarding.permissions.service import add_channel

PASSWORD = "correct horse battery"
REDIRECT_URL = "https://partner.example/onboarding/callback"

_numbers = itertools.count(1)
_names = itertools.count(1)


@dataclass
class PartnerWithSecrets:
    partner: Partner
    credentials: PartnerCredentials


def make_partner(
    session: Session,
    *,
    billing: BillingModel = BillingModel.DIRECT_PAYMENT,
    redirect_urls: list[str] | None = None,
    webhook_url: str | None = None,
    sandbox: bool = False,
) -> Partner:
    n = next(_names)
    partner, _credentials = create_partner(
        session,
        name=f"Partner {n} GmbH",
        brand_name=f"Partner {n}",
        billing_model=billing,
        redirect_urls=[REDIRECT_URL] if redirect_urls is None else redirect_urls,
        webhook_url=webhook_url,
        sandbox=sandbox,
    )
    session.flush()
    return partner


def make_client(
    session: Session, partner: Partner, *, email: str | None = None, password: str = PASSWORD
) -> tuple[Client, ClientUser]:
    n = next(_names)
    return create_client(
        session,
        partner,
        name=f"Client {n}",
        login=new_login(email or f"user{n}@client{n}.example", password),
        actor="test",
    )


def new_number() -> str:
    """A valid, unique German mobile number in E.164."""
    return f"+49151{next(_numbers):08d}"


def make_channel(
    session: Session, client: Client, *, status: ChannelStatus = ChannelStatus.RUNNING
) -> Channel:
    number = new_number()
    return add_channel(session, client, number, f"Line {number[-4:]}", actor="test", status=status)


@dataclass
class ClientAccount:
    """A partner, one of its clients with a user who can log in, and the client's channels."""

    partner: Partner
    customer: Client
    user: ClientUser
    channels: list[Channel]

    @property
    def ids(self) -> list[str]:
        return [channel.public_id for channel in self.channels]


def make_client_account(
    session: Session,
    *,
    running: int = 2,
    pending: int = 0,
    billing: BillingModel = BillingModel.DIRECT_PAYMENT,
    redirect_urls: list[str] | None = None,
    webhook_url: str | None = None,
    partner: Partner | None = None,
) -> ClientAccount:
    """A client of a new partner (or of `partner`) with `running` running numbers, then
    `pending` pending ones; committed, as the hubs see only what is committed."""
    partner = partner or make_partner(
        session, billing=billing, redirect_urls=redirect_urls, webhook_url=webhook_url
    )
    customer, user = make_client(session, partner)
    statuses = [ChannelStatus.RUNNING] * running + [ChannelStatus.PENDING] * pending
    channels = [make_channel(session, customer, status=status) for status in statuses]
    session.commit()
    return ClientAccount(partner, customer, user, channels)
