"""The Client Hub: a client's own numbers, its partner's permission, its keys and its activity.

Each view parses, calls the domain, commits, flashes and redirects (303). The one exception is
a new API key: it is rendered straight into the POST's answer (no-store), since a redirect would
have to park the secret in the session cookie, which Flask signs but does not encrypt.
"""

from __future__ import annotations

from flask import Blueprint, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from onboarding import i18n
from onboarding.auth.forms import FlowForm
from onboarding.auth.session import client_user_required, current_client_user
from onboarding.client_hub import messages
from onboarding.client_hub.activity import activity_page
from onboarding.client_hub.forms import (
    ALL,
    SELECTED,
    AddNumberForm,
    ButtonForm,
    ConfirmChangeForm,
    SharingForm,
)
from onboarding.client_hub.present import (
    channel_rows,
    new_number_sharing,
    via_hint,
    via_words,
)
from onboarding.clients.numbers import from_args
from onboarding.db import get_session
from onboarding.errors import DomainError, ForeignChannel, InvalidInput, NotFound
from onboarding.forms import save_number
from onboarding.models import ClientUser, Side
from onboarding.pages import error_page, word, worded
from onboarding.permissions import client_settings
from onboarding.permissions.client_settings import SharingChange, own_channel
from onboarding.permissions.keys import (
    client_keys_on_unshared_numbers,
    generate_api_key,
    live_keys,
)
from onboarding.permissions.service import add_channel, is_shared

bp = Blueprint("client_hub", __name__, url_prefix="/client")

Page = Response | str | tuple[str, int]


@bp.context_processor
def layout_helpers() -> dict[str, object]:
    # The profile menu names who is logged in; one date format in both hubs (`|when` too).
    return {"logout_form": FlowForm(), "when": i18n.when, "me": current_client_user()}


@bp.errorhandler(ForeignChannel)
@bp.errorhandler(NotFound)
def not_found(error: DomainError) -> tuple[str, int]:
    # Another client's channel id answers exactly like an id that does not exist.
    return error_page(404, _("Not found"), worded(error))


@bp.errorhandler(InvalidInput)
def invalid(error: DomainError) -> tuple[str, int]:
    return error_page(400, _("This page could not be shown"), worded(error))


def _actor(user: ClientUser) -> str:
    return f"client_user:{user.public_id}"


def _refused() -> tuple[str, int]:
    return error_page(
        400, _("Your form could not be read"), _("Go back, reload the page and try again.")
    )


# -- Numbers ---------------------------------------------------------------------------------------


@bp.get("/")
@client_user_required
def home(user: ClientUser) -> Page:
    client = user.client
    session = get_session()
    numbers = from_args(session, client.id, request.args)
    return render_template(
        "client_hub/numbers.html",
        client=client,
        numbers=numbers,
        rows=channel_rows(session, numbers.channels),
        r7=word("key.with_partner"),
        form=ButtonForm(),
    )


@bp.post("/numbers/<channel_id>/api-key")
@client_user_required
def generate_key(user: ClientUser, channel_id: str) -> Page:
    channel = own_channel(user.client, channel_id)
    form = ButtonForm()
    if not form.validate_on_submit():
        return _refused()
    session = get_session()
    previous = live_keys(session, [channel]).get(channel.id)
    try:
        new = generate_api_key(session, channel, side=Side.CLIENT, actor=_actor(user))
    except DomainError as refusal:  # R7 while the partner holds permission; R8 not running
        session.rollback()
        flash(worded(refusal), "error")
        return redirect(url_for(".home"), 303)
    session.commit()
    response = make_response(
        render_template("client_hub/new_key.html", channel=channel, new=new, previous=previous)
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/numbers/new", methods=["GET", "POST"])
@client_user_required
def add_number(user: ClientUser) -> Page:
    form = AddNumberForm()
    status = 200
    if form.validate_on_submit():
        session = get_session()
        channel = save_number(
            form,
            lambda phone, name: add_channel(session, user.client, phone, name, actor=_actor(user)),
        )
        if channel is not None:
            flash(messages.added_message(channel), "success")
            return redirect(url_for(".home"), 303)
        status = 400
    elif form.is_submitted():
        status = 400
    return render_template(
        "client_hub/add_number.html",
        form=form,
        new_numbers=new_number_sharing(user.client),
        partner=user.client.partner,
    ), status


# -- Organization Settings → Partner ---------------------------------------------------------------


@bp.get("/settings")
@client_user_required
def settings_index(user: ClientUser) -> Response:
    return redirect(url_for(".settings"), 303)


@bp.route("/settings/partner", methods=["GET", "POST"])
@client_user_required
def settings(user: ClientUser) -> Page:
    """Organization Settings → Partner (the profile menu's "Partner"): one form, one save."""
    client = user.client
    form = SharingForm()
    if form.validate_on_submit():
        change = client_settings.choose(
            client,
            all_numbers=form.mode.data == ALL,
            shared_ids=form.channels.data,
            listed_ids=form.listed.data,
        )
        if change.remove:  # R3: removing waits for the confirmation page
            return redirect(_confirm_url(change), 303)
        return _apply(user, change)
    if form.is_submitted():
        return _refused()
    session = get_session()
    form.mode.data = ALL if client.all_channels else SELECTED
    remove_all = client_settings.remove_all(client)
    numbers = from_args(session, client.id, request.args)
    return render_template(
        "client_hub/settings.html",
        client=client,
        numbers=numbers,
        form=form,
        keys=live_keys(session, numbers.channels),
        own_keys=client_keys_on_unshared_numbers(session, client),
        remove_all_url=None if remove_all.is_empty else _confirm_url(remove_all),
        new_numbers=new_number_sharing(client),
        is_shared=is_shared,
        via_words=via_words,
        via_hint=via_hint,
    )


@bp.get("/settings/partner/confirm")
@client_user_required
def confirm(user: ClientUser) -> Page:
    change = client_settings.requested(
        user.client,
        share_ids=request.args.getlist("share"),
        remove_ids=request.args.getlist("remove"),
    )
    if not change.remove:  # only a removal waits here; nothing to confirm otherwise
        flash(_("Nothing to change: the numbers are shared as you asked already."), "info")
        return redirect(url_for(".settings"), 303)
    return render_template(
        "client_hub/confirm.html", client=user.client, change=change, form=ConfirmChangeForm()
    )


@bp.post("/settings/partner/confirm")
@client_user_required
def confirm_change(user: ClientUser) -> Page:
    form = ConfirmChangeForm()
    if not form.validate_on_submit():
        return _refused()
    change = client_settings.requested(
        user.client, share_ids=form.share.data, remove_ids=form.remove.data
    )
    return _apply(user, change)


def _confirm_url(change: SharingChange) -> str:
    return url_for(
        ".confirm",
        share=[channel.public_id for channel in change.share],
        remove=[channel.public_id for channel in change.remove],
    )


def _apply(user: ClientUser, change: SharingChange) -> Response:
    session = get_session()
    client_settings.apply(session, user.client, change, actor=_actor(user))
    session.commit()
    for category, message in messages.change_messages(user.client, change):
        flash(message, category)
    return redirect(url_for(".settings"), 303)


# -- Activity --------------------------------------------------------------------------------------


@bp.get("/activity")
@client_user_required
def activity(user: ClientUser) -> Page:
    before = request.args.get("before") or None
    page = activity_page(get_session(), user.client, user, before)
    return render_template("client_hub/activity.html", page=page, newest=before is None)
