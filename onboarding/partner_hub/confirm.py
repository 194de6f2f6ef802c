"""Ask first, name the consequence: the GET side of the Partner Hub's irreversible settings.

Removing a redirect URL, revoking a Partner API key or an OAuth client and rotating the signing
secret each open a page (GET, owners only, the object looked up within the user's own partner)
that says what will happen, in the words of what the code does; its button POSTs (CSRF) the
action itself, which settings.py performs. Nothing here changes anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from onboarding import i18n
from onboarding.db import get_session, utcnow
from onboarding.errors import NotFound
from onboarding.models import PartnerUser
from onboarding.partner_hub import bp
from onboarding.partner_hub.access import login_required, owner_required
from onboarding.partner_hub.forms import EmptyForm
from onboarding.partners import service as partners
from onboarding.webhooks.service import DEFAULT_OVERLAP


@dataclass(frozen=True)
class Confirmation:
    title: str
    consequences: list[str]  # what happens, one sentence each
    button: str
    action: str  # where the button POSTs
    back: str  # where Cancel leads
    fields: dict[str, str] = field(default_factory=dict)  # hidden fields the POST needs


def _ask(
    title: str,
    consequences: list[str],
    *,
    button: str,
    action: str,
    section: str,
    fields: dict[str, str] | None = None,
) -> ResponseReturnValue:
    """The one confirmation page: its button POSTs `action`; Cancel returns to the settings
    page at `section`."""
    back = url_for("partner_hub.settings", _anchor=section)
    confirmation = Confirmation(title, consequences, button, action, back, fields or {})
    return render_template("partner_hub/confirm.html", ask=confirmation, form=EmptyForm())


@bp.get("/settings/redirect-urls/remove")
@login_required
@owner_required
def confirm_remove_redirect_url(user: PartnerUser) -> ResponseReturnValue:
    url = request.args.get("url", "")
    registered = [entry.url for entry in user.partner.redirect_urls]
    if url not in registered:
        raise NotFound("redirect_url.unknown")
    consequences = [
        _(
            "Clients sent back to %(url)s will see an error page: permission links that name "
            "it stop working, and a client answering such a request right now gets “Nothing "
            "was changed”.",
            url=url,
        )
    ]
    if len(registered) == 1:
        consequences.append(
            _(
                "It is your only redirect URL: the permission screen refuses every request "
                "until you add one."
            )
        )
    elif registered[0] == url:
        consequences.append(
            _(
                "It is your default: links without a redirect_url send clients to %(next)s "
                "instead.",
                next=registered[1],
            )
        )
    return _ask(
        _("Remove this redirect URL?"),
        consequences,
        button=_("Remove redirect URL"),
        action=url_for("partner_hub.remove_redirect_url"),
        section="redirect-urls",
        fields={"url": url},
    )


@bp.get("/settings/api-keys/<key_id>/revoke")
@login_required
@owner_required
def confirm_revoke_api_key(user: PartnerUser, key_id: str) -> ResponseReturnValue:
    keys = partners.api_keys(get_session(), user.partner)
    key = next((k for k in keys if k.public_id == key_id and k.revoked_at is None), None)
    if key is None:
        raise NotFound("api_key.unknown")
    consequences = [
        _(
            "Integrations using key %(prefix)s… stop working at once: the Partner API answers "
            "them 401.",
            prefix=key.prefix,
        ),
        _("This cannot be undone; a new key is a new secret to deploy."),
    ]
    if not any(k.revoked_at is None and k.id != key.id for k in keys):
        consequences.append(_("It is your last active API key."))
    return _ask(
        _("Revoke API key %(prefix)s…?", prefix=key.prefix),
        consequences,
        button=_("Revoke API key"),
        action=url_for("partner_hub.revoke_api_key", key_id=key.public_id),
        section="api-keys",
    )


@bp.get("/settings/oauth-clients/<client_id>/revoke")
@login_required
@owner_required
def confirm_revoke_oauth_client(user: PartnerUser, client_id: str) -> ResponseReturnValue:
    clients = partners.oauth_clients(get_session(), user.partner)
    found = next((c for c in clients if c.client_id == client_id and c.revoked_at is None), None)
    if found is None:
        raise NotFound("oauth_client.unknown")
    consequences = [
        _(
            "Its access tokens stop working at once, and POST /api/v1/token refuses its secret: "
            "integrations using %(id)s get 401.",
            id=found.client_id,
        ),
        _("This cannot be undone; a new client has a new id and secret."),
    ]
    return _ask(
        _("Revoke OAuth client %(id)s?", id=found.client_id),
        consequences,
        button=_("Revoke OAuth client"),
        action=url_for("partner_hub.revoke_oauth_client", client_id=found.client_id),
        section="oauth-clients",
    )


@bp.get("/settings/signing-secret")
@login_required
@owner_required
def confirm_rotate_signing_secret(user: PartnerUser) -> ResponseReturnValue:
    at_once = request.args.get("at_once") in ("y", "1", "on")
    until = utcnow() + DEFAULT_OVERLAP
    consequences = [
        _(
            "Permission callbacks are signed with the new secret at once: update your callback "
            "check before you rotate, or callbacks fail it from now on."
        )
    ]
    if at_once:
        consequences.append(
            _(
                "Webhooks and signed permission links stop using the current secret at once: "
                "links you made with it stop working and webhooks are verified with the new "
                "secret only."
            )
        )
    else:
        consequences.append(
            _(
                "The current secret stays valid for the overlap, until %(until)s: webhooks carry "
                "a second signature with it, and links signed with it keep working.",
                until=i18n.when(until),
            )
        )
    previous_until = user.partner.previous_signing_secret_until
    if previous_until and previous_until > utcnow():
        consequences.append(
            _("The secret before the current one, still in its overlap, stops working at once.")
        )
    consequences.append(_("The new secret is shown once, on the next page."))
    return _ask(
        _("Rotate the signing secret?"),
        consequences,
        button=_("Rotate signing secret"),
        action=url_for("partner_hub.rotate_signing_secret"),
        section="webhooks",
        fields={"at_once": "y"} if at_once else None,
    )
