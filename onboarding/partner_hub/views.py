"""Logging in and out, clients and their channel keys, activity, webhook log. The team is in
`team.py`, the user's own account in `account.py`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from onboarding.auth.session import current_partner_user, log_in, log_out
from onboarding.auth.throttle import TooManyAttempts, attempt_login
from onboarding.clients.numbers import from_args
from onboarding.clients.service import verified_clients
from onboarding.consent.links import permission_link
from onboarding.db import get_session
from onboarding.errors import DomainError, InvalidInput
from onboarding.labels import event_label
from onboarding.models import ApiKey, Channel, Client, PartnerUser, Side
from onboarding.pages import word, worded
from onboarding.partner_hub import bp
from onboarding.partner_hub.access import (
    login_required,
    own_channel,
    own_client,
    refusal_page,
)
from onboarding.partner_hub.forms import EmptyForm, LoginForm
from onboarding.partner_hub.queries import activity, find_clients, number_counts, webhook_log
from onboarding.partners.service import may_administer
from onboarding.permissions.keys import generate_api_key, live_keys, refusal
from onboarding.permissions.service import is_shared
from onboarding.phones import readable
from onboarding.webhooks import deliveries

MAX_PAGE = 10_000  # deeper than any real list; keeps OFFSET bounded


@bp.errorhandler(DomainError)
def _refused(error: DomainError) -> ResponseReturnValue:
    return refusal_page(error)


@bp.after_request
def _no_store(response: Any) -> Any:
    # Hub pages show credentials and clients' data: no cache may keep them, and shown-once
    # secrets must not come back from the back button's cache either.
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.context_processor
def _layout() -> dict[str, Any]:
    user = current_partner_user()
    return {
        "hub_user": user,
        "may_administer": may_administer(user) if user else False,
        "logout_form": EmptyForm(),
        "event_label": event_label,
    }


def _page_number() -> int:
    return min(max(request.args.get("page", 1, type=int) or 1, 1), MAX_PAGE)


def check_form(form: EmptyForm) -> None:
    """A bare button's form: only its CSRF token can be wrong, and CSRFProtect refuses that
    first; checked anyway so that no POST is ever handled without its form."""
    if not form.validate_on_submit():
        raise InvalidInput("form.incomplete")


# -- logging in and out ---------------------------------------------------------------------------


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    if request.method == "GET" and current_partner_user() is not None:
        return redirect(url_for("partner_hub.clients"), 303)
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        session = get_session()
        try:
            user = attempt_login(session, PartnerUser, form.email.data, form.password.data)
        except TooManyAttempts as refused:
            form.password.errors.append(worded(refused))
            page = render_template("partner_hub/login.html", form=form)
            return page, 429, {"Retry-After": str(refused.retry_after)}
        if user is not None:
            log_in(user)
            session.commit()  # the login session, and a rehashed password if due
            flash(_("Logged in as %(email)s.", email=user.email), "success")
            return redirect(url_for("partner_hub.clients"), 303)
        form.password.errors.append(word("login.wrong"))
        status = 401
    elif form.is_submitted():
        status = 400
    return render_template("partner_hub/login.html", form=form), status


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    check_form(EmptyForm())
    log_out()
    get_session().commit()
    flash(_("You are logged out."), "info")
    return redirect(url_for("partner_hub.login"), 303)


@bp.get("/")
@login_required
def home(user: PartnerUser) -> ResponseReturnValue:
    return redirect(url_for("partner_hub.clients"), 303)


# -- clients and their channels -------------------------------------------------------------------


@bp.get("/clients")
@login_required
def clients(user: PartnerUser) -> ResponseReturnValue:
    q = request.args.get("q", "").strip()[:200]
    session = get_session()
    page = find_clients(session, user.partner, q, _page_number())
    counts = number_counts(session, page.items)
    return render_template("partner_hub/clients.html", page=page, q=q, counts=counts)


@dataclass(frozen=True)
class ChannelRow:
    channel: Channel
    shared: bool
    refusal: str | None  # why "Generate API Key" is greyed out; None when it is enabled
    live_key: ApiKey | None  # the key a new one would revoke
    permission_link: str | None  # for a Missing channel: where to send the client


@bp.get("/clients/<client_id>")
@login_required
def client(user: PartnerUser, client_id: str) -> ResponseReturnValue:
    return _client_page(user, own_client(get_session(), user.partner, client_id))


@bp.post("/clients/<client_id>/channels/<channel_id>/api-key")
@login_required
def generate_key(user: PartnerUser, client_id: str, channel_id: str) -> ResponseReturnValue:
    session = get_session()
    found = own_client(session, user.partner, client_id)
    channel = own_channel(session, found, channel_id)
    check_form(EmptyForm())
    new = generate_api_key(
        session, channel, side=Side.PARTNER, actor=f"partner_user:{user.public_id}"
    )
    session.commit()
    flash(
        _(
            "New API key for %(number)s: copy it now, it is shown only once.",
            number=readable(channel.phone_number),
        ),
        "success",
    )
    # Shown once: straight into this response (no-store), never into the session or a flash.
    return _client_page(user, found, new_key=(channel, new.secret), status=201)


def _client_page(
    user: PartnerUser,
    found: Client,
    *,
    new_key: tuple[Channel, str] | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    session = get_session()
    numbers = from_args(session, found.id, request.args)
    keys = live_keys(session, numbers.channels)
    rows = [
        ChannelRow(
            channel=channel,
            shared=is_shared(channel),
            refusal=_why_no_key(channel),
            live_key=keys.get(channel.id),
            permission_link=None if is_shared(channel) else _link_for(user, channel),
        )
        for channel in numbers.channels
    ]
    return render_template(
        "partner_hub/client.html",
        client=found,
        rows=rows,
        numbers=numbers,
        new_key=new_key,
        form=EmptyForm(),
        trail=activity(session, user.partner, client=found, limit=10),
        email_verified=found.id in verified_clients(session, [found]),
    ), status


def _why_no_key(channel: Channel) -> str | None:
    """Why the partner may not generate a key for the number now, in the reader's language."""
    refused = refusal(channel, Side.PARTNER)
    return worded(refused) if refused else None


def _link_for(user: PartnerUser, channel: Channel) -> str | None:
    """A ready permission link asking for this one number; None while the partner has no
    redirect URL registered (the screen would refuse the link)."""
    try:
        return permission_link(user.partner, {"channels": f"[{channel.public_id}]"})
    except InvalidInput:
        return None


# -- activity and webhook deliveries --------------------------------------------------------------


@bp.get("/activity")
@login_required
def activity_log(user: PartnerUser) -> ResponseReturnValue:
    before = request.args.get("before") or None
    trail = activity(get_session(), user.partner, before=before)
    return render_template("partner_hub/activity.html", trail=trail, before=before)


@bp.get("/webhooks")
@login_required
def webhooks(user: PartnerUser) -> ResponseReturnValue:
    page = webhook_log(get_session(), user.partner, _page_number())
    return render_template("partner_hub/webhooks.html", page=page, form=EmptyForm())


@bp.post("/webhooks/<event_id>/resend")
@login_required
def resend_delivery(user: PartnerUser, event_id: str) -> ResponseReturnValue:
    """The API's redelivery (webhooks/deliveries.py): delivered or failed, sent again first."""
    check_form(EmptyForm())
    session = get_session()
    deliveries.redeliver(session, user.partner, event_id)
    session.commit()
    flash(_("Queued to be sent again: its next attempt appears below."), "success")
    return redirect(url_for("partner_hub.webhooks", _anchor=event_id), 303)
