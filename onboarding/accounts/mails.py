"""The mails the account pages send, each queued to go out when the transaction commits."""

from __future__ import annotations

from sqlalchemy.orm import Session

from onboarding import mail
from onboarding.accounts import service
from onboarding.accounts.tokens import RESET_MAX_AGE, Kind
from onboarding.mail import Delivery
from onboarding.models import ClientUser, PartnerUser

FORGOT_ENDPOINTS: dict[Kind, str] = {
    "client": "accounts.forgot_password",
    "partner": "accounts.forgot_partner_password",
}


def password_reset(
    session: Session,
    kind: Kind,
    email: str,
    user: ClientUser | PartnerUser | None,
    flow: str | None,
) -> Delivery:
    """The reset link to a user; to an address without an account, a mail that says so. Both
    cost the same work (a token, two templates, one SMTP conversation), so neither the answer,
    nor its timing, nor a failing mail server tells whether an account has the address."""
    extra = {"flow": flow} if flow and kind == "client" else {}
    if user is not None:
        link = mail.absolute_url(
            "accounts.reset_password", token=service.reset_token(user), **extra
        )
        message = mail.compose(
            "password_reset", user.email, kind=kind, link=link, minutes=RESET_MAX_AGE // 60
        )
    else:
        service.unused_reset_token(kind)
        message = mail.compose(
            "password_reset_unknown",
            email,
            kind=kind,
            email=email,
            link=mail.absolute_url(FORGOT_ENDPOINTS[kind], **extra),
        )
    return mail.send_after_commit(session, message, "password_reset")


def verification(session: Session, user: ClientUser) -> Delivery:
    link = mail.absolute_url("accounts.verify_email", token=service.verify_token(user))
    message = mail.compose("verify_email", user.email, client=user.client, link=link)
    return mail.send_after_commit(session, message, "verify_email")
