"""Integration settings: partner id, redirect URLs, webhooks and signing secret, Partner API
credentials. Secrets made here are shown once, in the response to the POST that made them, and
never again. The irreversible actions are asked first (`confirm.py`); the permission-link builder
is `links.py`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from flask import flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from wtforms import Field

from onboarding.db import end_reads, get_session, utcnow
from onboarding.errors import Conflict, InvalidInput
from onboarding.models import PartnerUser
from onboarding.pages import word, worded
from onboarding.partner_hub import bp
from onboarding.partner_hub.access import login_required, owner_required
from onboarding.partner_hub.forms import (
    EmptyForm,
    RedirectUrlForm,
    RemoveRedirectUrlForm,
    RotateSecretForm,
    WebhookUrlForm,
)
from onboarding.partner_hub.views import check_form
from onboarding.partners import service as partners
from onboarding.partners.redirects import check_webhook_url
from onboarding.webhooks import service as webhooks


@dataclass(frozen=True)
class Shown:
    """Secrets made by this request, shown on this one page only."""

    title: str
    values: list[tuple[str, str]]  # (label, value)
    note: str


@dataclass
class Forms:
    redirect: RedirectUrlForm = field(default_factory=lambda: RedirectUrlForm(formdata=None))
    webhook: WebhookUrlForm | None = None


@bp.get("/settings")
@login_required
def settings(user: PartnerUser) -> ResponseReturnValue:
    return _settings(user)


def _settings(
    user: PartnerUser,
    *,
    forms: Forms | None = None,
    shown: Shown | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    session = get_session()
    partner = user.partner
    forms = forms or Forms()
    webhook_form = forms.webhook or WebhookUrlForm(formdata=None, webhook_url=partner.webhook_url)
    # After a rotation the old secret still signs webhooks until then (none after "at once").
    old_secret_until = partner.previous_signing_secret_until
    if old_secret_until and old_secret_until <= utcnow():
        old_secret_until = None
    return render_template(
        "partner_hub/settings.html",
        partner=partner,
        redirect_form=forms.redirect,
        webhook_form=webhook_form,
        rotate_form=RotateSecretForm(formdata=None, meta={"csrf": False}),
        button=EmptyForm(formdata=None),
        shown=shown,
        api_keys=partners.api_keys(session, partner),
        oauth_clients=partners.oauth_clients(session, partner),
        old_secret_until=old_secret_until
        if old_secret_until and old_secret_until > utcnow()
        else None,
    ), status


def _back(anchor: str) -> ResponseReturnValue:
    return redirect(url_for("partner_hub.settings", _anchor=anchor), 303)


def _commit_or_explain(field: Field) -> bool:
    """Commit; a refused change (or one that raced another) becomes `field`'s error instead."""
    session = get_session()
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        field.errors.append(word("form.changed_meanwhile"))
        return False
    return True


# -- redirect URLs --------------------------------------------------------------------------------


@bp.post("/settings/redirect-urls")
@login_required
@owner_required
def add_redirect_url(user: PartnerUser) -> ResponseReturnValue:
    form = RedirectUrlForm()
    if form.validate_on_submit():
        try:
            partners.add_redirect_url(user.partner, form.url.data)
        except (InvalidInput, Conflict) as error:
            get_session().rollback()
            form.url.errors.append(worded(error))
        else:
            if _commit_or_explain(form.url):
                flash(_("Registered %(url)s.", url=form.url.data), "success")
                return _back("redirect-urls")
    return _settings(user, forms=Forms(redirect=form), status=400)


@bp.post("/settings/redirect-urls/remove")
@login_required
@owner_required
def remove_redirect_url(user: PartnerUser) -> ResponseReturnValue:
    form = RemoveRedirectUrlForm()
    check_form(form)
    partners.remove_redirect_url(user.partner, form.url.data)
    get_session().commit()
    flash(
        _("Removed %(url)s: clients are no longer sent back there.", url=form.url.data), "success"
    )
    return _back("redirect-urls")


# -- webhooks -------------------------------------------------------------------------------------


