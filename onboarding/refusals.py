"""The words of the domain's refusals: one English text per stable code.

The domain raises a code (`InvalidInput("phone.no_plus")`); `str(error)` is the English text
below, which the API, the CLI and the logs use, and `pages.worded(error)` gives the screens the
same text from the reader's catalog. `N_` only marks a text for `make messages`.
"""

from __future__ import annotations


def N_(text: str) -> str:
    """gettext's customary name for "mark for translation; translate when shown"."""
    return text


TEXTS: dict[str, str] = {
    # Numbers (the signup's numbers step, the Client Hub, the API)
    "phone.no_plus": N_("Enter the number with its country code, starting with +."),
    "phone.not_a_number": N_("This is not a phone number."),
    "phone.invalid": N_("This is not a valid phone number for its country."),
    "number.added_already": N_("You have added this number already."),
    "channel.foreign": N_("One of the selected numbers does not belong to your account."),
    # Removing or correcting a number (the signup's numbers step; permissions/removal.py)
    "number.not_found": N_("This number is not in your account."),
    "number.has_key": N_(
        "This number has a working API key, so it stays. Ask your partner to remove it."
    ),
    "number.running": N_(
        "This number is already connected to WhatsApp, so it stays. Ask your partner to remove it."
    ),
    "number.shared": N_(
        "You share this number with your partner, so it stays. "
        "To stop sharing it, untick it on the next step."
    ),
    # Accounts
    "client.name": N_("Enter your company's name (up to 200 characters)."),
    "email.may_exist": N_(
        "An account with this email may already exist: log in, or use another address."
    ),
    "email.invalid": N_("This email address is not valid: %(reason)s"),
    "password.length": N_("Choose a password of %(min)s to %(max)s characters."),
    "password.common": N_(
        "This password is one of the most common ones, which are tried first: choose another."
    ),
    "login.too_many": N_("Too many failed attempts. Try again in %(minutes)s min."),
    "password.current_wrong": N_("Your current password is not right."),
    "password.same": N_("Choose a password other than your current one."),
    # Rate limits: per client address (onboarding/limits.py), the account pages' mails and
    # password checks (accounts/limits.py)
    "limit.address": N_("Too many requests from your address. Try again in %(minutes)s min."),
    "limit.account": N_("Too many requests. Try again in %(minutes)s min."),
    # Links mailed for the accounts: password reset, e-mail verification, invitations
    "link.invalid": N_("This link is not valid."),
    "link.expired": N_("This link has expired."),
    "link.used": N_(
        "This link has been used already, or the password was changed since it was sent."
    ),
    "invite.invalid": N_("This invitation link is not valid."),
    "invite.accepted": N_("This invitation has been accepted already. Log in instead."),
    "invite.withdrawn": N_("This invitation was withdrawn. Ask the owner for a new one."),
    "invite.expired": N_("This invitation has expired. Ask the owner for a new one."),
    "invite.email_has_login": N_(
        "This address has a Partner Hub login already (one address can belong to one partner "
        "only). Ask for an invitation to another address."
    ),
    # The permission request (flow token)
    "flow.invalid": N_("This permission request is not valid."),
    "flow.expired": N_("This permission request has expired."),
    "flow.answered": N_("This permission request was already answered."),
    "flow.partner_gone": N_("This partner does not exist any more."),
    # Channel API keys (R6-R8): who may generate them now (permissions/keys.py)
    "key.with_partner": N_(  # R7, word for word
        "API keys are disabled for this number. The number was shared with your integration"
        " partner. With your permission the partner has access to the WhatsApp Business API on"
        " your behalf. To manage permissions go to “Organization Settings” or contact your"
        " partner."
    ),
    "key.not_shared": N_(
        "The client has not shared this number with you. Ask for permission first."
    ),
    "key.pending_for_client": N_(
        "This number is still being connected to WhatsApp: API keys can be generated once it is"
        " running. If this takes long, contact %(brand)s."
    ),
    "key.pending_for_partner": N_(
        "This number is still pending: it can get API keys once it is connected to WhatsApp."
        " The hub's operator marks it running (onboarding set-status %(channel)s running, or PUT"
        " /ops/v1/channels/%(channel)s/status); a channel.status_changed event tells you when."
    ),
}
