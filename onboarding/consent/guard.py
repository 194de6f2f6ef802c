"""The one flow check of the views that carry a permission request (`?flow=`): the token is
read, and refused with a page that says what to do; the steps after the account also need the
client user the request is for."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from urllib.parse import urlencode

from flask import redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from onboarding.auth.forms import FlowForm
from onboarding.auth.session import ClientLogin, current_client_login
from onboarding.consent import flow as flows
from onboarding.db import reader
from onboarding.pages import error_page, worded


def consent_url(token: str) -> str:
    return url_for("consent.consent", flow=token)


def load_flow(token: str) -> flows.Flow:
    return flows.load(reader(), token)


def flow_required(
    view: Callable[[flows.Flow], ResponseReturnValue],
) -> Callable[[], ResponseReturnValue]:
    """Hand the view the request's flow; a missing, damaged, expired or spent one is refused."""

    @wraps(view)
    def wrapped() -> ResponseReturnValue:
        try:
            flow = load_flow(request.values.get("flow", ""))
        except flows.FlowError as error:
            return refuse_flow(error)
        return view(flow)

    return wrapped


def client_in_flow(
    view: Callable[[flows.Flow, ClientLogin], ResponseReturnValue],
) -> Callable[[], ResponseReturnValue]:
    """Hand the view the flow and the signed-in client user it is for (a row: the view loads
    what it changes): without a login, 303 to the login that keeps the flow; a client of
    another partner is told and may log out."""

    @wraps(view)
    def wrapped() -> ResponseReturnValue:
        login = current_client_login()  # read with its client's partner: usually the flow's
        known = login.partner if login is not None else None
        try:
            flow = flows.load(reader(), request.values.get("flow", ""), known=known)
        except flows.FlowError as error:
            return refuse_flow(error)
        if login is None:
            return redirect(url_for("auth.login", flow=flow.token), 303)
        if login.partner.id != flow.card.id:
            return wrong_account(login, flow)
        return view(flow, login)

    return wrapped


def refuse_flow(error: flows.FlowError) -> tuple[str, int]:
    restart = None
    if error.request is not None:
        screen = url_for("consent.permission", partner_id=error.request.partner_id)
        restart = f"{screen}?{urlencode(error.request.query())}"
    title = _("This permission request can't be used")
    if restart is None:  # not ours, or damaged: we cannot tell whose request it was
        return error_page(
            400,
            title,
            _(
                "%(reason)s Nothing was changed. Go back to the website that sent you here and "
                "open its link again.",
                reason=worded(error),
            ),
            details="The flow token in the address could not be read: it was changed or cut "
            "short. Links must be used as the hub hands them out.",
        )
    return error_page(
        400,
        title,
        _(
            "%(reason)s Nothing was changed by this page. Press Start again to answer the same "
            "request afresh.",
            reason=worded(error),
        ),
        restart_url=restart,
    )


def wrong_account(login: ClientLogin, flow: flows.Flow) -> tuple[str, int]:
    return error_page(
        403,
        _("This account belongs to another partner"),
        _(
            "You are logged in as %(email)s of %(client)s, which is not a client of %(brand)s. "
            "Log out to continue with another account.",
            email=login.email,
            client=login.client_name,
            brand=flow.card.brand_name,
        ),
        logout_form=FlowForm(flow=flow.token),
    )
