"""Creating partners and their staff and credentials."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from onboarding.accounts import check_new_login
from onboarding.db import Prepared, Source, utcnow
from onboarding.errors import Conflict, InvalidInput, NotAllowed, NotFound
from onboarding.models import (
    BillingModel,
    OAuthClient,
    Partner,
    PartnerApiKey,
    PartnerRedirectUrl,
    PartnerUser,
)
from onboarding.partners.redirects import check_redirect_url, check_webhook_url
from onboarding.security import hash_password, issue_secret, new_signing_secret


@dataclass(frozen=True)
class PartnerCredentials:
    """Everything a new partner needs once; nothing here can be shown again except the secret."""

    api_key: str
    oauth_client_id: str
    oauth_client_secret: str


def create_partner(
    session: Session,
    *,
    name: str,
    billing_model: BillingModel,
    brand_name: str | None = None,
    redirect_urls: Sequence[str] = (),
    webhook_url: str | None = None,
    sandbox: bool = False,
) -> tuple[Partner, PartnerCredentials]:
    """A partner and its first credentials. A sandbox partner (R9) integrates before any number
    is real: its clients' numbers run as soon as they are added (permissions.service.add_channel),
    and every screen that names it says "Sandbox". Only the operator sets it, here."""
    name = name.strip()
    if not name:
        raise InvalidInput("partner.name")
    partner = Partner(
        name=name,
        brand_name=(brand_name or name).strip(),
        billing_model=BillingModel(billing_model),
        webhook_url=check_webhook_url(webhook_url) if webhook_url else None,
        signing_secret=new_signing_secret(),
        sandbox=sandbox,
    )
    session.add(partner)
    for url in redirect_urls:
        add_redirect_url(partner, url)
    session.flush()
    return partner, issue_credentials(session, partner)


def add_redirect_url(partner: Partner, url: str) -> None:
    check_redirect_url(url)
    if url in [registered.url for registered in partner.redirect_urls]:
        raise Conflict("redirect_url.registered_already")
    partner.redirect_urls.append(PartnerRedirectUrl(url=url, position=len(partner.redirect_urls)))


def remove_redirect_url(partner: Partner, url: str) -> None:
    """Unregister `url`; the next one moves up (the first is the permission screen's default)."""
    entry = next((entry for entry in partner.redirect_urls if entry.url == url), None)
    if entry is None:
        raise NotFound("redirect_url.unknown")
    partner.redirect_urls.remove(entry)
    for position, kept in enumerate(partner.redirect_urls):
        kept.position = position


def issue_credentials(session: Session, partner: Partner) -> PartnerCredentials:
    _key, api_key = issue_api_key(session, partner)
    oauth_client, client_secret = create_oauth_client(session, partner)
    return PartnerCredentials(
        api_key=api_key,
        oauth_client_id=oauth_client.client_id,
        oauth_client_secret=client_secret,
    )


def create_partner_user(
    session: Session, partner: Partner, *, email: str, password: str, role: str = "member"
) -> PartnerUser:
    if role not in ("owner", "member"):
        raise InvalidInput("partner.role")
    email = check_new_login(email, password)
    taken = session.scalar(select(func.count()).where(PartnerUser.email == email))
    if taken:
        raise Conflict("partner.email_taken")
    user = PartnerUser(
        partner_id=partner.id, email=email, password_hash=hash_password(password), role=role
    )
    session.add(user)
    session.flush()
    return user


def lock_partner(session: Session, partner: Partner, *attributes: str) -> None:
    """Hold the partner's row until the transaction ends, then read `attributes` afresh, for a
    change that starts from what is stored (a list to merge, a secret to keep as the previous
    one): two such changes at once then take turns instead of one undoing the other.

    FOR NO KEY UPDATE, the lock `permissions.events.record` takes too: rows inserted that
    reference the partner (FOR KEY SHARE) do not wait for it. SQLite: the write lock is held
    from BEGIN IMMEDIATE on (`onboarding.db`).
    """
    session.flush()
    session.execute(
        select(Partner.id).where(Partner.id == partner.id).with_for_update(key_share=True)
    )
    session.refresh(partner, list(attributes))


def find_partner(session: Session, public_id: str) -> Partner | None:
    return session.scalar(select(Partner).where(Partner.public_id == public_id))


class PartnerCard(NamedTuple):
    """What the screens show of a partner (its banner, logo, sandbox badge): one row, no ORM
    object."""

    id: int
    public_id: str
    brand_name: str
    logo_url: str | None
    website: str | None
    sandbox: bool


# The card's columns, in its fields' order: a query selecting them reads rows into a PartnerCard.
CARD_COLUMNS = tuple(getattr(Partner, field) for field in PartnerCard._fields)
_CARD = Prepared(select(*CARD_COLUMNS).where(Partner.public_id == bindparam("public_id")))


def partner_card(source: Source, public_id: str) -> PartnerCard | None:
    row = _CARD.first(source, public_id=public_id)
    return PartnerCard(*row) if row is not None else None


SETTINGS = ("redirect_urls", "webhook_url", "brand_name")
# Commercial terms, set by the hub's operator (R2): a partner that could set its own billing model
# could grant itself default permission to every new number of its clients.
READ_ONLY = ("billing_model", "sandbox")


def read_only_refusal(changes: dict[str, Any]) -> str | None:
    """Why `changes` may not be applied by the partner: fields only the operator sets (R2)."""
    read_only = [name for name in READ_ONLY if name in changes]
    if not read_only:
        return None
    one = len(read_only) == 1
    return (
        f"{' and '.join(read_only)} {'is' if one else 'are'} read-only here: only the hub's "
        f"operator changes {'it' if one else 'them'} (ask the operator)."
    )


@dataclass(frozen=True)
class SettingsChange:
    """A partial update of a partner's integration settings that passed every check
    (`check_settings`): the fields sent, their values ready to store."""

    fields: dict[str, Any]


def check_settings(changes: dict[str, Any]) -> SettingsChange:
    """Check a partial update, all of it, without the database. It may look a webhook host up
    (`check_webhook_url`), so call it with no transaction open."""
    if refusal := read_only_refusal(changes):
        raise InvalidInput(refusal)
    unknown = set(changes) - set(SETTINGS)
    if unknown:
        raise InvalidInput(f"Unknown settings: {', '.join(sorted(unknown))}.")
    fields: dict[str, Any] = {}
    if "webhook_url" in changes:
        url = changes["webhook_url"]
        if url == "" or (url is not None and not isinstance(url, str)):
            raise InvalidInput("webhook_url is a URL, or null to remove it.")
        fields["webhook_url"] = check_webhook_url(url) if url else None
    if "redirect_urls" in changes:
        urls = changes["redirect_urls"]
        if not isinstance(urls, list) or not all(isinstance(url, str) for url in urls):
            raise InvalidInput("redirect_urls is a list of URLs.")
        if len(set(urls)) != len(urls):
            raise InvalidInput("redirect_urls lists a URL twice.")
        fields["redirect_urls"] = [check_redirect_url(url) for url in urls]
    if "brand_name" in changes:
        brand = changes["brand_name"]
        if not isinstance(brand, str) or not 1 <= len(brand.strip()) <= 200:
            raise InvalidInput("brand_name is 1 to 200 characters.")
        fields["brand_name"] = brand.strip()
    return SettingsChange(fields)


def update_settings(session: Session, partner: Partner, change: SettingsChange) -> None:
    """Apply a checked partial update of the partner's integration settings."""
    fields = change.fields
    if "webhook_url" in fields:
        partner.webhook_url = fields["webhook_url"]
    if "redirect_urls" in fields:
        # Two lists sent at once would each update or delete rows the other had just replaced
        # (a 500 on PostgreSQL): start from the list as it is once it is ours.
        lock_partner(session, partner, "redirect_urls")
        kept = {entry.url: entry for entry in partner.redirect_urls}
        partner.redirect_urls = [
            kept.get(url) or PartnerRedirectUrl(url=url) for url in fields["redirect_urls"]
        ]
        for position, entry in enumerate(partner.redirect_urls):
            entry.position = position
    if "brand_name" in fields:
        partner.brand_name = fields["brand_name"]
    session.flush()


def set_billing_model(session: Session, partner: Partner, model: str) -> bool:
    """The operator sets a partner's billing model (R2); False when it is that already.

    It decides the default permission of channels created afterwards; existing grants, and
    their absence, stay as they are.
    """
    try:
        new = BillingModel(model)
    except ValueError:
        raise InvalidInput("billing_model is partner_payment or direct_payment.") from None
    if partner.billing_model == new:
        return False
    partner.billing_model = new
    session.flush()
    return True


# -- partner users: logins and roles ------------------------------------------------------------


def may_administer(user: PartnerUser) -> bool:
    """Owners manage the team and the integration's credentials and URLs; members use them
    (clients, channel keys, permission links, logs). A leaked member login then cannot
    redirect clients elsewhere, reroute webhooks or mint partner credentials."""
    return user.role == "owner"


def require_owner(user: PartnerUser) -> None:
    if not may_administer(user):
        raise NotAllowed("partner.owner_only")


# Invitations, removals and roles: onboarding/partners/team.py.


def team(session: Session, partner: Partner) -> list[PartnerUser]:
    """The partner's users, owners first, then in the order they joined."""
    return list(
        session.scalars(
            select(PartnerUser)
            .where(PartnerUser.partner_id == partner.id)
            .order_by(PartnerUser.role.desc(), PartnerUser.id)
        )
    )


# -- Partner API credentials: shown once, stored as hashes, revocable ----------------------------


def api_keys(session: Session, partner: Partner) -> list[PartnerApiKey]:
    """The partner's API keys (metadata only), newest first."""
    return list(
        session.scalars(
            select(PartnerApiKey)
            .where(PartnerApiKey.partner_id == partner.id)
            .order_by(PartnerApiKey.id.desc())
        )
    )


def issue_api_key(session: Session, partner: Partner) -> tuple[PartnerApiKey, str]:
    """A new Partner API key and its value, which exists only in this return value."""
    secret = issue_secret("obk")
    key = PartnerApiKey(partner_id=partner.id, prefix=secret.prefix, key_hash=secret.hash)
    session.add(key)
    session.flush()
    return key, secret.value


def revoke_api_key(session: Session, partner: Partner, public_id: str) -> PartnerApiKey:
    """Revoke one of the partner's own keys (NotFound for any other); revoking twice keeps the
    first revocation time."""
    key = session.scalar(
        select(PartnerApiKey).where(
            PartnerApiKey.public_id == public_id, PartnerApiKey.partner_id == partner.id
        )
    )
    if key is None:
        raise NotFound("api_key.unknown")
    key.revoked_at = key.revoked_at or utcnow()
    session.flush()
    return key


def oauth_clients(session: Session, partner: Partner) -> list[OAuthClient]:
    """The partner's OAuth clients (never their secrets), newest first."""
    return list(
        session.scalars(
            select(OAuthClient)
            .where(OAuthClient.partner_id == partner.id)
            .order_by(OAuthClient.id.desc())
        )
    )


def create_oauth_client(session: Session, partner: Partner) -> tuple[OAuthClient, str]:
    """A new client-credentials pair; the secret exists only in this return value."""
    secret = issue_secret("ocs")
    client = OAuthClient(
        partner_id=partner.id, client_id=f"oc_{secrets.token_urlsafe(12)}", secret_hash=secret.hash
    )
    session.add(client)
    session.flush()
    return client, secret.value


def revoke_oauth_client(session: Session, partner: Partner, client_id: str) -> OAuthClient:
    """Revoke one of the partner's own OAuth clients. Its access tokens stop working at once:
    the token check looks at the client's revocation too (partner_api/oauth.py)."""
    client = session.scalar(
        select(OAuthClient).where(
            OAuthClient.client_id == client_id, OAuthClient.partner_id == partner.id
        )
    )
    if client is None:
        raise NotFound("oauth_client.unknown")
    client.revoked_at = client.revoked_at or utcnow()
    session.flush()
    return client