@bp.post("/settings/webhook")
@login_required
@owner_required
def set_webhook_url(user: PartnerUser) -> ResponseReturnValue:
    form = WebhookUrlForm()
    if form.validate_on_submit():
        url = (form.webhook_url.data or "").strip() or None
        session = get_session()
        end_reads(session)  # the check may look the host up: no lock held meanwhile
        try:
            checked = check_webhook_url(url) if url else None
        except InvalidInput as error:
            form.webhook_url.errors.append(worded(error))
        else:
            webhooks.set_webhook_url(session, user.partner, checked)
            session.commit()
            flash(_("Webhook URL saved.") if url else _("Webhook URL removed: no events are sent."))
            return _back("webhooks")
    return _settings(user, forms=Forms(webhook=form), status=400)


@bp.post("/settings/webhook/test")
@login_required
def send_test_event(user: PartnerUser) -> ResponseReturnValue:
    check_form(EmptyForm())
    session = get_session()
    webhooks.send_test_event(session, user.partner, f"partner_user:{user.public_id}")
    session.commit()
    flash(_("Test event queued. Its delivery attempts appear below."), "success")
    return redirect(url_for("partner_hub.webhooks"), 303)


@bp.post("/settings/signing-secret")
@login_required
@owner_required
def rotate_signing_secret(user: PartnerUser) -> ResponseReturnValue:
    form = RotateSecretForm()
    check_form(form)
    session = get_session()
    overlap = timedelta(0) if form.at_once.data else webhooks.DEFAULT_OVERLAP
    secret = webhooks.rotate_signing_secret(session, user.partner, overlap=overlap)
    session.commit()
    flash(_("The signing secret was rotated."), "success")
    note = (
        _("Webhooks and callbacks are signed with it from now on; the old secret no longer works.")
        if form.at_once.data
        else _(
            "Callbacks are signed with it from now on; webhooks carry a second signature with "
            "the old secret for 24 hours, so you can switch without missing any."
        )
    )
    shown = Shown(_("New signing secret"), [(_("Signing secret"), secret)], note)
    return _settings(user, shown=shown)


# -- Partner API credentials ----------------------------------------------------------------------


@bp.post("/settings/api-keys")
@login_required
@owner_required
def create_api_key(user: PartnerUser) -> ResponseReturnValue:
    check_form(EmptyForm())
    session = get_session()
    key, secret = partners.issue_api_key(session, user.partner)
    session.commit()
    flash(_("API key %(prefix)s… created.", prefix=key.prefix), "success")
    shown = Shown(
        _("New Partner API key"),
        [(_("API key"), secret)],
        _("Send it as the X-API-Key header. Copy it now: it is shown only once."),
    )
    return _settings(user, shown=shown, status=201)


@bp.post("/settings/api-keys/<key_id>/revoke")
@login_required
@owner_required
def revoke_api_key(user: PartnerUser, key_id: str) -> ResponseReturnValue:
    check_form(EmptyForm())
    key = partners.revoke_api_key(get_session(), user.partner, key_id)
    get_session().commit()
    flash(_("API key %(prefix)s… revoked: it no longer works.", prefix=key.prefix), "success")
    return _back("api-keys")


@bp.post("/settings/oauth-clients")
@login_required
@owner_required
def create_oauth_client(user: PartnerUser) -> ResponseReturnValue:
    check_form(EmptyForm())
    session = get_session()
    client, secret = partners.create_oauth_client(session, user.partner)
    session.commit()
    flash(_("OAuth client %(id)s created.", id=client.client_id), "success")
    shown = Shown(
        _("New OAuth client"),
        [(_("Client id"), client.client_id), (_("Client secret"), secret)],
        _(
            "Exchange them for access tokens at POST /api/v1/token (client credentials). "
            "Copy the secret now: it is shown only once."
        ),
    )
    return _settings(user, shown=shown, status=201)


@bp.post("/settings/oauth-clients/<client_id>/revoke")
@login_required
@owner_required
def revoke_oauth_client(user: PartnerUser, client_id: str) -> ResponseReturnValue:
    check_form(EmptyForm())
    client = partners.revoke_oauth_client(get_session(), user.partner, client_id)
    get_session().commit()
    flash(
        _("OAuth client %(id)s revoked, and its access tokens with it.", id=client.client_id),
        "success",
    )
    return _back("oauth-clients")
