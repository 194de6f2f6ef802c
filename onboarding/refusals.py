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
    # The Partner Hub: objects named in a URL or form, looked up within the user's own partner
    "client.unknown": N_("There is no such client among yours."),
    "channel.unknown": N_("This client has no such number."),
    "channel.not_this_clients": N_("A channel id is not one of this client's numbers."),
    "channel.not_your_clients": N_("A channel id is not one of your clients' numbers."),
    "form.incomplete": N_("The form was not complete. Reload the page and try again."),
    "form.changed_meanwhile": N_(
        "This changed at the same moment elsewhere. Reload and try again."
    ),
    "login.wrong": N_("Wrong email or password."),
    # Partner settings and credentials (the Partner Hub, the API, the CLI)
    "partner.name": N_("A partner needs a name."),
    "partner.owner_only": N_("Only an owner of your partner account can do this."),
    "partner.role": N_("A partner user's role is owner or member."),
    "partner.email_taken": N_("A partner user with this email exists already."),
    "redirect_url.registered_already": N_("This redirect URL is registered already."),
    "redirect_url.unknown": N_("This redirect URL is not registered."),
    "api_key.unknown": N_("No such API key."),
    "oauth_client.unknown": N_("No such OAuth client."),
    # Redirect and webhook URLs (partners/redirects.py)
    "redirect_url.callback_budget": N_(
        "A redirect URL is at most %(max)s characters, so that every callback fits in "
        "%(budget)s bytes."
    ),
    "redirect_url.callback_params": N_(
        "A redirect URL's query may not use the callback's parameters: %(names)s."
    ),
    "redirect_url.too_long": N_("A redirect URL is at most %(max)s characters."),
    "redirect_url.characters": N_(
        "A redirect URL has no spaces, control characters or backslashes."
    ),
    "redirect_url.unparsable": N_("A redirect URL that cannot be parsed: %(url)s"),
    "redirect_url.https": N_("A redirect URL must use https (http only for localhost)."),
    "redirect_url.absolute": N_("A redirect URL must be an absolute https URL."),
    "redirect_url.fragment": N_("A redirect URL has no fragment (#)."),
    "redirect_url.userinfo": N_("A redirect URL has no user name or password."),
    "redirect_url.port": N_("A redirect URL needs a valid port."),
    "redirect_url.encoded": N_("Register the URL in its encoded form: %(url)s"),
    "webhook_url.too_long": N_("A webhook URL is at most %(max)s characters."),
    "webhook_url.characters": N_("A webhook URL has no spaces, control characters or backslashes."),
    "webhook_url.unparsable": N_("A webhook URL that cannot be parsed: %(url)s"),
    "webhook_url.https": N_("A webhook URL must use https (http only for localhost)."),
    "webhook_url.absolute": N_("A webhook URL must be an absolute https URL."),
    "webhook_url.fragment": N_("A webhook URL has no fragment (#)."),
    "webhook_url.userinfo": N_("A webhook URL has no user name or password."),
    "webhook_url.port": N_("A webhook URL needs a valid port."),
    "webhook_url.encoded": N_("Register the URL in its encoded form: %(url)s"),
    "webhook_url.not_public": N_(
        "A webhook URL must point to a public internet host, not to a loopback, private, "
        "link-local or otherwise internal address."
    ),
    # Webhooks
    "webhook.no_url_for_test": N_("Set a webhook URL before sending a test event."),
    "webhook.overlap_negative": N_("The overlap cannot be negative."),
    "delivery.unknown": N_(
        "No webhook delivery %(id)s: the delivery log (webhooks/deliveries) lists yours."
    ),
    "delivery.pending": N_(
        "The delivery %(id)s is still pending: the hub attempts it again at next_attempt_at. "
        "Redeliver it once it is delivered or failed."
    ),
    "delivery.no_url": N_(
        "You have no webhook URL: set one (PATCH /api/v1/partners/{partner_id} webhook_url, or "
        "the Partner Hub's Settings), then redeliver."
    ),
    # The team (partners/team.py)
    "team.role": N_("A role is owner or member."),
    "team.choose_role": N_("Choose owner or member."),
    "team.no_person": N_("There is no such person on your team."),
    "team.email_invalid": N_("This email address is not valid: %(reason)s"),
    "team.on_team_already": N_("%(email)s is on your team already."),
    "team.invite_pending": N_(
        "An invitation to %(email)s is pending already. Revoke it to send a new one."
    ),
    "team.no_invitation": N_("There is no such invitation."),
    "team.invitation_spent": N_("This invitation was accepted, revoked or has expired already."),
    "team.last_owner": N_(
        "Your partner account needs at least one owner: make someone else an owner first."
    ),
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
