"""The permission-link builder: one GET form, so it works without JavaScript.

Choosing a client and pressing "Show numbers" lists that client's numbers as checkboxes;
"Build link" signs a link for that client: its login's e-mail prefilled (`email`), the ticked
numbers preselected (`channels`). Reading only; the link is signed as `consent/links.py` signs
every link the hub makes. Members may build links too.
"""

from __future__ import annotations

from flask import render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy import select

from onboarding.clients.numbers import NumberPage, number_page
from onboarding.consent.links import permission_link
from onboarding.db import get_session
from onboarding.errors import InvalidInput
from onboarding.models import Client, ClientUser, PartnerUser
from onboarding.pages import worded
from onboarding.partner_hub import bp
from onboarding.partner_hub.access import login_required, own_channels, own_client
from onboarding.partner_hub.forms import LinkForm

MAX_LINK_CLIENTS = 500  # the builder's client list: the newest this many


def link_form(user: PartnerUser, formdata: object = None) -> LinkForm:
    form = LinkForm(formdata)
    clients = get_session().execute(
        select(Client.public_id, Client.name)
        .where(Client.partner_id == user.partner.id)
        .order_by(Client.id.desc())
        .limit(MAX_LINK_CLIENTS)
    )
    form.client.choices = [("", _("Any client (they log in or sign up)"))] + [
        (pid, name) for pid, name in clients
    ]
    form.redirect_url.choices = [(entry.url, entry.url) for entry in user.partner.redirect_urls]
    if not form.redirect_url.data and form.redirect_url.choices:
        form.redirect_url.data = user.partner.redirect_urls[0].url  # the screen's default too
    return form


def login_email(client: Client) -> str | None:
    """The client's first login, to prefill the login form."""
    email: str | None = get_session().scalar(
        select(ClientUser.email)
        .where(ClientUser.client_id == client.id)
        .order_by(ClientUser.id)
        .limit(1)
    )
    return email


@bp.get("/permission-link")
@login_required
def link_builder(user: PartnerUser) -> ResponseReturnValue:
    args = request.args
    form = link_form(user, args if args else None)
    session = get_session()
    client = own_client(session, user.partner, form.client.data) if form.client.data else None
    # Numbers ticked under another client's list (the choice changed since) are not carried on.
    listed_for = args.get("listed_for", "")
    same_client = client is not None and listed_for == client.public_id
    picked = args.getlist("channels") if same_client else []
    numbers: NumberPage | None = None
    if client is not None:
        numbers = number_page(session, client.id, args.get("q", ""))
    link = None
    status = 200
    if "build" in args and form.validate():
        channels = own_channels(session, user.partner, picked, client) if picked else []
        params = {"redirect_url": form.redirect_url.data}
        if client is not None:
            email = login_email(client)
            if email:
                params["email"] = email
        if channels:
            params["channels"] = f"[{','.join(picked)}]"
        if form.state.data:
            params["state"] = form.state.data
        try:
            link = permission_link(user.partner, params)
        except InvalidInput as error:
            form.state.errors.append(worded(error))
            status = 400
    elif "build" in args:
        status = 400
    return render_template(
        "partner_hub/link.html",
        form=form,
        client=client,
        numbers=numbers,
        picked=set(picked),
        changed=client is not None and "build" in args and not same_client,
        link=link,
    ), status
