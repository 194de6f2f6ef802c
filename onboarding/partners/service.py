"""Creating partners and their staff and credentials."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from onboarding.accounts import check_new_login
from onboarding.errors import Conflict, InvalidInput
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
) -> tuple[Partner, PartnerCredentials]:
    name = name.strip()
    if not name:
        raise InvalidInput("A partner needs a name.")
    partner = Partner(
        name=name,
        brand_name=(brand_name or name).strip(),
        billing_model=BillingModel(billing_model),
        webhook_url=check_webhook_url(webhook_url) if webhook_url else None,
        signing_secret=new_signing_secret(),
    )
    session.add(partner)
    for url in redirect_urls:
        add_redirect_url(partner, url)
    session.flush()
    return partner, issue_credentials(session, partner)


def add_redirect_url(partner: Partner, url: str) -> None:
    check_redirect_url(url)
    if url in [registered.url for registered in partner.redirect_urls]:
        raise Conflict("This redirect URL is registered already.")
    partner.redirect_urls.append(PartnerRedirectUrl(url=url, position=len(partner.redirect_urls)))


def issue_credentials(session: Session, partner: Partner) -> PartnerCredentials:
    api_key = issue_secret("obk")
    session.add(PartnerApiKey(partner_id=partner.id, prefix=api_key.prefix, key_hash=api_key.hash))
    client_id = f"oc_{secrets.token_urlsafe(12)}"
    client_secret = issue_secret("ocs")
    session.add(
        OAuthClient(partner_id=partner.id, client_id=client_id, secret_hash=client_secret.hash)
    )
    return PartnerCredentials(
        api_key=api_key.value, oauth_client_id=client_id, oauth_client_secret=client_secret.value
    )


def create_partner_user(
    session: Session, partner: Partner, *, email: str, password: str, role: str = "member"
) -> PartnerUser:
    if role not in ("owner", "member"):
        raise InvalidInput("A partner user's role is owner or member.")
    email = check_new_login(email, password)
    taken = session.scalar(select(func.count()).where(PartnerUser.email == email))
    if taken:
        raise Conflict("A partner user with this email exists already.")
    user = PartnerUser(
        partner_id=partner.id, email=email, password_hash=hash_password(password), role=role
    )
    session.add(user)
    session.flush()
    return user


def find_partner(session: Session, public_id: str) -> Partner | None:
    return session.scalar(select(Partner).where(Partner.public_id == public_id))


SETTINGS = ("redirect_urls", "webhook_url", "billing_model", "brand_name")


def update_settings(session: Session, partner: Partner, changes: dict[str, Any]) -> None:
    """Apply a partial update of the partner's integration settings, all or nothing.

    A new billing model applies to channels created afterwards (R2); existing grants stay.
    """
    unknown = set(changes) - set(SETTINGS)
    if unknown:
        raise InvalidInput(f"Unknown settings: {', '.join(sorted(unknown))}.")
    if "redirect_urls" in changes:
        urls = changes["redirect_urls"]
        if not isinstance(urls, list) or not all(isinstance(url, str) for url in urls):
            raise InvalidInput("redirect_urls is a list of URLs.")
        if len(set(urls)) != len(urls):
            raise InvalidInput("redirect_urls lists a URL twice.")
        for url in urls:
            check_redirect_url(url)
        kept = {entry.url: entry for entry in partner.redirect_urls}
        partner.redirect_urls = [kept.get(url) or PartnerRedirectUrl(url=url) for url in urls]
        for position, entry in enumerate(partner.redirect_urls):
            entry.position = position
    if "webhook_url" in changes:
        url = changes["webhook_url"]
        if url is not None and not isinstance(url, str):
            raise InvalidInput("webhook_url is a URL or null.")
        partner.webhook_url = check_webhook_url(url) if url else None
    if "billing_model" in changes:
        try:
            partner.billing_model = BillingModel(changes["billing_model"])
        except ValueError:
            raise InvalidInput("billing_model is partner_payment or direct_payment.") from None
    if "brand_name" in changes:
        brand = changes["brand_name"]
        if not isinstance(brand, str) or not 1 <= len(brand.strip()) <= 200:
            raise InvalidInput("brand_name is 1 to 200 characters.")
        partner.brand_name = brand.strip()
    session.flush()
